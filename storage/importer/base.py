"""What every importable kind provides, so the CSV importer (and later the JSON ingest API) can drive
them all the same way.

A kind is built for one import with :meth:`Kind.load`, which reads the look-ups its rows refer to
(accounts by external id, people by email). Then:

* :meth:`Kind.validate` turns one mapping of field -> raw value into a clean record, or a list of
  (column, problem). It looks at nothing but that row and the look-ups, so it serves CSV rows and JSON
  objects alike; the caller decides whether a problem is placed by line or by index.
* :meth:`Kind.keys` gives the values that must be unique within one file (the natural key and any
  other unique column); the driver detects duplicates from compact hashes of them.
* :meth:`Kind.check_file` / :meth:`Kind.check_end` are for rules that span rows (a manager defined
  further down the file). Most kinds have none.
* :meth:`Kind.write` upserts a batch; :meth:`Kind.finish_write` runs once after the last batch.

Records are dicts keyed by column of the kind's table (plus a few helper keys a writer consumes).
An optional field absent from the input is absent from the record, so writers only overwrite the
columns the file has: a column that is present but empty is written as empty (the file is the truth
for what it contains), a column that is absent leaves existing values alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer.errors import FieldProblem
from storage.importer.fields import Field, FieldError, parse_record, timezone
from storage.importer.rules import ImportRules
from storage.importer.write import Tally

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """Choices that come from the caller's settings rather than the file, and the domain rules
    (:mod:`storage.importer.rules`) that the caller supplies."""

    default_timezone: str = "UTC"
    rules: ImportRules | None = None
    now: datetime | None = None  # the moment of the import; the wall clock when None

    def __post_init__(self) -> None:
        try:
            timezone(self.default_timezone)
        except FieldError as exc:
            raise ValueError(str(exc)) from None


class Kind(ABC):
    """One importable kind of data. Subclasses set the class attributes and implement the hooks."""

    name: ClassVar[str]
    required: ClassVar[tuple[str, ...]]
    optional: ClassVar[tuple[str, ...]] = ()

    def __init__(self, fields: tuple[Field, ...]) -> None:
        self.fields = fields

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """Every column the kind accepts, required ones first."""
        return cls.required + cls.optional

    @classmethod
    @abstractmethod
    async def load(cls, session: AsyncSession, options: ImportOptions) -> Self:
        """The kind, ready to validate: look-ups read from the database."""

    def validate(self, row: Mapping[str, object]) -> Record | list[FieldProblem]:
        """A clean record from ``row`` (field -> string or value), or what is wrong with it."""
        values, problems = parse_record(self.fields, row)
        if problems:
            return problems
        return self.complete(values)

    def complete(self, values: Record) -> Record | list[FieldProblem]:
        """Rules between fields of one row, and derived columns; ``values`` all parsed."""
        return values

    @abstractmethod
    def keys(self, record: Record) -> list[tuple[str, str]]:
        """(columns, value) per uniqueness rule: no two records of one file may share a value.

        ``columns`` names the rule in messages ("email"); ``value`` is a canonical string of the key.
        """

    def check_file(self, line: int, record: Record) -> list[FieldProblem]:
        """Rules spanning rows, fed every valid record of the file in order. None by default."""
        return []

    def check_end(self) -> list[tuple[int, str, str]]:
        """Problems (line, column, problem) only known once the whole file was seen."""
        return []

    @abstractmethod
    async def write(self, session: AsyncSession, records: Sequence[Record], present: frozenset[str]) -> Tally:
        """Upsert one batch. ``present`` holds the input fields given (the CSV header's known columns)."""

    async def finish_write(self, session: AsyncSession) -> Tally:
        """Work after the last batch (links between records). Nothing by default."""
        return Tally()
