"""What goes wrong in an import, and how it is reported.

Every problem points at a place in the file: ``FILE:LINE: column: problem``, or ``FILE:LINE: problem``
when no single column is to blame (a malformed row, bytes that are not UTF-8). Only the first
:data:`MAX_REPORTED` problems (by line) are kept; the rest are only counted, so a file where every
one of a million rows is wrong still costs bounded memory.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

MAX_REPORTED = 50

# (column, problem): what a row validator returns for each thing wrong with one record.
FieldProblem = tuple[str, str]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with the file, at a physical line (the header is line 1)."""

    line: int
    column: str | None
    message: str
    file: str = field(default="", compare=False)

    def __str__(self) -> str:
        if self.column is None:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}:{self.line}: {self.column}: {self.message}"


class ImportFailedError(Exception):
    """Base of every import failure: nothing from the file was written."""


class ImportFileError(ImportFailedError):
    """The file as a whole cannot be imported (missing, empty, unreadable, changed while importing).

    The message is one line, starting with the file name.
    """


class ImportDatabaseError(ImportFailedError):
    """The database refused a write; the transaction was rolled back, so nothing was written."""


class ConcurrentChangeError(Exception):
    """Something pass 1 relied on changed in the database before pass 2 wrote (a person was deleted).

    Raised by writers inside the import transaction; the importer turns it into an
    :class:`ImportDatabaseError` naming the file.
    """


class ImportValidationError(ImportFailedError):
    """Rows of the file are wrong. ``problems`` holds the first ones by line, ``total`` counts all."""

    def __init__(self, problems: list[Problem], total: int) -> None:
        self.problems = problems
        self.total = total
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """The report: one line per kept problem, then ``... and N more problems`` when some were cut."""
        out = [str(p) for p in self.problems]
        hidden = self.total - len(self.problems)
        if hidden > 0:
            out.append(f"... and {hidden:,} more problem{'s' if hidden != 1 else ''}")
        return out


class ProblemLog:
    """Keeps the ``limit`` problems with the lowest line numbers and counts all of them.

    Problems found after the scan (references to rows further down the file) can arrive out of line
    order; the heap keeps the report sorted by line regardless.
    """

    def __init__(self, file: str, limit: int = MAX_REPORTED) -> None:
        self.file = file
        self.limit = limit
        self.total = 0
        self._heap: list[tuple[int, int, Problem]] = []  # (-line, -sequence, problem): a max-heap
        self._sequence = 0

    def add(self, line: int, column: str | None, message: str, *, first: bool = False) -> Problem | None:
        """Count a problem; return it when it is (for now) among the kept ones.

        ``first`` puts it before the problems of the same line found earlier: duplicates are only
        known once the whole file was read, but they are the first thing wrong with their line.
        """
        self.total += 1
        self._sequence += 1
        sequence = self._sequence - (1 << 62 if first else 0)
        problem = Problem(line, column, message, self.file)
        entry = (-line, -sequence, problem)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, entry)
        elif self._heap and entry > self._heap[0]:
            heapq.heapreplace(self._heap, entry)
        else:
            return None
        return problem

    def extend(self, line: int, problems: list[FieldProblem]) -> None:
        for column, message in problems:
            self.add(line, column, message)

    def count(self, problems: int) -> None:
        """Count problems that cannot be among the kept ones (there are enough before them)."""
        self.total += problems

    def __bool__(self) -> bool:
        return self.total > 0

    def kept(self) -> list[Problem]:
        """The kept problems, by line, in the order they were found within a line."""
        return [p for _, _, p in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]

    def error(self) -> ImportValidationError:
        return ImportValidationError(self.kept(), self.total)
