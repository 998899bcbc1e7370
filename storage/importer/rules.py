"""What the importer needs to know about the CS domain and cannot know by itself.

Storage stores; it does not score or measure. The caller (the composition root: the CLI, the ingest API,
the demo loader) passes these rules in through :class:`~storage.importer.base.ImportOptions`, and
:mod:`bot.core.import_rules` is the implementation Touchpoint uses. Without rules, comments are stored
unscored (``touchpoint sentiment backfill`` scores them later) and outcomes cannot be imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

# The tone of a text, -1 (negative) to +1 (positive); None for an empty text.
ToneScorer = Callable[[str | None], float | None]
# One account's metric values on a day: metric name -> value (None without data).
ValueOf = Callable[[str], float | None]


class OutcomeMetric(Protocol):
    """A metric a success-plan outcome can be measured on."""

    @property
    def label(self) -> str: ...

    @property
    def comparison(self) -> str: ...  # the default OutcomeComparison value

    @property
    def low(self) -> float | None: ...

    @property
    def high(self) -> float | None: ...

    def allows(self, value: float) -> bool: ...


class OutcomeRules(Protocol):
    """The outcome metrics and their values today: an imported outcome's baseline is the metric's value
    on the day it is defined."""

    @property
    def metrics(self) -> Mapping[str, OutcomeMetric]: ...

    async def values_on(
        self, session: AsyncSession, day: date, account_ids: Sequence[int]
    ) -> Mapping[int, ValueOf]: ...


class ImportRules(Protocol):
    @property
    def tone(self) -> ToneScorer: ...

    @property
    def outcomes(self) -> OutcomeRules: ...
