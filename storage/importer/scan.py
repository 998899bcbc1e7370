"""Pass 1 of an import: read the whole file once, validate every row, find duplicates.

It keeps only what it must: the look-ups the kind loaded, the first problems, and a buffer of hashed
keys that :class:`~storage.importer.duplicates.KeyLog` writes to temporary files, so its memory stays
the same whatever the size of the file. :class:`Rows` is shared with pass 2, which reads the file again
the same way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.importer.base import Kind, Record
from storage.importer.duplicates import KeyLog
from storage.importer.errors import ImportFileError, ProblemLog
from storage.importer.header import Header, read_header
from storage.importer.reading import CsvFile, ProgressCallback, UndecodableLine, empty_file


def file_changed(display: str) -> ImportFileError:
    return ImportFileError(f"{display}: the file changed while it was being imported; nothing was imported")


@dataclass(frozen=True, slots=True)
class Scan:
    header: Header
    rows: int


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
    """Pass 1: validate everything; raise :class:`ImportValidationError` listing what is wrong.

    A repeated key is reported at the repeat, naming the line it repeats.
    """
    log = ProblemLog(display, max_problems)
    count = 0
    with (
        CsvFile(path, display, phase="checking", progress=progress) as csv_file,
        KeyLog(csv_file.size) as keys,
    ):
        rows = Rows(handler, csv_file, log)
        for line, record in rows:
            count += 1
            for columns, value in handler.keys(record):
                keys.add(line, columns, value)
            log.extend(line, handler.check_file(line, record))
        found = keys.duplicates(max_problems)
    for duplicate in found.first:
        log.add(duplicate.line, duplicate.columns, f"duplicate of line {duplicate.first}", first=True)
    log.count(found.total - len(found.first))
    for line, column, message in handler.check_end():
        log.add(line, column, message)
    if log or rows.header is None:
        raise log.error()
    return Scan(header=rows.header, rows=count)
