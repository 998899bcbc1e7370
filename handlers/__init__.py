"""What the bot does: one module per area (accounts, follow-ups, milestones, feedback, plans, digests,
time to value, retention, paging, home, CRM sync status, the timeline, following, questions in plain
words). Each module's ``register(registry)`` adds its commands and buttons; :func:`build_bot` puts the
core and every handler together, ready for any adapter to call.

An area too big for one module keeps its command and ``register`` in the area module and puts its parts
next to it, named after it (``feedback_send``, ``plans_card``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.core.context import BotContext
from bot.core.dispatch import Bot
from bot.core.registry import Registry
from bot.settings import Settings
from handlers import (
    accounts,
    ask,
    digests,
    feedback,
    follow,
    followups,
    home,
    milestones,
    paging,
    plans,
    retention,
    sync_status,
    timeline,
    ttv,
)
from storage.db import Database


def register_all(registry: Registry) -> None:
    """Every command and action Touchpoint answers."""
    for module in (
        accounts,
        ask,
        followups,
        milestones,
        home,
        paging,
        digests,
        feedback,
        plans,
        ttv,
        retention,
        sync_status,
        timeline,
        follow,
    ):
        module.register(registry)


def build_bot(db: Database, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Bot:
    registry = Registry()
    register_all(registry)
    context = (
        BotContext(db=db, settings=settings)
        if clock is None
        else BotContext(db=db, settings=settings, clock=clock)
    )
    return Bot(context, registry)
