"""Running one sync of a connector: alone across every replica, reported, never half-counted.

:func:`run_sync` takes the connector's lease (:func:`storage.connectors.take_lease`) or refuses with
:class:`SyncBusy`, records a :class:`storage.models.SyncRun`, runs the connector's work with a
:class:`SyncTally` to count into and a :class:`Lease` to renew after each page, and stores the
report however the work ends. What a page wrote stays written when a later page fails: each page
is its own transaction with its cursor, so the next run resumes after it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.connectors.errors import ConnectorError
from bot.log import get_logger
from storage import connectors as store
from storage.db import Database
from storage.models import SyncStatus

log = get_logger("touchpoint.connectors")

LEASE = timedelta(minutes=5)
KEPT_PROBLEMS = 50
COUNTS = ("read", "created", "updated", "unchanged", "skipped", "archived", "merged")

Clock = Callable[[], datetime]


class SyncBusy(ConnectorError):
    """Another sync of the same connector holds the lease."""


@dataclass(slots=True)
class SyncTally:
    """What one run read and did; the last :data:`KEPT_PROBLEMS` problems (record id, field, problem)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    problems: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=KEPT_PROBLEMS))
    problem_total: int = 0

    def add(self, name: str, count: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + count

    def problem(self, record: str, field_name: str, problem: str) -> None:
        self.problems.append({"record": record, "field": field_name, "problem": problem})
        self.problem_total += 1


class Lease:
    """The connector's lease held by this run; :meth:`renew` after each page keeps it."""

    def __init__(self, db: Database, connector: str, holder: str, clock: Clock, length: timedelta) -> None:
        self._db, self.connector, self.holder, self._clock, self._length = (
            db,
            connector,
            holder,
            clock,
            length,
        )

    async def renew(self) -> None:
        ok = await store.renew_lease(
            self._db, self.connector, holder=self.holder, now=self._clock(), lease=self._length
        )
        if not ok:
            raise SyncBusy(
                f"{self.connector}: the sync lost its lease to another run and stopped", system=self.connector
            )


def new_holder() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    status: SyncStatus
    tally: SyncTally
    seconds: float
    error: str | None


Work = Callable[[SyncTally, Lease], Awaitable[None]]


async def run_sync(
    db: Database,
    connector: str,
    work: Work,
    *,
    full: bool,
    dry_run: bool,
    clock: Clock,
    holder: str | None = None,
    lease: timedelta = LEASE,
) -> SyncOutcome:
    """Run ``work`` as one sync of ``connector``; raise :class:`SyncBusy` when another holds it.

    A :class:`ConnectorError` (credentials refused, a limit reached) ends the run as failed with its
    message in the report; any other error too, with its type, and is raised again after the report is
    stored, so nothing fails silently.
    """
    holder = holder or new_holder()
    started = clock()
    if not await store.take_lease(db, connector, holder=holder, now=started, lease=lease):
        raise SyncBusy(
            f"a {connector} sync is already running; try again when it has finished", system=connector
        )
    tally = SyncTally()
    run_id = await store.start_run(db, connector, full=full, dry_run=dry_run, now=started)
    status, error, raised = SyncStatus.OK, None, None
    try:
        await work(tally, Lease(db, connector, holder, clock, lease))
    except ConnectorError as exc:
        status, error = SyncStatus.FAILED, str(exc)
    except Exception as exc:
        status, error, raised = SyncStatus.FAILED, f"unexpected error ({type(exc).__name__})", exc
    finally:
        finished = clock()
        await store.finish_run(
            db,
            run_id,
            status=status,
            now=finished,
            counts={**tally.counts, "problems": tally.problem_total},
            problems=list(tally.problems),
            error=error,
        )
        await store.release_lease(db, connector, holder=holder, now=finished)
    log.info(
        "sync_finished", connector=connector, status=status.value, full=full, dry_run=dry_run, **tally.counts
    )
    if raised is not None:
        raise raised
    return SyncOutcome(status, tally, (finished - started).total_seconds(), error)
