"""Building the bot: context plus every handler, ready for any adapter to call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.context import BotContext
from bot.core import Bot
from bot.registry import Registry
from bot.settings import Settings
from storage.db import Database


def build_bot(db: Database, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Bot:
    from handlers import register_all

    registry = Registry()
    register_all(registry)
    context = (
        BotContext(db=db, settings=settings)
        if clock is None
        else BotContext(db=db, settings=settings, clock=clock)
    )
    return Bot(context, registry)
