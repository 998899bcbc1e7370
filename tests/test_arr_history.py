"""ARR history: the rows account imports and the ingest API write, and what the history tells (the ARR
on a day, the change over 12 months, a period's expansion and contraction)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.import_rules import import_options
from bot.format import arr_trend_text
from storage.arr_history import (
    AccountMovement,
    ArrSource,
    ArrTrend,
    account_arr_change,
    arr_on,
    movements,
)
from storage.db import Database
from storage.importer import ImportOptions, import_file, load_kind, validate_records, write_records
from storage.models import Account, ArrChange
from tests.factories import TODAY, add_account, add_person, day

FIXTURES = Path(__file__).parent / "fixtures" / "import"
HEADER = "external_id,name,owner_email,arr"

Change = tuple[str, date, Decimal | None, Decimal | None, str]  # external id, day, arr, previous, source


async def changes(db: Database) -> list[Change]:
    async with db.sessions() as s:
        rows = await s.execute(
            select(
                Account.external_id, ArrChange.day, ArrChange.arr, ArrChange.previous_arr, ArrChange.source
            )
            .join(Account, Account.id == ArrChange.account_id)
            .order_by(ArrChange.id)
        )
        return [tuple(r) for r in rows]


def accounts_csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def utc_days_around() -> set[date]:
    """Today in UTC, or tomorrow should midnight pass while a test runs."""
    today = datetime.now(UTC).date()
    return {today, date.fromordinal(today.toordinal() + 1)}


# ------------------------------------------------------------------------------------------ writing


async def test_imports_keep_the_arr_history(db: Database, tmp_path: Path) -> None:
    await import_file(db, "people", FIXTURES / "people.csv", options=import_options())
    # First import: a row for each account with an ARR (GLOBEX has none).
    await import_file(db, "accounts", FIXTURES / "accounts.csv", options=import_options())
    first = await changes(db)
    assert [(e, a, p, s) for e, _, a, p, s in first] == [
        ("ACME-1", Decimal("120000.50"), None, "import"),
        ("SG-7", Decimal("48000"), None, "import"),
    ]
    assert {d for _, d, *_ in first} <= utc_days_around()
    # The same file again writes nothing.
    await import_file(db, "accounts", FIXTURES / "accounts.csv", options=import_options())
    assert await changes(db) == first
    # A changed ARR is one row with what it was; an ARR given for the first time starts a history.
    path = accounts_csv(
        tmp_path,
        "ACME-1,Acme Corp,ana.lima@example.test,130000",
        "SG-7,Société Générale,ana.lima@example.test,48000.00",
        "GLOBEX,Globex,maria@example.test,5000",
    )
    await import_file(db, "accounts", path, options=import_options())
    added = (await changes(db))[2:]
    assert [(e, a, p, s) for e, _, a, p, s in added] == [
        ("ACME-1", Decimal("130000"), Decimal("120000.50"), "import"),
        ("GLOBEX", Decimal("5000"), None, "import"),
    ]
    # A file without the arr column leaves the history alone; an emptied ARR is kept as unknown.
    await import_file(
        db,
        "accounts",
        accounts_csv(tmp_path, "ACME-1,Acme,ana.lima@example.test", header=HEADER[:-4]),
        options=import_options(),
    )
    await import_file(
        db, "accounts", accounts_csv(tmp_path, "ACME-1,Acme,ana.lima@example.test,"), options=import_options()
    )
    assert [(e, a, p) for e, _, a, p, _ in (await changes(db))[4:]] == [("ACME-1", None, Decimal("130000"))]


async def test_an_install_without_history_starts_one_on_its_next_import(db: Database, tmp_path: Path) -> None:
    """Accounts that had an ARR before ARR history existed: the next import writes their first row."""
    owner = await add_person(db, "ana@example.test", "Ana", "csm")
    await add_account(db, "OLD-1", "Old One", owner_id=owner, arr=50_000)
    await add_account(db, "OLD-2", "Old Two", owner_id=owner, arr=70_000)
    await add_account(db, "OLD-3", "Old Three", owner_id=owner, arr=None)
    path = accounts_csv(
        tmp_path,
        "OLD-1,Old One,ana@example.test,50000",  # unchanged: a first row all the same
        "OLD-2,Old Two,ana@example.test,80000",  # changed: the first row knows what it replaced
        "OLD-3,Old Three,ana@example.test,",  # still no ARR: nothing to keep
    )
    result = await import_file(db, "accounts", path, options=import_options())
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    assert [(e, a, p) for e, _, a, p, _ in await changes(db)] == [
        ("OLD-1", Decimal("50000"), None),
        ("OLD-2", Decimal("80000"), Decimal("70000")),
    ]
    await import_file(db, "accounts", path, options=import_options())
    assert len(await changes(db)) == 2


async def test_records_written_for_the_api_are_dated_and_sourced(db: Database) -> None:
    owner = await add_person(db, "ana@example.test", "Ana", "csm")
    await add_account(db, "A1", "Acme", owner_id=owner, arr=1_000)
    handler = await load_kind(db, "accounts", ImportOptions())
    records = [
        {"external_id": "A1", "name": "Acme", "owner_email": "ana@example.test", "arr": "1500"},
        {"external_id": "A2", "name": "Globex", "owner_email": "ana@example.test", "arr": 900},
        {"external_id": "A3", "name": "Initech", "owner_email": "ana@example.test"},
    ]
    prepared = validate_records(handler, records)
    async with db.transaction() as s:
        await write_records(s, prepared, source="api:crm", actor_label="api:crm", today=day(-3))
    assert await changes(db) == [
        ("A1", day(-3), Decimal("1500"), Decimal("1000"), ArrSource.API),
        ("A2", day(-3), Decimal("900"), None, ArrSource.API),
    ]


async def test_a_failed_write_keeps_no_history(db: Database) -> None:
    owner = await add_person(db, "ana@example.test", "Ana", "csm")
    await add_account(db, "A1", "Acme", owner_id=owner, arr=1_000)
    handler = await load_kind(db, "accounts", ImportOptions())
    prepared = validate_records(
        handler, [{"external_id": "A1", "name": "Acme", "owner_email": "ana@example.test", "arr": 2000}]
    )
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            await write_records(s, prepared, source="api:crm", actor_label="api:crm", today=TODAY)
            assert len((await s.execute(select(ArrChange.id))).all()) == 1
            raise RuntimeError("the database went away")
    assert await changes(db) == []


# ------------------------------------------------------------------------------------------ reading


async def history(db: Database, *rows: tuple[int, date, int | None, int | None]) -> None:
    """ArrChange rows: (account id, day, arr, previous arr)."""
    async with db.transaction() as s:
        for account_id, on, arr, previous in rows:
            s.add(
                ArrChange(
                    account_id=account_id,
                    day=on,
                    arr=None if arr is None else Decimal(arr),
                    previous_arr=None if previous is None else Decimal(previous),
                    source="import",
                )
            )


@pytest.fixture
async def accounts(db: Database) -> dict[str, int]:
    owner = await add_person(db, "ana@example.test", "Ana", "csm")
    names = ("Atlas", "Birch", "Cobalt", "Delta", "Elm", "Fir")
    return {name: await add_account(db, name.upper(), name, owner_id=owner) for name in names}


async def test_arr_on_a_day_is_the_latest_change_on_or_before_it(
    db: Database, accounts: dict[str, int]
) -> None:
    a, b, c = accounts["Atlas"], accounts["Birch"], accounts["Cobalt"]
    await history(
        db,
        (a, day(-100), 80_000, None),
        (a, day(-50), 100_000, 80_000),
        (a, day(-50), 110_000, 100_000),  # a second import the same day wins
        (b, day(-10), 5_000, None),
    )
    async with db.sessions() as s:
        assert await arr_on(s, [a, b, c], day(-50)) == {a: Decimal(110_000), b: None, c: None}
        assert await arr_on(s, [a, b], day(-51)) == {a: Decimal(80_000), b: None}
        assert await arr_on(s, {a, b}, TODAY) == {a: Decimal(110_000), b: Decimal(5_000)}
        assert await arr_on(s, [], TODAY) == {}


async def test_the_change_over_twelve_months(db: Database, accounts: dict[str, int]) -> None:
    a, b, c, d, e = (accounts[n] for n in ("Atlas", "Birch", "Cobalt", "Delta", "Elm"))
    await history(
        db,
        (a, day(-500), 80_000, None),
        (a, day(-200), 90_000, 80_000),  # 80k a year ago, 92k now
        (a, day(-20), 92_000, 90_000),
        (b, day(-60), 40_000, None),  # history shorter than a year
        (b, day(-5), 36_000, 40_000),
        (c, day(-30), 10_000, 8_000),  # history starts with a change from a known value
        (d, day(-400), 0, None),  # nothing to compare with in %
        (d, day(-10), 2_500, 0),
        (e, day(-400), 7_000, None),
    )

    async def trend(account_id: int) -> ArrTrend | None:
        async with db.sessions() as s:
            return await account_arr_change(s, account_id, TODAY)

    atlas = await trend(a)
    assert atlas == ArrTrend(Decimal(80_000), Decimal(92_000), day(-365), 365, True)
    assert atlas.change == Decimal(12_000) and atlas.percent == 15
    assert arr_trend_text(atlas) == "ARR +$12k (+15%) in 12 months"
    birch = await trend(b)
    assert birch == ArrTrend(Decimal(40_000), Decimal(36_000), day(-60), 365, False)
    assert arr_trend_text(birch) == "ARR -$4.0k (-10%) since Sat 26 Sep 2026"
    texts = [
        None if t is None else arr_trend_text(t) for t in [await trend(c), await trend(d), await trend(e)]
    ]
    assert texts == [
        "ARR +$2.0k (+25%) since Mon 26 Oct 2026",
        "ARR +$2.5k in 12 months",
        "ARR unchanged in 12 months",
    ]
    assert await trend(accounts["Fir"]) is None
    async with db.sessions() as s:
        short = await account_arr_change(s, a, TODAY, days=30)
    assert short is not None and arr_trend_text(short) == "ARR +$2.0k (+2%) in 30 days"


async def test_movements_between_two_days(db: Database, accounts: dict[str, int]) -> None:
    a, b, c, d, e, f = (accounts[n] for n in ("Atlas", "Birch", "Cobalt", "Delta", "Elm", "Fir"))
    start, end = day(-7), TODAY
    await history(
        db,
        (a, day(-30), 100_000, None),
        (a, day(-3), 120_000, 100_000),  # +20k
        (a, day(-1), 150_000, 120_000),  # +30k more: +50k in the period
        (b, day(-30), 50_000, None),
        (b, day(-2), 40_000, 50_000),  # -10k
        (c, day(-30), 9_000, None),
        (c, TODAY, 0, 9_000),  # churned on the last day (included)
        (d, start, 70_000, 60_000),  # on the first day: the previous period's
        (e, day(-4), 30_000, None),  # a first value known: no movement
        (e, day(-2), 33_000, 30_000),  # ...but a change after it is: +3k
        (f, day(-30), 8_000, None),
        (f, day(-3), None, 8_000),  # cleared: unknown is not contraction
    )
    async with db.sessions() as s:
        moved = await movements(s, start, end)
        mine = await movements(s, start, end, [a, c])
        later = await movements(s, day(1), day(8))
        backwards = await movements(s, end, start)
    assert moved.expansion == (
        AccountMovement(a, "Atlas", Decimal(100_000), Decimal(150_000)),
        AccountMovement(e, "Elm", Decimal(30_000), Decimal(33_000)),
    )
    assert moved.contraction == (
        AccountMovement(b, "Birch", Decimal(50_000), Decimal(40_000)),
        AccountMovement(c, "Cobalt", Decimal(9_000), Decimal(0)),
    )
    assert (moved.expanded, moved.contracted, moved.net) == (
        Decimal(53_000),
        Decimal(-19_000),
        Decimal(34_000),
    )
    assert [m.account_name for m in moved.churned] == ["Cobalt"]
    assert [m.account_name for m in mine.expansion + mine.contraction] == ["Atlas", "Cobalt"]
    assert not later and not backwards and bool(moved)


async def test_movements_of_many_accounts(db: Database, monkeypatch: Any) -> None:
    """Account ids are asked about in chunks; the answer does not depend on the chunk size."""
    import storage.arr_history as arr_history

    owner = await add_person(db, "ana@example.test", "Ana", "csm")
    ids = [await add_account(db, f"ACC-{n}", f"Account {n:02d}", owner_id=owner) for n in range(7)]
    await history(db, *((i, day(-2), 1_000 * (n + 2), 1_000) for n, i in enumerate(ids)))
    monkeypatch.setattr(arr_history, "IDS_PER_QUERY", 3)
    async with db.sessions() as s:
        moved = await movements(s, day(-7), TODAY, ids)
        on = await arr_on(s, ids, TODAY)
    assert [m.account_name for m in moved.expansion] == [f"Account {n:02d}" for n in range(6, -1, -1)]
    assert moved.expanded == Decimal(sum(1_000 * (n + 1) for n in range(7)))
    assert on == {i: Decimal(1_000 * (n + 2)) for n, i in enumerate(ids)}
