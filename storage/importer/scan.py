"""Pass 1 of an import: read the whole file once, validate every row, find duplicates.

It keeps only what it must: the look-ups the kind loaded, an 8-byte hash per natural key and the first
problems. :class:`Rows` is shared with pass 2, which reads the file again the same way.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.importer.base import Kind, Record
from storage.importer.errors import ImportFileError, Problem, ProblemLog
from storage.importer.header import Header, read_header
from storage.importer.reading import CsvFile, ProgressCallback, UndecodableLine, empty_file

DUPLICATE = "duplicate of an earlier line"


def file_changed(display: str) -> ImportFileError:
    return ImportFileError(f"{display}: the file changed while it was being imported; nothing was imported")


@dataclass(frozen=True, slots=True)
class Scan:
    header: Header
    rows: int


def _digest(columns: str, value: str) -> int:
    """A compact 8-byte hash of one natural key: a million of them fit in a few tens of MB."""
    data = f"{columns}\x1f{value}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class Rows:
    """The valid records of one pass over the file, as (line, record); every problem goes to ``log``.

    ``header`` is set once the header row was read. Iteration stops at an unusable header and at the
    first line that is not UTF-8.
    """

    def __init__(self, handler: Kind, csv_file: CsvFile, log: ProblemLog) -> None:
        self.handler = handler
        self.csv_file = csv_file
        self.log = log
        self.header: Header | None = None

    def __iter__(self) -> Iterator[tuple[int, Record]]:
        log, validate = self.log, self.handler.validate
        records = self.csv_file.records()
        try:
            first = next(records, None)
            if first is None:
                raise empty_file(self.csv_file.display)
            line, values = first
            if isinstance(values, csv.Error):
                log.add(line, None, f"malformed CSV: {values}")
                return
            self.header = read_header(self.handler, values, line, log)
            if self.header is None:
                return
            width, known = self.header.width, self.header.known
            for line, values in records:
                if isinstance(values, csv.Error):
                    log.add(line, None, f"malformed CSV: {values}")
                elif len(values) != width:
                    log.add(line, None, f"expected {width} values (one per column), found {len(values)}")
                else:
                    result = validate({name: values[i] for i, name in known})
                    if isinstance(result, list):
                        log.extend(line, result)
                    else:
                        yield line, result
        except UndecodableLine as exc:
            log.add(exc.line, None, exc.message)


def scan_file(
    handler: Kind, path: Path, display: str, progress: ProgressCallback | None, max_problems: int
) -> Scan:
    """Pass 1: validate everything; raise :class:`ImportValidationError` listing what is wrong."""
    log = ProblemLog(display, max_problems)
    seen: set[int] = set()
    duplicates: list[tuple[Problem, int]] = []
    count = 0
    with CsvFile(path, display, phase="checking", progress=progress) as csv_file:
        rows = Rows(handler, csv_file, log)
        for line, record in rows:
            count += 1
            for columns, value in handler.keys(record):
                digest = _digest(columns, value)
                if digest in seen:
                    problem = log.add(line, columns, DUPLICATE)
                    if problem is not None and len(duplicates) < max_problems:
                        duplicates.append((problem, digest))
                else:
                    seen.add(digest)
            log.extend(line, handler.check_file(line, record))
    for line, column, message in handler.check_end():
        log.add(line, column, message)
    if duplicates:
        _name_first_occurrences(handler, path, display, log, duplicates)
    if log or rows.header is None:
        raise log.error()
    return Scan(header=rows.header, rows=count)


def _name_first_occurrences(
    handler: Kind, path: Path, display: str, log: ProblemLog, duplicates: list[tuple[Problem, int]]
) -> None:
    """Re-read the file to say which line each reported duplicate repeats.

    Pass 1 keeps hashes only (not lines) to stay small; this extra read happens only when the import
    fails anyway, and stops as soon as every reported duplicate is placed.
    """
    wanted = {digest for _, digest in duplicates}
    first: dict[int, int] = {}
    with CsvFile(path, display) as csv_file:
        for line, record in Rows(handler, csv_file, ProblemLog(display, 0)):
            for columns, value in handler.keys(record):
                digest = _digest(columns, value)
                if digest in wanted and digest not in first:
                    first[digest] = line
            if len(first) == len(wanted):
                break
    for problem, digest in duplicates:
        if digest in first:
            reworded = Problem(problem.line, problem.column, f"duplicate of line {first[digest]}", display)
            log.replace(problem, reworded)
