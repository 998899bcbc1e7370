"""``import_file``: validate a whole CSV file, then write all of it in one transaction, or nothing.

Pass 1 (:mod:`storage.importer.scan`) reads the file once and validates every row; if anything is
wrong, nothing is written. Pass 2 reads the file again and upserts it in batches inside a single
transaction, together with the audit event, so even a database error half-way leaves the database as
it was.

Reading and validating run in a worker thread (batch by batch in pass 2) so a long import does not
stall other work on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from storage import audit
from storage.db import Database
from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.errors import MAX_REPORTED, ConcurrentChangeError, ImportDatabaseError, ProblemLog
from storage.importer.kinds.accounts import AccountsKind
from storage.importer.kinds.milestones import MilestonesKind
from storage.importer.kinds.outcomes import OutcomesKind
from storage.importer.kinds.people import PeopleKind
from storage.importer.kinds.surveys import SurveysKind
from storage.importer.kinds.usage import UsageKind
from storage.importer.reading import CsvFile, ProgressCallback
from storage.importer.scan import Rows, file_changed, scan_file
from storage.importer.write import Tally

KINDS: dict[str, type[Kind]] = {
    kind.name: kind
    for kind in (PeopleKind, AccountsKind, UsageKind, SurveysKind, MilestonesKind, OutcomesKind)
}

# Rows per write batch: large enough that round trips do not dominate, small enough to bound memory.
BATCH_ROWS = 5_000


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did. ``rows`` = ``inserted`` + ``updated`` + ``unchanged``."""

    kind: str
    file: str
    rows: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated

    def details(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def _batches(
    handler: Kind, path: Path, display: str, progress: ProgressCallback | None
) -> Generator[list[Record]]:
    """Pass 2: the records again, in batches. Any problem now means the file changed since pass 1."""
    log = ProblemLog(display, 1)
    batch: list[Record] = []
    with CsvFile(path, display, phase="writing", progress=progress) as csv_file:
        for _, record in Rows(handler, csv_file, log):
            if log:
                break
            batch.append(record)
            if len(batch) >= BATCH_ROWS:
                yield batch
                batch = []
    if log:
        raise file_changed(display)
    if batch:
        yield batch


async def import_file(
    db: Database,
    kind: str,
    path: str | PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    options: ImportOptions | None = None,
    actor_label: str = "cli",
    platform: str = "cli",
    max_problems: int = MAX_REPORTED,
) -> ImportResult:
    """Import the CSV file at ``path`` as ``kind`` (one of :data:`KINDS`): all rows or none.

    Raises :class:`ImportFileError` when the file cannot be read at all, :class:`ImportValidationError`
    listing the first ``max_problems`` problems when rows are wrong, and :class:`ImportDatabaseError`
    when the database refuses the writes; in every case nothing from the file is written.
    ``progress`` is called with (phase, bytes read, file size) as each pass advances.
    """
    kind_type = KINDS.get(kind)
    if kind_type is None:
        raise ValueError(f"unknown import kind {kind!r} (expected one of {', '.join(KINDS)})")
    path = Path(path)
    display = str(path)
    options = options or ImportOptions()
    async with db.sessions() as session:
        handler = await kind_type.load(session, options)
    scan = await asyncio.to_thread(scan_file, handler, path, display, progress, max_problems)

    tally = Tally()
    written = 0
    try:
        async with db.transaction() as session:
            with closing(_batches(handler, path, display, progress)) as batches:
                while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                    step = await handler.write(session, batch, scan.header.present)
                    written += len(batch)
                    tally.inserted += step.inserted
                    tally.changed += step.changed
            step = await handler.finish_write(session)
            tally.inserted += step.inserted
            tally.changed += step.changed
            if written != scan.rows:
                raise file_changed(display)
            result = ImportResult(kind, display, written, tally.inserted, tally.changed)
            audit.record(
                session,
                action="import",
                object_type=kind,
                object_id=path.name[:128],
                platform=platform,
                actor_label=actor_label,
                details=result.details(),
            )
    except ConcurrentChangeError as exc:
        raise ImportDatabaseError(f"{display}: {exc}; nothing was imported") from exc
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ImportDatabaseError(
            f"{display}: the database refused the import, nothing was imported: {reason}"
        ) from exc
    return result
