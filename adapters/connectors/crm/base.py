"""What every CRM sync holds: the database, the clock, the :class:`AccountWriter` that writes its pages,
who is told of progress, and what a dry run would write back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.connectors.crm.accounts import AccountWriter, Vocabulary
from adapters.connectors.crm.writeback import Fields
from storage.db import Database


class CrmSync:
    """The shared part of a connector's sync; ``progress`` is told of each page read."""

    def __init__(
        self,
        db: Database,
        connector: str,
        words: Vocabulary,
        *,
        clock: Callable[[], datetime],
        default_timezone: str = "UTC",
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self.db = db
        self._clock = clock
        self._progress = progress
        self.writer = AccountWriter(db, connector, words, clock=clock, default_timezone=default_timezone)
        self.planned: list[tuple[str, Fields]] = []  # what a dry run would write back

    def now(self) -> datetime:
        return self._clock()

    def read(self, count: int) -> None:
        if self._progress is not None:
            self._progress(count)
