"""What handlers build per account and day, kept in this process while the database says it is current.

A value (an account card, say) is kept with the change stamp taken just before it was built
(:mod:`storage.changes`). Serving it again costs one small query: whether anything it was built from
changed since, on any replica and through any way in (chat, imports, the API, the recompute, SQL). If
something did, it is built again. Values are kept per (account, day), since what a card says depends on
the reader's day; at most :data:`SIZE` of them, the least recently used dropped first, and none longer
than :data:`~storage.changes.MAX_STAMP_AGE`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from storage import changes
from storage.db import Database

V = TypeVar("V")
SIZE = 4096


@dataclass(frozen=True, slots=True)
class Built(Generic[V]):
    """A value built, and whether it may be kept (not when it rests on something the marks do not
    cover, such as a health computed on the fly from the configuration of this process)."""

    value: V
    keep: bool = True


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    stamp: changes.Stamp
    built_at: float  # time.monotonic()
    value: V


class AccountCache(Generic[V]):
    def __init__(self, db: Database, size: int = SIZE) -> None:
        self._db = db
        self._size = size
        self._entries: OrderedDict[tuple[int, date], _Entry[V]] = OrderedDict()
        self.hits = self.misses = 0

    async def get(self, account_id: int, day: date, build: Callable[[], Awaitable[Built[V]]]) -> V:
        key = (account_id, day)
        topics = changes.account_topics(account_id)
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry.built_at > changes.MAX_STAMP_AGE.total_seconds():
            entry = None
        async with self._db.sessions() as session:
            current, stamp = await changes.check(session, topics, entry.stamp if entry else None)
        if entry is not None and current:
            self.hits += 1
            self._entries.move_to_end(key)
            return entry.value
        self.misses += 1
        self._entries.pop(key, None)
        built = await build()
        if built.keep:
            self._entries[key] = _Entry(stamp, time.monotonic(), built.value)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return built.value
