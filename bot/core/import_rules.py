"""The CS domain rules the importer needs (:mod:`storage.importer.rules`): the tone of a comment, the
metrics an outcome can be measured on, and their values on a day. Every caller that imports data (the
CLI, the ingest API, the demo loader, connectors) passes :data:`IMPORT_RULES` in its ``ImportOptions``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from bot.feedback.sentiment import score
from bot.health.load import Accounts, load_inputs
from bot.health.measures import METRICS, MetricSpec, current_value
from storage.importer.base import ImportOptions
from storage.importer.rules import ToneScorer, ValueOf


@dataclass(frozen=True, slots=True)
class HealthOutcomeRules:
    """Outcome metrics as the health engine measures them."""

    metrics: Mapping[str, MetricSpec]

    async def values_on(
        self, session: AsyncSession, day: date, account_ids: Sequence[int]
    ) -> Mapping[int, ValueOf]:
        loaded = await load_inputs(session, day, Accounts.of(list(account_ids)))
        return {inputs.account_id: partial(current_value, inputs) for inputs in loaded}


@dataclass(frozen=True, slots=True)
class DomainImportRules:
    tone: ToneScorer
    outcomes: HealthOutcomeRules


IMPORT_RULES = DomainImportRules(tone=score, outcomes=HealthOutcomeRules(METRICS))


def import_options(default_timezone: str = "UTC") -> ImportOptions:
    """Options for an import with Touchpoint's domain rules."""
    return ImportOptions(default_timezone=default_timezone, rules=IMPORT_RULES)
