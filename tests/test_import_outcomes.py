"""``touchpoint import outcomes``: success plan outcomes from CSV (and from records, as the ingest API would
send them): baselines taken on import, re-imports that change nothing, problems named by line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core.import_rules import import_options
from bot.health.measures import METRICS
from storage.db import Database
from storage.importer import ImportValidationError, import_file, load_kind, validate_records, write_records
from storage.models import Account, Base, Outcome, SurveyResponse, UsageMetric

FIXTURES = Path(__file__).parent / "fixtures" / "import"
HEADER = "account_external_id,title,metric,target,due_date,status,customer_owner,comparison"


@pytest.fixture
async def seeded(db: Database) -> Database:
    """People and accounts from the fixtures, and usage of the last days (the import takes "now" as
    the start of each outcome's line)."""
    for kind in ("people", "accounts"):
        await import_file(db, kind, FIXTURES / f"{kind}.csv", options=import_options())
    await add_usage(db, "ACME-1", "active_users", 80)
    await add_usage(db, "GLOBEX", "features_adopted", 4)
    return db


def today() -> date:
    return datetime.now(UTC).date()


async def account_id(db: Database, external_id: str) -> int:
    async with db.sessions() as s:
        found = await s.execute(select(Account.id).where(Account.external_id == external_id))
        return found.scalar_one()


async def add_usage(db: Database, external_id: str, metric: str, value: float) -> None:
    """``value`` on each of the last 7 days (through today), replacing what was there."""
    owner = await account_id(db, external_id)
    async with db.transaction() as s:
        for n in range(7):
            day = today() - timedelta(days=n)
            row = await s.get(UsageMetric, (owner, day, metric))
            if row is None:
                s.add(UsageMetric(account_id=owner, day=day, metric=metric, value=value))
            else:
                row.value = value


async def outcomes(db: Database) -> dict[str, Outcome]:
    async with db.sessions() as s:
        return {o.title: o for o in (await s.execute(select(Outcome))).scalars()}


async def table(db: Database) -> list[tuple[Any, ...]]:
    """Every column of every outcome: what "nothing changed" compares."""
    columns = Outcome.__table__.columns
    async with db.sessions() as s:
        return [tuple(r) for r in await s.execute(select(*columns).order_by(Outcome.id))]


def write(tmp_path: Path, lines: Sequence[str], name: str = "outcomes.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_import_outcomes(seeded: Database) -> None:
    before = datetime.now(UTC)
    result = await import_file(seeded, "outcomes", FIXTURES / "outcomes.csv", options=import_options())
    after = datetime.now(UTC)
    assert (result.rows, result.inserted, result.updated) == (5, 5, 0)
    found = await outcomes(seeded)
    users = found["200 weekly active users"]
    assert (users.metric, users.comparison, users.target, users.due_date) == (
        "active_users",
        "at_least",
        200,
        date(2027, 3, 31),
    )
    assert (users.baseline, users.status, users.customer_owner) == (80, "open", "Dana Wu (VP Operations)")
    assert users.start_date in {before.date(), after.date()}  # the import day
    assert (users.achieved_at, users.demonstrated_at) == (None, None)
    tickets = found["At most 5 open tickets"]
    # "<= 5" sets the comparison; no ticket data yet, so no baseline.
    assert (tickets.comparison, tickets.target, tickets.baseline) == ("at_most", 5, None)
    nps = found["NPS at or above 30"]
    assert (nps.metric, nps.comparison, nps.target, nps.baseline) == ("nps", "at_least", 30, None)
    paris = found["Roll out to the Paris office"]
    assert (paris.metric, paris.target, paris.status, paris.customer_owner) == (
        None,
        None,
        "achieved",
        "Luc Martin",
    )
    # Achieved before it reached us: history, so it is stamped as already demonstrated.
    assert paris.achieved_at is not None and before <= paris.achieved_at <= after
    assert paris.demonstrated_at == paris.achieved_at
    features = found["Adopt 12 features"]
    assert (features.comparison, features.baseline) == ("at_least", 4)


async def test_importing_the_same_file_again_changes_nothing(seeded: Database) -> None:
    await import_file(seeded, "outcomes", FIXTURES / "outcomes.csv", options=import_options())
    first = await table(seeded)
    await add_usage(seeded, "ACME-1", "active_users", 95)  # the value now moves; the baseline must not
    again = await import_file(seeded, "outcomes", FIXTURES / "outcomes.csv", options=import_options())
    assert (again.rows, again.inserted, again.updated, again.unchanged) == (5, 0, 0, 5)
    assert await table(seeded) == first


async def test_reimport_changes_the_definition_but_not_the_line(seeded: Database, tmp_path: Path) -> None:
    await import_file(seeded, "outcomes", FIXTURES / "outcomes.csv", options=import_options())
    first = await outcomes(seeded)
    await add_usage(seeded, "ACME-1", "active_users", 95)
    await add_usage(seeded, "GLOBEX", "licensed_seats", 30)
    async with seeded.transaction() as s:
        sg7 = await account_id(seeded, "SG-7")
        s.add(
            SurveyResponse(
                account_id=sg7, kind="nps", score=10, submitted_at=datetime.now(UTC), natural_key="x"
            )
        )
    changed = write(
        tmp_path,
        [
            HEADER,
            "ACME-1,200 weekly active users,active_users,250,2027-06-30,,Dana Wu,",
            "SG-7,NPS at or above 30,nps,>= 30,2026-12-31,achieved,,",
            "SG-7,Roll out to the Paris office,,,2026-09-30,,Luc Martin,",  # empty status: kept
            "GLOBEX,Adopt 12 features,licensed_seats,50,2027-06-30,open,,",  # a new criterion
        ],
    )
    result = await import_file(seeded, "outcomes", changed, options=import_options())
    assert (result.rows, result.inserted, result.updated) == (4, 0, 3)
    now = await outcomes(seeded)
    users = now["200 weekly active users"]
    assert (users.target, users.due_date, users.customer_owner) == (250, date(2027, 6, 30), "Dana Wu")
    assert (users.baseline, users.start_date) == (80, first["200 weekly active users"].start_date)
    nps = now["NPS at or above 30"]
    assert (nps.status, nps.achieved_value) == ("achieved", 100)
    assert nps.achieved_at is not None and nps.demonstrated_at == nps.achieved_at
    paris = now["Roll out to the Paris office"]
    assert (paris.status, paris.achieved_at) == (
        "achieved",
        first["Roll out to the Paris office"].achieved_at,
    )
    seats = now["Adopt 12 features"]
    assert (seats.metric, seats.target, seats.baseline) == ("licensed_seats", 50, 30)  # a new line

    reopened = write(tmp_path, [HEADER, "SG-7,NPS at or above 30,nps,>= 30,2026-12-31,open,,"], "reopen.csv")
    assert (await import_file(seeded, "outcomes", reopened, options=import_options())).updated == 1
    nps = (await outcomes(seeded))["NPS at or above 30"]
    assert (nps.status, nps.achieved_at, nps.achieved_value) == ("open", None, None)
    assert nps.demonstrated_at is not None  # demonstrated once, never again


async def test_problems_are_named_by_line_and_nothing_is_written(seeded: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            HEADER,
            "NOPE,A,active_users,200,2027-03-31,,,",
            "ACME-1,B,page_views,200,2027-03-31,,,",
            "ACME-1,C,active_users,,2027-03-31,,,",
            "ACME-1,D,,200,2027-03-31,,,",
            "ACME-1,E,active_users,lots,2027-03-31,,,",
            "ACME-1,F,active_users,200,2027-02-30,,,",
            "ACME-1,G,active_users,200,2027-03-31,done,,",
            "ACME-1,H,nps,150,2027-03-31,,,",
            "ACME-1,I,open_tickets,>= 5,2027-03-31,,,at_most",
            "ACME-1,J,,,2027-03-31,,,",
            "ACME-1,J,,,2027-04-30,,,",
        ],
    )
    with pytest.raises(ImportValidationError) as caught:
        await import_file(seeded, "outcomes", path, options=import_options())
    file = str(path)
    assert caught.value.lines() == [
        f"{file}:2: account_external_id: unknown account 'NOPE'",
        f"{file}:3: metric: unknown metric 'page_views' (expected one of {', '.join(METRICS)})",
        f"{file}:4: target: missing value (an outcome with a metric needs a target)",
        f"{file}:5: target: a target needs a metric (leave both empty for a manual outcome)",
        f"{file}:6: target: not a number, optionally after >= or <=: 'lots'",
        f"{file}:7: due_date: no such date: '2027-02-30'",
        f"{file}:8: status: unknown status 'done' (expected one of open, achieved, missed)",
        f"{file}:9: target: NPS targets are -100 to 100, not 150",
        f"{file}:10: comparison: at_most contradicts the target's >=",
        f"{file}:12: account_external_id, title: duplicate of line 11",
    ]
    async with seeded.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Outcome))).scalar_one() == 0


