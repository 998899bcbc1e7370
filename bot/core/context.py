"""What a handler can reach: the database, the clock, settings and shared caches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.ask.model_reader import ModelReader, model_reader_from
from bot.channels.privacy import SharingCheck
from bot.core.cache import AccountCache
from bot.core.lookup import AccountIndex
from bot.health.model import HealthModel, load_health_model
from bot.settings import Settings
from bot.types import Actor, Platform
from storage.db import Database


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class BotContext:
    db: Database
    settings: Settings
    clock: Callable[[], datetime] = _utcnow
    health_model: HealthModel | None = None
    accounts: AccountIndex = field(init=False)
    caches: dict[str, AccountCache[Any]] = field(init=False, default_factory=dict)
    # The actions the running bot answers, so replies only offer buttons that work.
    registry_actions: frozenset[str] = frozenset()
    # Called after digest subscriptions change; the running scheduler sets it to re-read its jobs now.
    subscriptions_changed: Callable[[], None] = field(default=lambda: None)
    # How each platform tells whether a channel is shared with another organisation (set by the adapters).
    sharing_checks: dict[Platform, SharingCheck] = field(default_factory=dict)
    # The language model that reads ``ask`` questions, when TOUCHPOINT_LLM_URL and _MODEL are set; None
    # reads them with the deterministic reader alone. Built from the settings unless given.
    model_reader: ModelReader | None = None

    def __post_init__(self) -> None:
        self.accounts = AccountIndex(self.db)
        if self.health_model is None:
            self.health_model = load_health_model(self.settings.config_file)
        if self.model_reader is None:
            self.model_reader = model_reader_from(self.settings)

    def cache(self, name: str) -> AccountCache[Any]:
        """The cache ``name`` of what handlers build per account and day (see :mod:`bot.core.cache`)."""
        if name not in self.caches:
            self.caches[name] = AccountCache(self.db)
        return self.caches[name]

    def now(self) -> datetime:
        return self.clock()

    def today(self, actor: Actor | None = None) -> date:
        """Today in the actor's time zone (or the default zone): due dates are calendar days for people."""
        return self.local_date(self.now(), actor)

    def local_date(self, moment: datetime, actor: Actor | None = None) -> date:
        """The calendar day ``moment`` falls on for the actor (their time zone, else the default zone)."""
        zone = actor.timezone if actor is not None else self.settings.default_timezone
        try:
            return moment.astimezone(ZoneInfo(zone)).date()
        except (KeyError, ValueError):
            return moment.astimezone(ZoneInfo(self.settings.default_timezone)).date()
