"""What every CRM sync holds: the database, its client and settings, the clock, the
:class:`AccountWriter` that writes its pages, who is told of progress, and what a dry run would write
back. A connector's sync says only what its CRM calls things (:meth:`CrmSync.vocabulary`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from adapters.connectors.crm.accounts import AccountWriter, Vocabulary
from adapters.connectors.crm.writeback import Fields
from storage.db import Database

ClientT = TypeVar("ClientT")
ConfigT = TypeVar("ConfigT")


class CrmSync(Generic[ClientT, ConfigT]):
    """The shared part of a connector's sync; ``progress`` is told of each page read."""

    connector: ClassVar[str]

    def __init__(
        self,
        db: Database,
        client: ClientT,
        config: ConfigT,
        *,
        clock: Callable[[], datetime],
        default_timezone: str = "UTC",
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self.db, self.client, self.config = db, client, config
        self._clock = clock
        self._progress = progress
        words = self.vocabulary(config)
        self.writer = AccountWriter(db, self.connector, words, clock=clock, default_timezone=default_timezone)
        self.planned: list[tuple[str, Fields]] = []  # what a dry run would write back

    def vocabulary(self, config: ConfigT) -> Vocabulary:
        """The CRM's names for an account's fields, from the settings."""
        raise NotImplementedError

    def now(self) -> datetime:
        return self._clock()

    def read(self, count: int) -> None:
        if self._progress is not None:
            self._progress(count)
