"""Importing a list of records (the JSON ingest API): the same validation and writers as a CSV file.

:func:`prepare_records` validates every record (by its index in the list) with the kind's
:meth:`Kind.validate`, finds duplicate natural keys and runs the kind's cross-record rules; when
anything is wrong it raises :class:`RecordsValidationError` with every problem. :func:`write_records`
then upserts them in the caller's transaction, so the caller can add its own rows (an idempotency
record) to the same commit. Accounts written this way keep their ARR history with the source "api".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.arr_history import ArrSource
from storage.db import Database
from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.errors import ImportFailedError
from storage.importer.kinds.accounts import AccountsKind
from storage.importer.run import KINDS, ImportResult
from storage.importer.write import Tally


@dataclass(frozen=True, slots=True, order=True)
class RecordProblem:
    """One thing wrong with the record at ``index`` (0-based); ``field`` None for the whole record."""

    index: int
    field: str | None
    problem: str


class RecordsValidationError(ImportFailedError):
    """Records are wrong; ``problems`` lists every problem, by index."""

    def __init__(self, problems: list[RecordProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.index)
        super().__init__(f"{len(problems)} problem(s) in the records")


@dataclass(frozen=True, slots=True)
class PreparedRecords:
    """Valid records of one kind, grouped by the set of fields they gave (writers update only those)."""

    handler: Kind
    groups: tuple[tuple[frozenset[str], tuple[Record, ...]], ...]
    count: int


def validate_records(
    handler: Kind, rows: Sequence[Mapping[str, object]], *, problems: list[RecordProblem] | None = None
) -> PreparedRecords:
    """Validate ``rows`` with ``handler``; raise :class:`RecordsValidationError` listing every problem.

    ``problems`` are problems the caller already found (by index, e.g. the request shape); those rows
    are skipped here but still make the whole batch fail.
    """
    found = list(problems or ())
    skipped = {p.index for p in found}
    accepted = set(handler.columns())
    first_seen: dict[tuple[str, str], int] = {}
    groups: dict[frozenset[str], list[Record]] = {}
    count = 0
    for index, row in enumerate(rows):
        if index in skipped:
            continue
        unknown = [name for name in row if name not in accepted]
        for name in unknown:
            found.append(RecordProblem(index, name, "unknown field"))
        result = handler.validate(row)
        if isinstance(result, list):
            found.extend(RecordProblem(index, column, message) for column, message in result)
            continue
        if unknown:
            continue
        duplicate = False
        for columns, value in handler.keys(result):
            earlier = first_seen.setdefault((columns, value), index)
            if earlier != index:
                found.append(RecordProblem(index, columns, f"duplicate of record {earlier}"))
                duplicate = True
        for column, message in handler.check_file(index, result):
            found.append(RecordProblem(index, column, message))
        if not duplicate:
            present = frozenset(name for name in row if name in accepted)
            groups.setdefault(present, []).append(result)
            count += 1
    found.extend(RecordProblem(index, column, message) for index, column, message in handler.check_end())
    if found:
        raise RecordsValidationError(found)
    return PreparedRecords(
        handler=handler,
        groups=tuple((present, tuple(records)) for present, records in groups.items()),
        count=count,
    )


async def load_kind(db: Database, kind: str, options: ImportOptions | None = None) -> Kind:
    """The kind's handler with its look-ups read from the database."""
    kind_type = KINDS.get(kind)
    if kind_type is None:
        raise ValueError(f"unknown import kind {kind!r} (expected one of {', '.join(KINDS)})")
    async with db.sessions() as session:
        return await kind_type.load(session, options or ImportOptions())


async def write_records(
    session: AsyncSession,
    prepared: PreparedRecords,
    *,
    source: str,
    actor_label: str,
    platform: str = "api",
    today: date | None = None,
) -> ImportResult:
    """Upsert the prepared records in ``session`` (the caller's transaction) with an audit event.

    ``today`` is the day ARR changes are recorded on (default: today in UTC).
    """
    handler = prepared.handler
    tally = Tally()
    for present, records in prepared.groups:
        if isinstance(handler, AccountsKind):
            step = await handler.write_recording_arr(session, records, source=ArrSource.API, day=today)
        else:
            step = await handler.write(session, records, present)
        tally.inserted += step.inserted
        tally.changed += step.changed
    step = await handler.finish_write(session)
    tally.inserted += step.inserted
    tally.changed += step.changed
    result = ImportResult(handler.name, source, prepared.count, tally.inserted, tally.changed)
    audit.record(
        session,
        action="import",
        object_type=handler.name,
        object_id=source[:128],
        platform=platform,
        actor_label=actor_label,
        details=result.details(),
    )
    return result
