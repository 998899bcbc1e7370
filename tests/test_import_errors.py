"""Bad input: every problem is reported as FILE:LINE: column: problem, and nothing of the file is written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

import storage.importer.run as run
from bot.core.import_rules import import_options
from storage.db import Database
from storage.importer import (
    ImportDatabaseError,
    ImportFileError,
    ImportValidationError,
    import_file,
)
from storage.models import Base

FIXTURES = Path(__file__).parent / "fixtures" / "import"

USAGE_HEADER = "account_external_id,date,metric,value"
SURVEY_HEADER = "account_external_id,kind,score,submitted_at"


async def _counts(db: Database) -> dict[str, int]:
    """Rows per table, audit events included: "nothing was written" means these did not move."""
    async with db.sessions() as s:
        return {
            t.name: (await s.execute(select(func.count()).select_from(t))).scalar_one()
            for t in Base.metadata.sorted_tables
        }


@pytest.fixture
async def seeded(db: Database) -> Database:
    for kind in ("people", "accounts", "usage"):
        await import_file(db, kind, FIXTURES / f"{kind}.csv", options=import_options())
    return db


def _write(tmp_path: Path, name: str, lines: Sequence[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _problems(db: Database, kind: str, path: Path) -> list[str]:
    """The report lines of a failing import, after checking that nothing was written."""
    before = await _counts(db)
    with pytest.raises(ImportValidationError) as caught:
        await import_file(db, kind, path, options=import_options())
    assert await _counts(db) == before
    return caught.value.lines()


async def test_unknown_account(seeded: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "usage.csv", [USAGE_HEADER, "ACME-1,2026-02-01,logins,3", "NOPE-9,2026-02-01,logins,3"]
    )
    assert await _problems(seeded, "usage", path) == [
        f"{path}:3: account_external_id: unknown account 'NOPE-9'"
    ]


async def test_bad_date(seeded: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "usage.csv", [USAGE_HEADER, "ACME-1,2026-02-30,logins,3", "ACME-1,01/02/2026,logins,3"]
    )
    assert await _problems(seeded, "usage", path) == [
        f"{path}:2: date: no such date: '2026-02-30'",
        f"{path}:3: date: not a date (expected YYYY-MM-DD): '01/02/2026'",
    ]


async def test_bad_number(seeded: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "usage.csv",
        [
            USAGE_HEADER,
            "ACME-1,2026-02-01,a,12x",
            "ACME-1,2026-02-01,b,-1",
            "ACME-1,2026-02-01,c,nan",
            "ACME-1,2026-02-01,d,1_000",
        ],
    )
    assert await _problems(seeded, "usage", path) == [
        f"{path}:2: value: not a number: '12x'",
        f"{path}:3: value: must be 0 or more, not '-1'",
        f"{path}:4: value: not a finite number: 'nan'",
        f"{path}:5: value: not a number: '1_000'",
    ]


async def test_bad_metric(seeded: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "usage.csv", [USAGE_HEADER, "ACME-1,2026-02-01,active users,3"])
    assert await _problems(seeded, "usage", path) == [
        f"{path}:2: metric: not an identifier (letters, digits, '_', '.', '-', starting with a letter): "
        "'active users'"
    ]


async def test_score_out_of_range(seeded: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "surveys.csv",
        [
            SURVEY_HEADER,
            "ACME-1,nps,11,2026-01-01",
            "ACME-1,csat,0,2026-01-01",
            "ACME-1,ces,8,2026-01-01",
            "ACME-1,nps,7.5,2026-01-01",
            "ACME-1,nps,10,2026-01-01",
        ],
    )
    assert await _problems(seeded, "surveys", path) == [
        f"{path}:2: score: nps score must be 0 to 10, not 11",
        f"{path}:3: score: csat score must be 1 to 5, not 0",
        f"{path}:4: score: ces score must be 1 to 7, not 8",
        f"{path}:5: score: not a whole number: '7.5'",
    ]


async def test_bad_survey_kind_and_time(seeded: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "surveys.csv", [SURVEY_HEADER, "ACME-1,vote,3,yesterday"])
    assert await _problems(seeded, "surveys", path) == [
        f"{path}:2: kind: unknown survey kind 'vote' (expected one of nps, csat, ces)",
        f"{path}:2: submitted_at: not a date or date-time (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS): "
        "'yesterday'",
    ]


async def test_unknown_role(db: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "people.csv", ["email,name,role", "ana@example.test,Ana,boss"])
    assert await _problems(db, "people", path) == [
        f"{path}:2: role: unknown role 'boss' (expected one of csm, cs_manager, cx, admin)"
    ]


async def test_bad_email_and_timezone(db: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "people.csv", ["email,name,role,timezone", "ana(at)example.test,Ana,csm,Mars/Olympus"]
    )
    assert await _problems(db, "people", path) == [
        f"{path}:2: email: not an email address: 'ana(at)example.test'",
        f"{path}:2: timezone: unknown time zone 'Mars/Olympus' (expected an IANA name such as Europe/Paris)",
    ]


async def test_unknown_manager(db: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "people.csv",
        [
            "email,name,role,manager_email",
            "ana@example.test,Ana,csm,ghost@example.test",
            "bo@example.test,Bo,csm,ana@example.test",
            "cy@example.test,Cy,csm,cy@example.test",
        ],
    )
    assert await _problems(db, "people", path) == [
        f"{path}:2: manager_email: no person with email 'ghost@example.test' in the database or this file",
        f"{path}:4: manager_email: a person cannot be their own manager",
    ]


async def test_chat_ids_must_stay_unique(seeded: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "people.csv",
        [
            "email,name,role,slack_user_id",
            "new@example.test,New,cx,U0ANA",
            "a@example.test,A,cx,U9",
            "b@example.test,B,cx,U9",
        ],
    )
    assert await _problems(seeded, "people", path) == [
        f"{path}:2: slack_user_id: 'U0ANA' already belongs to ana.lima@example.test",
        f"{path}:4: slack_user_id: duplicate of line 3",
    ]


async def test_account_problems(seeded: Database, tmp_path: Path) -> None:
    header = "external_id,name,owner_email,arr,lifecycle_stage,contract_start,renewal_date"
    path = _write(
        tmp_path,
        "accounts.csv",
        [
            header,
            "N1,New,nobody@example.test,-5,growing,2026-01-01,2025-01-01",
            "N2,New 2,ana.lima@example.test,12.345,,2026-01-01,2025-01-01",
        ],
    )
    assert await _problems(seeded, "accounts", path) == [
        f"{path}:2: owner_email: no person with email 'nobody@example.test' (import people first)",
        f"{path}:2: arr: must be 0 or more, not '-5'",
        f"{path}:2: lifecycle_stage: unknown lifecycle stage 'growing' "
        "(expected one of onboarding, adopting, mature, renewing, churned)",
        f"{path}:3: arr: not an amount with at most 12 digits and 2 decimals: '12.345'",
    ]


async def test_renewal_before_contract_start(seeded: Database, tmp_path: Path) -> None:
    header = "external_id,name,owner_email,contract_start,renewal_date"
    path = _write(tmp_path, "accounts.csv", [header, "N1,New,ana.lima@example.test,2026-01-01,2025-01-01"])
    assert await _problems(seeded, "accounts", path) == [
        f"{path}:2: renewal_date: 2025-01-01 is before contract_start 2026-01-01"
    ]


async def test_bad_milestone_kind(seeded: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "milestones.csv",
        ["account_external_id,name,kind,due_date", "ACME-1,Party,launch,2026-01-01"],
    )
    assert await _problems(seeded, "milestones", path) == [
        f"{path}:2: kind: unknown milestone kind 'launch' "
        "(expected one of kickoff, technical_setup, first_value, go_live, qbr, renewal, other)"
    ]


async def test_duplicate_key_in_file(seeded: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "usage.csv",
        [
            USAGE_HEADER,
            "ACME-1,2026-02-01,logins,3",
            "ACME-1,2026-02-02,logins,3",
            " ACME-1 ,2026-02-01,logins,4",
        ],
    )
    assert await _problems(seeded, "usage", path) == [
        f"{path}:4: account_external_id, date, metric: duplicate of line 2"
    ]


async def test_duplicate_email_is_case_blind(db: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "people.csv", ["email,name,role", "ana@example.test,Ana,csm", "ANA@example.test,Ana,csm"]
    )
    assert await _problems(db, "people", path) == [f"{path}:3: email: duplicate of line 2"]


async def test_unknown_extra_column(seeded: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "usage.csv", [USAGE_HEADER + ",notes,", "ACME-1,2026-02-01,logins,3,hi,"])
    assert await _problems(seeded, "usage", path) == [
        f"{path}:1: notes: unknown column (expected: account_external_id, date, metric, value)",
        f"{path}:1: column 6: has no name",
    ]


async def test_missing_and_repeated_columns(seeded: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "usage.csv", ["account_external_id,date,date,value", "ACME-1,2026-02-01,x,3"])
    assert await _problems(seeded, "usage", path) == [
        f"{path}:1: date: appears twice in the header",
        f"{path}:1: metric: required column is missing",
    ]


async def test_missing_required_value(seeded: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "usage.csv", [USAGE_HEADER, "ACME-1,2026-02-01,,3", "ACME-1, ,logins,3"])
    assert await _problems(seeded, "usage", path) == [
        f"{path}:2: metric: missing value",
        f"{path}:3: date: missing value",
    ]


async def test_wrong_number_of_values(seeded: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "usage.csv", [USAGE_HEADER, "ACME-1,2026-02-01,logins", "ACME-1,2026-02-01,a,1,2"]
    )
    assert await _problems(seeded, "usage", path) == [
        f"{path}:2: expected 4 values (one per column), found 3",
        f"{path}:3: expected 4 values (one per column), found 5",
    ]


async def test_malformed_quotes(seeded: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "usage.csv", [USAGE_HEADER, 'ACME-1,2026-02-01,"logins"x,3', "ACME-1,2026-02-01,ok,1"]
    )
    assert await _problems(seeded, "usage", path) == [f"{path}:2: malformed CSV: ',' expected after '\"'"]


async def test_lines_are_physical_lines(seeded: Database, tmp_path: Path) -> None:
    """A quoted value spanning lines, and blank lines, still leave later problems on their real line."""
    path = _write(
        tmp_path,
        "surveys.csv",
        [
            SURVEY_HEADER + ",comment",
            'ACME-1,nps,9,2026-01-01,"one',
            "two",
            'three"',
            "",
            "ACME-1,nps,99,2026-01-02,",
        ],
    )
    assert await _problems(seeded, "surveys", path) == [f"{path}:6: score: nps score must be 0 to 10, not 99"]


async def test_only_the_last_row_bad_writes_nothing(
    seeded: Database, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(run, "BATCH_ROWS", 10)
    lines = [USAGE_HEADER] + [f"ACME-1,2026-03-{d:02d},logins,{d}" for d in range(1, 31)]
    lines.append("ACME-1,2026-04-01,logins,lots")
    path = _write(tmp_path, "usage.csv", lines)
    assert await _problems(seeded, "usage", path) == [f"{path}:32: value: not a number: 'lots'"]


async def test_problem_report_is_capped_at_fifty(seeded: Database, tmp_path: Path) -> None:
    lines = [USAGE_HEADER] + [f"ACME-1,2026-03-{d:02d},logins,-{d}" for d in range(1, 29)] * 3
    path = _write(tmp_path, "usage.csv", lines)
    report = await _problems(seeded, "usage", path)
    assert len(report) == 51
    assert report[0] == f"{path}:2: value: must be 0 or more, not '-1'"
    assert report[49] == f"{path}:51: value: must be 0 or more, not '-22'"
    assert report[50] == "... and 34 more problems"


async def test_problems_found_late_still_sort_by_line(db: Database, tmp_path: Path) -> None:
    """Unknown managers are only known at the end of the file; the cap still keeps the earliest lines."""
    lines = ["email,name,role,manager_email", "a@example.test,A,csm,ghost@example.test"]
    lines += [f"p{i}@example.test,P,csm,nobody" for i in range(60)]
    path = _write(tmp_path, "people.csv", lines)
    report = await _problems(db, "people", path)
    assert (
        report[0]
        == f"{path}:2: manager_email: no person with email 'ghost@example.test' in the database or this file"
    )
    assert report[1] == f"{path}:3: manager_email: not an email address: 'nobody'"
    assert report[-1] == "... and 11 more problems"


async def test_missing_file(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError) as caught:
        await import_file(db, "usage", tmp_path / "nope.csv", options=import_options())
    assert str(caught.value) == f"{tmp_path / 'nope.csv'}: no such file"


async def test_directory(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError) as caught:
        await import_file(db, "usage", tmp_path, options=import_options())
    assert str(caught.value) == f"{tmp_path}: is a directory, not a file"


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n  \n"])
async def test_empty_file(db: Database, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "usage.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as caught:
        await import_file(db, "usage", path, options=import_options())
    assert str(caught.value) == f"{path}: the file is empty (a header row is required)"


async def test_file_that_is_not_utf8(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("émail,name,role\n".encode("latin-1"))
    assert await _problems(db, "people", path) == [
        f"{path}:1: not valid UTF-8 (byte 0xE9 at position 1 of the line); save the file as UTF-8"
    ]


async def test_bad_utf8_mid_file(seeded: Database, tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    body = "\n".join([USAGE_HEADER, "ACME-1,2026-02-01,logins,3", "ACME-1,2026-02-02,logins,3"]) + "\n"
    path.write_bytes(body.encode() + b"ACME-1,2026-02-03,caf\xe9,3\nACME-1,2026-02-04,x,-1\n")
    assert await _problems(seeded, "usage", path) == [
        f"{path}:4: not valid UTF-8 (byte 0xE9 at position 22 of the line); save the file as UTF-8"
    ]


async def test_database_error_midway_writes_nothing(
    seeded: Database, tmp_path: Path, monkeypatch: Any
) -> None:
    """A failure after some batches were written rolls all of them back."""
    monkeypatch.setattr(run, "BATCH_ROWS", 5)
    lines = [USAGE_HEADER] + [f"ACME-1,2026-03-{d:02d},logins,{d}" for d in range(1, 21)]
    path = _write(tmp_path, "usage.csv", lines)
    kind = run.KINDS["usage"]
    original: Callable[..., Awaitable[Any]] = kind.write
    calls = 0

    async def failing_write(self: Any, session: Any, records: Any, present: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:  # two batches are in; now break a foreign key
            orphan = "INSERT INTO usage_metric VALUES (-1, '2026-01-01', 'x', 1)"
            await session.execute(text(orphan))
        return await original(self, session, records, present)

    monkeypatch.setattr(kind, "write", failing_write)
    before = await _counts(seeded)
    with pytest.raises(ImportDatabaseError) as caught:
        await import_file(seeded, "usage", path, options=import_options())
    assert calls == 3
    assert str(caught.value).startswith(f"{path}: the database refused the import, nothing was imported: ")
    assert "\n" not in str(caught.value)
    assert await _counts(seeded) == before


async def test_file_changed_between_passes(seeded: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "usage.csv", [USAGE_HEADER, "ACME-1,2026-02-01,logins,3"])

    def tamper(phase: str, done: int, total: int) -> None:
        if phase == "checking" and done == total:
            path.write_text(USAGE_HEADER + "\nACME-1,2026-02-01,logins,oops\n")

    before = await _counts(seeded)
    with pytest.raises(ImportFileError) as caught:
        await import_file(seeded, "usage", path, progress=tamper, options=import_options())
    assert str(caught.value) == f"{path}: the file changed while it was being imported; nothing was imported"
    assert await _counts(seeded) == before


async def test_unknown_kind(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown import kind 'deals'"):
        await import_file(db, "deals", tmp_path / "x.csv", options=import_options())
