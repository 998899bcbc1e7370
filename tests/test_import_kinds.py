"""Each import kind writes what its CSV says, and importing the same file again changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import DeclarativeBase

from bot.core.import_rules import import_options
from storage.db import Database
from storage.importer import ImportOptions, ImportResult, ImportValidationError, import_file
from storage.importer.kinds.surveys import natural_key
from storage.models import Account, ArrChange, AuditEvent, Milestone, Person, SurveyResponse, UsageMetric

FIXTURES = Path(__file__).parent / "fixtures" / "import"


async def _count(db: Database, model: type[DeclarativeBase]) -> int:
    async with db.sessions() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def _seed(db: Database, *kinds: str) -> None:
    for kind in kinds:
        await import_file(db, kind, FIXTURES / f"{kind}.csv", options=import_options())


async def _snapshot(db: Database, model: type[DeclarativeBase]) -> list[tuple[Any, ...]]:
    """Every column of every row, in a stable order: what "nothing changed" compares."""
    table = model.__table__
    async with db.sessions() as s:
        rows = await s.execute(select(table).order_by(*table.primary_key.columns))  # type: ignore[attr-defined]
        return [tuple(r) for r in rows]


async def test_people(db: Database) -> None:
    result = await import_file(db, "people", FIXTURES / "people.csv", options=ImportOptions("Asia/Tokyo"))
    assert (result.rows, result.inserted, result.updated, result.unchanged) == (3, 3, 0, 0)
    async with db.sessions() as s:
        people = {p.email: p for p in (await s.execute(select(Person))).scalars()}
    assert set(people) == {"ana.lima@example.test", "maria@example.test", "cx@example.test"}
    ana, maria, chris = (
        people["ana.lima@example.test"],
        people["maria@example.test"],
        people["cx@example.test"],
    )
    assert (ana.name, ana.role, ana.timezone, ana.slack_user_id, ana.teams_user_id) == (
        "Ana Lima",
        "csm",
        "Europe/Lisbon",
        "U0ANA",
        None,
    )
    assert maria.timezone == "Asia/Tokyo"  # empty cell: the configured default
    assert maria.teams_user_id == "29:maria"
    assert ana.manager_id == maria.id  # the manager is defined further down the file
    assert chris.manager_id == maria.id
    assert maria.manager_id is None


async def test_people_without_optional_columns_keep_existing_values(db: Database, tmp_path: Path) -> None:
    await _seed(db, "people")
    async with db.sessions() as s:
        stamps = dict((await s.execute(select(Person.email, Person.updated_at))).all())
    path = tmp_path / "names.csv"
    path.write_text("email,name,role\nana.lima@example.test,Ana L. Lima,csm\nnew@example.test,New,cx\n")
    result = await import_file(db, "people", path, options=import_options())
    assert (result.inserted, result.updated) == (1, 1)
    async with db.sessions() as s:
        people = {p.email: p for p in (await s.execute(select(Person))).scalars()}
    ana = people["ana.lima@example.test"]
    assert (ana.name, ana.timezone, ana.slack_user_id) == ("Ana L. Lima", "Europe/Lisbon", "U0ANA")
    assert ana.manager_id == people["maria@example.test"].id
    assert people["new@example.test"].timezone == "UTC"
    assert ana.updated_at > stamps["ana.lima@example.test"]  # changed rows are stamped
    assert people["maria@example.test"].updated_at == stamps["maria@example.test"]


async def test_people_manager_change_counts_as_update(db: Database, tmp_path: Path) -> None:
    await _seed(db, "people")
    path = tmp_path / "people.csv"
    path.write_text("email,name,role,manager_email\ncx@example.test,Chris Xu,cx,ana.lima@example.test\n")
    result = await import_file(db, "people", path, options=import_options())
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)
    async with db.sessions() as s:
        ana_id = (
            await s.execute(select(Person.id).where(Person.email == "ana.lima@example.test"))
        ).scalar_one()
        chris = (await s.execute(select(Person).where(Person.email == "cx@example.test"))).scalar_one()
    assert chris.manager_id == ana_id


async def test_accounts(db: Database) -> None:
    await _seed(db, "people")
    result = await import_file(db, "accounts", FIXTURES / "accounts.csv", options=import_options())
    assert (result.rows, result.inserted) == (3, 3)
    async with db.sessions() as s:
        accounts = {a.external_id: a for a in (await s.execute(select(Account))).scalars()}
        ana_id = (
            await s.execute(select(Person.id).where(Person.email == "ana.lima@example.test"))
        ).scalar_one()
    acme, sg, globex = accounts["ACME-1"], accounts["SG-7"], accounts["GLOBEX"]
    assert (acme.name, acme.name_key, acme.segment, acme.tier, acme.arr, acme.lifecycle_stage) == (
        "Acme Corp",
        "acme corp",
        "enterprise",
        "gold",
        Decimal("120000.50"),
        "adopting",
    )
    assert (acme.contract_start, acme.renewal_date, acme.owner_id) == (
        date(2025, 2, 1),
        date(2026, 2, 1),
        ana_id,
    )
    assert (sg.name, sg.name_key, sg.tier, sg.arr) == (
        "Société   Générale",
        "societe generale",
        None,
        Decimal(48000),
    )
    assert (globex.segment, globex.arr, globex.lifecycle_stage, globex.renewal_date) == (
        None,
        None,
        None,
        None,
    )


async def test_usage(db: Database) -> None:
    await _seed(db, "people", "accounts")
    result = await import_file(db, "usage", FIXTURES / "usage.csv", options=import_options())
    assert (result.rows, result.inserted) == (4, 4)
    async with db.sessions() as s:
        ids = {ext: i for ext, i in await s.execute(select(Account.external_id, Account.id))}
        columns = (UsageMetric.account_id, UsageMetric.day, UsageMetric.metric, UsageMetric.value)
        rows = {tuple(r) for r in await s.execute(select(*columns))}
    assert rows == {
        (ids["ACME-1"], date(2026, 1, 5), "active_users", 42.0),
        (ids["ACME-1"], date(2026, 1, 5), "licenses", 50.0),
        (ids["ACME-1"], date(2026, 1, 6), "active_users", 40.5),
        (ids["SG-7"], date(2026, 1, 5), "active_users", 0.0),
    }


async def test_usage_update_changes_only_what_differs(db: Database, tmp_path: Path) -> None:
    await _seed(db, "people", "accounts", "usage")
    path = tmp_path / "usage.csv"
    path.write_text(
        "account_external_id,date,metric,value\n"
        "ACME-1,2026-01-05,active_users,43\n"  # changed
        "ACME-1,2026-01-05,licenses,50\n"  # same
        "ACME-1,2026-01-07,active_users,41\n"  # new
    )
    result = await import_file(db, "usage", path, options=import_options())
    assert (result.rows, result.inserted, result.updated, result.unchanged) == (3, 1, 1, 1)
    assert await _count(db, UsageMetric) == 5


async def test_surveys(db: Database) -> None:
    await _seed(db, "people", "accounts")
    result = await import_file(db, "surveys", FIXTURES / "surveys.csv", options=import_options())
    assert (result.rows, result.inserted) == (3, 3)
    async with db.sessions() as s:
        answers = {r.kind: r for r in (await s.execute(select(SurveyResponse))).scalars()}
    nps, csat, ces = answers["nps"], answers["csat"], answers["ces"]
    assert (nps.score, nps.comment, nps.respondent_email) == (
        3,
        "Slow support,\nthree tickets open",
        "buyer@acme.test",
    )
    assert nps.submitted_at == datetime(2026, 1, 10, 9, 30, tzinfo=UTC)  # naive means UTC
    assert nps.external_id is None
    assert nps.natural_key == natural_key(
        "ACME-1",
        {
            "kind": "nps",
            "respondent_email": "buyer@acme.test",
            "submitted_at": nps.submitted_at,
        },
    )
    assert nps.natural_key.startswith("auto:") and len(nps.natural_key) == 45
    assert (csat.external_id, csat.natural_key) == ("TICKET-881", "ext:TICKET-881")
    assert csat.submitted_at == datetime(2026, 1, 11, tzinfo=UTC)  # a date is midnight UTC
    assert ces.submitted_at == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # offsets are converted to UTC


async def test_milestones(db: Database) -> None:
    await _seed(db, "people", "accounts")
    result = await import_file(db, "milestones", FIXTURES / "milestones.csv", options=import_options())
    assert (result.rows, result.inserted) == (3, 3)
    async with db.sessions() as s:
        milestones = {m.name: m for m in (await s.execute(select(Milestone))).scalars()}
    kickoff, first_value, renewal = (
        milestones["Kickoff call"],
        milestones["First dashboard live"],
        milestones["Renewal review"],
    )
    assert (kickoff.kind, kickoff.due_date, kickoff.completed_at) == (
        "kickoff",
        date(2025, 2, 10),
        datetime(2025, 2, 11, 15, 0, tzinfo=UTC),
    )
    assert (first_value.kind, first_value.completed_at) == ("first_value", None)
    assert renewal.kind == "other"  # the default for an empty kind


async def test_reimport_changes_nothing(db: Database) -> None:
    kinds = ("people", "accounts", "usage", "surveys", "milestones")
    models: list[type[DeclarativeBase]] = [Person, Account, ArrChange, UsageMetric, SurveyResponse, Milestone]
    await _seed(db, *kinds)
    before = [await _snapshot(db, model) for model in models]
    assert len(before[2]) == 2  # the ARR history of the two accounts with an ARR
    for kind in kinds:
        result = await import_file(db, kind, FIXTURES / f"{kind}.csv", options=import_options())
        assert (result.inserted, result.updated, result.unchanged) == (0, 0, result.rows), kind
    after = [await _snapshot(db, model) for model in models]
    assert after == before  # every column, updated_at included


async def test_audit_event_records_the_import(db: Database) -> None:
    result: ImportResult = await import_file(db, "people", FIXTURES / "people.csv", options=import_options())
    async with db.sessions() as s:
        event = (await s.execute(select(AuditEvent))).scalar_one()
    assert (event.actor_label, event.platform, event.action, event.object_type, event.object_id) == (
        "cli",
        "cli",
        "import",
        "people",
        "people.csv",
    )
    assert event.details == {
        "file": str(FIXTURES / "people.csv"),
        "rows": 3,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
    }
    assert result.details() == event.details


async def test_header_only_file_imports_nothing(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("email,name,role\n")
    result = await import_file(db, "people", path, options=import_options())
    assert (result.rows, result.inserted) == (0, 0)
    assert await _count(db, Person) == 0


async def test_bom_blank_lines_and_column_case(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("\ufeff Email ,NAME,Role\r\n\r\nana@example.test,Ana,CSM\r\n,,\r\n".encode())
    result = await import_file(db, "people", path, options=import_options())
    assert result.rows == 1
    async with db.sessions() as s:
        ana = (await s.execute(select(Person))).scalar_one()
    assert (ana.email, ana.role) == ("ana@example.test", "csm")


async def test_progress_reports_bytes_of_both_passes(db: Database) -> None:
    calls: list[tuple[str, int, int]] = []
    await import_file(
        db, "people", FIXTURES / "people.csv", progress=lambda *a: calls.append(a), options=import_options()
    )
    size = (FIXTURES / "people.csv").stat().st_size
    assert ("checking", size, size) in calls
    assert ("writing", size, size) in calls


async def test_large_file_is_written_in_batches(db: Database, tmp_path: Path, monkeypatch: Any) -> None:
    import storage.importer.run as run

    monkeypatch.setattr(run, "BATCH_ROWS", 7)
    await _seed(db, "people", "accounts")
    path = tmp_path / "usage.csv"
    lines = ["account_external_id,date,metric,value"]
    lines += [f"ACME-1,2026-01-{day:02d},m{m},{day * m}" for day in range(1, 31) for m in range(3)]
    path.write_text("\n".join(lines) + "\n")
    result = await import_file(db, "usage", path, options=import_options())
    assert (result.rows, result.inserted) == (90, 90)
    assert await _count(db, UsageMetric) == 90
    again = await import_file(db, "usage", path, options=import_options())
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 90)


async def test_accounts_take_a_web_domain_in_any_usual_spelling(db: Database, tmp_path: Path) -> None:
    """A help desk's organizations can be matched to accounts by domain, so the column is forgiving
    about how a domain is written and clear about what is not one."""
    await _seed(db, "people")
    path = tmp_path / "accounts.csv"
    path.write_text(
        "external_id,name,owner_email,domain\n"
        "acc-1,Acme,ana.lima@example.test,https://www.Acme.com/pricing\n"
        "acc-2,Globex,ana.lima@example.test,jo@globex.io\n"
        "acc-3,Initech,ana.lima@example.test,\n"
    )
    await import_file(db, "accounts", path, options=import_options())
    async with db.sessions() as s:
        domains = dict((await s.execute(select(Account.external_id, Account.domain))).all())
    assert domains == {"acc-1": "acme.com", "acc-2": "globex.io", "acc-3": None}

    path.write_text("external_id,name,owner_email,domain\nacc-4,Hooli,ana.lima@example.test,not a domain\n")
    with pytest.raises(ImportValidationError) as refused:
        await import_file(db, "accounts", path, options=import_options())
    message = "accounts.csv:2: domain: not a web domain: 'not a domain' (like acme.com)"
    assert str(refused.value).endswith(message)
    assert await _count(db, Account) == 3
