"""Pass 1 of an import in memory that does not grow with the file: repeated keys are found from hashes
written to temporary files in partitions (``storage.importer.duplicates``), still named by line, still
all-or-nothing, and the temporary files are gone afterwards whatever happened.

The buffer and partition sizes are made tiny here, so a few thousand rows exercise what a file of
millions does at the real sizes: many flushes, many partitions.
"""

from __future__ import annotations

import tempfile
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import storage.importer.duplicates as duplicates
from bot.core.import_rules import import_options
from storage.db import Database
from storage.importer import ImportOptions, ImportValidationError, import_file
from storage.importer.kinds.usage import UsageKind
from storage.importer.scan import scan_file
from storage.models import Base

FIXTURES = Path(__file__).parent / "fixtures" / "import"
HEADER = "account_external_id,date,metric,value"
ACCOUNTS = ("ACME-1", "SG-7", "GLOBEX")
METRICS = tuple(f"metric_{n}" for n in range(100))
LAST_DAY = date(2026, 1, 31)
KEY = "account_external_id, date, metric"


@pytest.fixture
async def seeded(db: Database) -> Database:
    for kind in ("people", "accounts"):
        await import_file(db, kind, FIXTURES / f"{kind}.csv", options=import_options())
    return db


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flush every 64 keys, and a partition per 16 keys the file could hold (capped at 64)."""
    monkeypatch.setattr(duplicates, "BUFFER_ENTRIES", 64)
    monkeypatch.setattr(duplicates, "PARTITION_ENTRIES", 16)
    monkeypatch.setattr(duplicates, "MAX_PARTITIONS", 64)


@pytest.fixture
def temp_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """Temporary files go to a folder of this test; yields it and the directories the import made."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    made: list[str] = []
    original = tempfile.TemporaryDirectory

    def recording(*args: object, **kwargs: object) -> tempfile.TemporaryDirectory[str]:
        directory = original(*args, **kwargs)  # type: ignore[call-overload]
        made.append(directory.name)
        return directory  # type: ignore[no-any-return]

    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setattr(duplicates.tempfile, "TemporaryDirectory", recording)
    yield folder, made


def _lines(count: int) -> Iterator[str]:
    """``count`` distinct usage rows: every account and metric of a day, then the day before."""
    written, day = 0, LAST_DAY
    while True:
        for account in ACCOUNTS:
            for number, metric in enumerate(METRICS):
                if written == count:
                    return
                yield f"{account},{day.isoformat()},{metric},{(written + number) % 97}"
                written += 1
        day -= timedelta(days=1)


def _write(path: Path, lines: Iterator[str] | list[str]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER + "\n")
        for line in lines:
            handle.write(line + "\n")
    return path


async def _counts(db: Database) -> dict[str, int]:
    async with db.sessions() as s:
        return {
            t.name: (await s.execute(select(func.count()).select_from(t))).scalar_one()
            for t in Base.metadata.sorted_tables
        }


async def _rejected(db: Database, path: Path, max_problems: int = 50) -> ImportValidationError:
    before = await _counts(db)
    with pytest.raises(ImportValidationError) as caught:
        await import_file(db, "usage", path, options=import_options(), max_problems=max_problems)
    assert await _counts(db) == before
    return caught.value


@pytest.mark.usefixtures("small_parts")
async def test_duplicates_far_apart_are_named_by_line(
    seeded: Database, tmp_path: Path, temp_dirs: tuple[Path, list[str]]
) -> None:
    rows = list(_lines(3000))
    # Line 2 comes back on the last line, line 1001 in the middle and again at the end.
    lines = [*rows[:1500], rows[999], *rows[1500:], rows[0], rows[999].replace(",", " ,", 1)]
    path = _write(tmp_path / "usage.csv", lines)
    assert duplicates.partitions_for(path.stat().st_size) > 1
    error = await _rejected(seeded, path)
    assert error.lines() == [
        f"{path}:1502: {KEY}: duplicate of line 1001",
        f"{path}:3003: {KEY}: duplicate of line 2",
        f"{path}:3004: {KEY}: duplicate of line 1001",
    ]
    folder, made = temp_dirs
    assert made, "the keys were meant to go to temporary files"
    assert list(folder.iterdir()) == []


@pytest.mark.usefixtures("small_parts")
async def test_a_file_twice_reports_the_first_repeats_and_counts_all(
    seeded: Database, tmp_path: Path
) -> None:
    rows = list(_lines(1000))
    path = _write(tmp_path / "usage.csv", rows + rows)
    error = await _rejected(seeded, path, max_problems=3)
    assert error.total == 1000
    assert error.lines() == [
        f"{path}:1002: {KEY}: duplicate of line 2",
        f"{path}:1003: {KEY}: duplicate of line 3",
        f"{path}:1004: {KEY}: duplicate of line 4",
        "... and 997 more problems",
    ]


@pytest.mark.usefixtures("small_parts")
async def test_temporary_files_are_removed_after_a_success(
    seeded: Database, tmp_path: Path, temp_dirs: tuple[Path, list[str]]
) -> None:
    path = _write(tmp_path / "usage.csv", _lines(2000))
    result = await import_file(seeded, "usage", path, options=import_options())
    assert (result.rows, result.inserted) == (2000, 2000)
    folder, made = temp_dirs
    assert made
    assert list(folder.iterdir()) == []


@pytest.mark.usefixtures("small_parts")
async def test_temporary_files_are_removed_when_a_row_is_wrong(
    seeded: Database, tmp_path: Path, temp_dirs: tuple[Path, list[str]]
) -> None:
    path = _write(tmp_path / "usage.csv", [*_lines(2000), "NOPE-9,2026-01-01,logins,3"])
    error = await _rejected(seeded, path)
    assert error.lines() == [f"{path}:2002: account_external_id: unknown account 'NOPE-9'"]
    folder, made = temp_dirs
    assert made
    assert list(folder.iterdir()) == []


@pytest.mark.usefixtures("small_parts")
async def test_temporary_files_are_removed_when_the_scan_breaks(
    seeded: Database, tmp_path: Path, temp_dirs: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    def check_file(self: UsageKind, line: int, record: object) -> list[tuple[str, str]]:
        nonlocal calls
        calls += 1
        if calls == 1500:
            raise RuntimeError("broken")
        return []

    monkeypatch.setattr(UsageKind, "check_file", check_file)
    path = _write(tmp_path / "usage.csv", _lines(2000))
    before = await _counts(seeded)
    with pytest.raises(RuntimeError, match="broken"):
        await import_file(seeded, "usage", path, options=import_options())
    assert await _counts(seeded) == before
    folder, made = temp_dirs
    assert made
    assert list(folder.iterdir()) == []


def _scan_peak(handler: UsageKind, path: Path) -> int:
    """tracemalloc's peak while pass 1 reads ``path``, above what was allocated before."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        scan = scan_file(handler, path, str(path), None, 50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scan.rows > 0
    return peak - before


async def test_scan_memory_does_not_grow_with_the_file(
    seeded: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4 times the rows, about the same peak: a set of hashes (the old way) grew with every row."""
    monkeypatch.setattr(duplicates, "BUFFER_ENTRIES", 4096)
    monkeypatch.setattr(duplicates, "PARTITION_ENTRIES", 4096)
    async with seeded.sessions() as session:
        handler = await UsageKind.load(session, ImportOptions())
    small = _write(tmp_path / "small.csv", _lines(50_000))
    large = _write(tmp_path / "large.csv", _lines(200_000))
    small_peak, large_peak = _scan_peak(handler, small), _scan_peak(handler, large)
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
