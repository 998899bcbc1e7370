"""Streaming a CSV file as (line number, values), with bounded memory.

The file is read in binary and decoded one physical line at a time, which gives three things the
text layer would hide: the exact line of a byte that is not UTF-8, the number of bytes read (for the
progress bar) and the physical line where each record starts, even when quoted values span lines.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from storage.importer.errors import ImportFileError

# (phase, bytes done, bytes total): called a few times per megabyte, never per row.
ProgressCallback = Callable[[str, int, int], None]

_BOM = b"\xef\xbb\xbf"
_PROGRESS_STEP = 1 << 20


class UndecodableLine(Exception):
    """A line holds bytes that are not UTF-8: the one problem after which reading cannot go on."""

    def __init__(self, line: int, error: UnicodeDecodeError) -> None:
        self.line = line
        bad = error.object[error.start : error.start + 1].hex().upper()
        position = error.start + 1
        self.message = (
            f"not valid UTF-8 (byte 0x{bad} at position {position} of the line); save the file as UTF-8"
        )
        super().__init__(self.message)


@dataclass(slots=True)
class _Counter:
    line: int = 0
    done: int = 0
    reported: int = 0


def open_checked(path: Path, display: str) -> tuple[BinaryIO, int]:
    """The open file and its size, or a one-line :class:`ImportFileError` saying why not."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ImportFileError(f"{display}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{display}: is a directory, not a file") from None
    except OSError as exc:
        raise ImportFileError(f"{display}: cannot read: {exc.strerror or exc}") from None
    size = os.fstat(handle.fileno()).st_size
    if size == 0:
        handle.close()
        raise empty_file(display)
    return handle, size


def empty_file(display: str) -> ImportFileError:
    """The error for a file without a header row: no bytes, or only a BOM and blank lines."""
    return ImportFileError(f"{display}: the file is empty (a header row is required)")


class CsvFile:
    """One pass over a CSV file. Use as a context manager; iterate :meth:`records` once."""

    def __init__(
        self,
        path: Path,
        display: str,
        *,
        phase: str = "",
        progress: ProgressCallback | None = None,
    ) -> None:
        self.display = display
        self._handle, self.size = open_checked(path, display)
        self._phase = phase
        self._progress = progress
        self._count = _Counter()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    @property
    def line(self) -> int:
        """The physical line last read."""
        return self._count.line

    def _lines(self) -> Iterator[str]:
        count = self._count
        progress = self._progress
        first = True
        for raw in self._handle:
            count.line += 1
            count.done += len(raw)
            if first:
                first = False
                if raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
            if progress is not None and count.done - count.reported >= _PROGRESS_STEP:
                count.reported = count.done
                progress(self._phase, count.done, self.size)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UndecodableLine(count.line, exc) from None
        if progress is not None:
            progress(self._phase, self.size, self.size)

    def records(self) -> Iterator[tuple[int, list[str] | csv.Error]]:
        """(line where the record starts, its values) for every non-blank record, the header first.

        A malformed record yields the :class:`csv.Error` instead of values, so the caller can report it
        and go on. Raises :class:`UndecodableLine` at the first line that is not UTF-8.
        """
        reader = csv.reader(self._lines(), strict=True)
        end = 0  # the last physical line of the previous record
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, exc
                end = reader.line_num
                continue
            start, end = end + 1, reader.line_num
            # Spreadsheets often end with rows of empty cells; those are not records.
            if values and (values[0].strip() or any(v.strip() for v in values)):
                yield start, values