async def test_one_wrong_row_at_the_end_keeps_the_whole_file_out(seeded: Database, tmp_path: Path) -> None:
    good = (FIXTURES / "outcomes.csv").read_text(encoding="utf-8").splitlines()
    path = write(tmp_path, [*good, "GLOBEX,Late,active_users,100,someday,,,"])

    async def counts() -> dict[str, int]:
        async with seeded.sessions() as s:
            return {
                t.name: (await s.execute(select(func.count()).select_from(t))).scalar_one()
                for t in Base.metadata.sorted_tables
            }

    before = await counts()
    with pytest.raises(ImportValidationError) as caught:
        await import_file(seeded, "outcomes", path, options=import_options())
    assert caught.value.lines() == [f"{path}:7: due_date: not a date (expected YYYY-MM-DD): 'someday'"]
    assert await counts() == before


async def test_records_as_the_ingest_api_sends_them(seeded: Database) -> None:
    """Typed JSON values go through the same validation and writer."""
    handler = await load_kind(seeded, "outcomes", options=import_options())
    records: list[dict[str, object]] = [
        {
            "account_external_id": "ACME-1",
            "title": "90 users",
            "metric": "active_users",
            "target": 90,
            "due_date": "2027-01-31",
        },
        {
            "account_external_id": "ACME-1",
            "title": "Easy to use",
            "metric": "ces",
            "target": 2.5,
            "due_date": "2027-01-31",
        },
    ]
    prepared = validate_records(handler, records)
    async with seeded.transaction() as s:
        result = await write_records(s, prepared, source="api", actor_label="token:test")
    assert (result.rows, result.inserted) == (2, 2)
    found = await outcomes(seeded)
    assert (found["90 users"].target, found["90 users"].baseline) == (90, 80)
    assert (found["Easy to use"].comparison, found["Easy to use"].baseline) == ("at_most", None)
