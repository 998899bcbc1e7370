"""The row validators on their own: a mapping of field -> value in, a record or (column, problem)s out.

This is the contract the JSON ingest API will reuse, so values may already be typed (numbers, dates).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.core.import_rules import import_options
from storage.db import Database
from storage.importer import ImportDatabaseError, ImportOptions, import_file
from storage.importer.errors import ImportValidationError, Problem, ProblemLog
from storage.importer.kinds.surveys import SurveysKind
from storage.importer.kinds.usage import UsageKind
from storage.models import Person

FIXTURES = Path(__file__).parent / "fixtures" / "import"


@pytest.fixture
async def seeded(db: Database) -> Database:
    for kind in ("people", "accounts"):
        await import_file(db, kind, FIXTURES / f"{kind}.csv", options=import_options())
    return db


async def test_usage_validator_takes_typed_values(seeded: Database) -> None:
    async with seeded.sessions() as s:
        usage = await UsageKind.load(s, ImportOptions())
    record = usage.validate(
        {"account_external_id": "ACME-1", "date": date(2026, 1, 2), "metric": "m", "value": 7}
    )
    assert isinstance(record, dict)
    assert (record["day"], record["metric"], record["value"]) == (date(2026, 1, 2), "m", 7.0)
    assert usage.validate(
        {"account_external_id": "ACME-1", "date": "2026-01-02", "metric": "m", "value": True}
    ) == [("value", "not a number: 'True'")]
    assert usage.validate({"account_external_id": "X", "date": None, "value": -2.5}) == [
        ("account_external_id", "unknown account 'X'"),
        ("date", "missing value"),
        ("metric", "missing value"),
        ("value", "must be 0 or more, not '-2.5'"),
    ]


async def test_survey_validator_checks_the_scale_of_its_kind(seeded: Database) -> None:
    async with seeded.sessions() as s:
        surveys = await SurveysKind.load(s, import_options())
    row = {
        "account_external_id": "ACME-1",
        "kind": "CES",
        "score": 8,
        "submitted_at": datetime(2026, 1, 1, 12),
    }
    assert surveys.validate(row) == [("score", "ces score must be 1 to 7, not 8")]
    record = surveys.validate({**row, "score": 2.0, "external_id": "E-1"})
    assert isinstance(record, dict)
    assert (record["kind"], record["score"], record["natural_key"]) == ("ces", 2, "ext:E-1")
    assert record["submitted_at"] == datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_problem_log_keeps_the_earliest_lines() -> None:
    log = ProblemLog("f.csv", limit=2)
    log.add(9, "a", "late")
    log.add(3, None, "early")
    log.add(5, "b", "middle")
    log.add(7, "c", "dropped")
    assert log.kept() == [Problem(3, None, "early", "f.csv"), Problem(5, "b", "middle", "f.csv")]
    error = log.error()
    assert isinstance(error, ImportValidationError)
    assert error.lines() == ["f.csv:3: early", "f.csv:5: b: middle", "... and 2 more problems"]


def test_default_timezone_must_exist() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        ImportOptions(default_timezone="Mars/Base")


async def test_manager_deleted_between_passes(sqlite_db: Database, tmp_path: Path) -> None:
    """Pass 2 re-reads people from the database; a manager gone since pass 1 aborts the whole import."""
    await import_file(sqlite_db, "people", FIXTURES / "people.csv", options=import_options())
    path = tmp_path / "people.csv"
    path.write_text("email,name,role,manager_email\nnew@example.test,New,csm,cx@example.test\n")
    database_file = make_url(sqlite_db.url).database
    assert database_file is not None

    def delete_manager(phase: str, done: int, total: int) -> None:
        if phase == "checking" and done == total:
            with sqlite3.connect(database_file) as conn:
                conn.execute("DELETE FROM person WHERE email = 'cx@example.test'")

    with pytest.raises(ImportDatabaseError) as caught:
        await import_file(sqlite_db, "people", path, progress=delete_manager, options=import_options())
    assert (
        str(caught.value)
        == f"{path}: manager cx@example.test was deleted during the import; nothing was imported"
    )
    async with sqlite_db.sessions() as s:
        emails = set((await s.execute(select(Person.email))).scalars())
    assert "new@example.test" not in emails
