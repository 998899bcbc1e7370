"""Hostile values in a CSV import: each is one clear ``FILE:LINE: column: problem`` and nothing is written.

One table: kind, the CSV header, one row, and the problem reported for line 2. Every value is bounded by
what its column and the health engine can hold (numbers, 32-bit integers, days 1900-2200, text without
NUL, capped in length), on SQLite and PostgreSQL alike. Control characters in names are removed on the
way in, and a value quoted in a problem is escaped so the report never prints a raw control character.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.core.import_rules import import_options
from storage.db import Database
from storage.importer import ImportValidationError, import_file
from storage.models import Account, Base, Person, SurveyResponse

FIXTURES = Path(__file__).parent / "fixtures" / "import"

HEADERS = {
    "usage": "account_external_id,date,metric,value",
    "accounts": "external_id,name,owner_email,arr,renewal_date",
    "surveys": "account_external_id,kind,score,submitted_at,comment",
    "milestones": "account_external_id,name,due_date,completed_at",
    "outcomes": "account_external_id,title,metric,target,due_date",
    "people": "email,name,role",
}
NINES = "9" * 400
CUT_NINES = "'" + "9" * 77 + "...'"  # a value quoted in a problem is cut at 80 characters
DAYS = "out of range (1900-01-01 to 2200-12-31)"
NUMBERS = "out of range (-10^15 to 10^15)"
OWNER = "ana.lima@example.test"
# (id, kind, the row, the problem reported for it)
HOSTILE = [
    ("usage-1e308", "usage", "ACME-1,2026-02-01,logins,1e308", f"value: {NUMBERS}: '1e308'"),
    ("usage-400-digits", "usage", f"ACME-1,2026-02-01,logins,{NINES}", f"value: {NUMBERS}: {CUT_NINES}"),
    ("usage-infinity", "usage", "ACME-1,2026-02-01,logins,inf", "value: not a finite number: 'inf'"),
    ("usage-nan", "usage", "ACME-1,2026-02-01,logins,nan", "value: not a finite number: 'nan'"),
    ("usage-date-infinity", "usage", "ACME-1,9999-12-31,logins,1", f"date: {DAYS}: '9999-12-31'"),
    ("usage-date-minus-infinity", "usage", "ACME-1,0001-01-01,logins,1", f"date: {DAYS}: '0001-01-01'"),
    (
        "usage-escape-in-message",
        "usage",
        "ACME-1\x1b[2J,2026-02-01,logins,1",
        "account_external_id: unknown account 'ACME-1\\x1b[2J'",
    ),
    (
        "accounts-arr-1e308",
        "accounts",
        f"X-1,X,{OWNER},1e308,",
        "arr: not an amount with at most 12 digits and 2 decimals: '1e308'",
    ),
    (
        "accounts-renewal-2201",
        "accounts",
        f"X-1,X,{OWNER},,2201-01-01",
        f"renewal_date: {DAYS}: '2201-01-01'",
    ),
    ("accounts-name-nul", "accounts", f"X-1,Ac\x00me,{OWNER},,", "name: contains a NUL character"),
    ("accounts-name-only-controls", "accounts", f"X-1,\x07\x1b,{OWNER},,", "name: only control characters"),
    ("accounts-name-too-long", "accounts", f"X-1,{'n' * 201},{OWNER},,", "name: longer than 200 characters"),
    (
        "surveys-score-400-digits",
        "surveys",
        f"ACME-1,nps,{NINES},2026-02-01,",
        f"score: out of range (-2147483648 to 2147483647): {CUT_NINES}",
    ),
    (
        "surveys-offset-before-year-1",
        "surveys",
        "ACME-1,nps,3,0001-01-01T00:00:00+14:00,",
        f"submitted_at: {DAYS}: '0001-01-01T00:00:00+14:00'",
    ),
    (
        "surveys-offset-after-year-9999",
        "surveys",
        "ACME-1,nps,3,9999-12-31T23:59:59-14:00,",
        f"submitted_at: {DAYS}: '9999-12-31T23:59:59-14:00'",
    ),
    (
        "surveys-offset-past-2200",
        "surveys",
        "ACME-1,nps,3,2200-12-31T23:00:00-02:00,",
        f"submitted_at: {DAYS}: '2200-12-31T23:00:00-02:00'",
    ),
    (
        "surveys-comment-nul",
        "surveys",
        "ACME-1,nps,3,2026-02-01,bad\x00comment",
        "comment: contains a NUL character",
    ),
    (
        "surveys-comment-too-long",
        "surveys",
        f"ACME-1,nps,3,2026-02-01,{'x' * 10_001}",
        "comment: longer than 10,000 characters",
    ),
    (
        "milestones-completed-1899",
        "milestones",
        "ACME-1,Kickoff,2026-02-01,1899-12-31T23:00:00",
        f"completed_at: {DAYS}: '1899-12-31T23:00:00'",
    ),
    (
        "outcomes-target-exponent",
        "outcomes",
        "ACME-1,Grow,active_users,>= 1e308,2027-01-01",
        "target: not a number, optionally after >= or <=: '>= 1e308'",
    ),
    (
        "outcomes-target-400-digits",
        "outcomes",
        f"ACME-1,Grow,active_users,{NINES},2027-01-01",
        f"target: {NUMBERS}: {CUT_NINES}",
    ),
    ("people-name-nul", "people", "new@example.test,Ana\x00,csm", "name: contains a NUL character"),
]


async def _counts(db: Database) -> dict[str, int]:
    async with db.sessions() as s:
        return {
            t.name: (await s.execute(select(func.count()).select_from(t))).scalar_one()
            for t in Base.metadata.sorted_tables
        }


@pytest.fixture
async def seeded(db: Database) -> Database:
    for kind in ("people", "accounts"):
        await import_file(db, kind, FIXTURES / f"{kind}.csv", options=import_options())
    return db


@pytest.mark.parametrize(
    ("kind", "row", "problem"), [case[1:] for case in HOSTILE], ids=[c[0] for c in HOSTILE]
)
async def test_a_hostile_value_is_one_clear_problem_and_nothing_is_written(
    seeded: Database, tmp_path: Path, kind: str, row: str, problem: str
) -> None:
    path = tmp_path / f"{kind}.csv"
    path.write_text(f"{HEADERS[kind]}\n{row}\n", encoding="utf-8", newline="")
    before = await _counts(seeded)
    with pytest.raises(ImportValidationError) as caught:
        await import_file(seeded, kind, path, options=import_options())
    assert caught.value.lines() == [f"{path}:2: {problem}"]
    assert await _counts(seeded) == before


async def test_control_characters_are_removed_from_names_on_the_way_in(
    seeded: Database, tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        f"{HEADERS['people']}\nbell@example.test,Be\x07ll \x1b[31mRed\x1b[0m,csm\n", encoding="utf-8"
    )
    await import_file(seeded, "people", people, options=import_options())
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        f"{HEADERS['accounts']}\nX-1,\u202eAcme\tRockets\x9b,bell@example.test,,\n",
        encoding="utf-8",
        newline="",
    )
    await import_file(seeded, "accounts", accounts, options=import_options())
    surveys = tmp_path / "surveys.csv"
    surveys.write_text(
        f'{HEADERS["surveys"]}\nX-1,nps,3,2026-02-01,"Slow\x1b[5m.\r\nSecond\tline\x07"\n',
        encoding="utf-8",
        newline="",
    )
    await import_file(seeded, "surveys", surveys, options=import_options())
    async with seeded.sessions() as s:
        person = await s.scalar(select(Person.name).where(Person.email == "bell@example.test"))
        names = select(Account.name, Account.name_key).where(Account.external_id == "X-1")
        account = (await s.execute(names)).one()
        comment = await s.scalar(select(SurveyResponse.comment))
    assert person == "Bell [31mRed[0m"
    assert tuple(account) == ("Acme Rockets", "acme rockets")
    assert comment == "Slow[5m.\nSecond\tline"
