"""Counting stored product events into the daily usage metrics the health engine reads.

One run (``touchpoint sync segment``, and every ``[connectors.segment] every`` under ``serve``):

1. Events waiting for their account get what is known now (a user's later ``group`` call, an account
   created since) and the ones whose account exists join the count.
2. The (account, day) pairs to work out: those of events that arrived since the last run; on a new day
   also every account with events in the last 30 days, so a day without events is counted as 0 and
   features adopted move out of the window. A full run works out every stored day.
3. For each such account, from its earliest changed day to today: ``active_users`` (distinct users with
   activity that day), ``features_adopted`` (distinct mapped features used in the 30 days ending that
   day) and ``features_available`` when features are mapped, ``licensed_seats`` from the latest
   ``group`` call that gave them. Written as ``usage_metric`` rows like a CSV import's, so the sources
   mix: a later import of the same account, day and metric overwrites, and the other way round.
4. Once a day, events older than every window (30 days of features plus ``late_days``) are deleted,
   and waiting ones after ``unknown_days``.

Reading never holds a write lock (SQLite lets the intake go on meanwhile); the usage rows are written
in short transactions of a few hundred accounts, then the position is saved. A run that dies is
repeated from the last saved position: working a day out twice writes the same rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.connectors.runs import Lease, SyncTally
from adapters.connectors.sources_config import SegmentConfig
from storage import connectors as cursors
from storage import product_events as store
from storage.db import Database
from storage.models import UsageMetric
from storage.upsert import upsert

NAME = "segment"
STREAM = "events"
FEATURE_DAYS = 30
ACCOUNTS_PER_WRITE = 250
REPORTED_WAITING = 50


def _position(raw: str | None) -> tuple[int, date | None]:
    if not raw:
        return 0, None
    try:
        value = json.loads(raw)
        return int(value["seq"]), date.fromisoformat(value["day"])
    except (ValueError, KeyError, TypeError):
        return 0, None


def _merge(into: dict[str, date], found: dict[str, date]) -> None:
    for key, day in found.items():
        into[key] = min(day, into.get(key, day))


def features_by_day(uses: list[tuple[date, str]], days: list[date]) -> dict[date, int]:
    """Distinct features used in the :data:`FEATURE_DAYS` days ending on each of ``days`` (ascending),
    from ``uses`` (day, feature) in day order: one pass with a sliding window."""
    window: Counter[str] = Counter()
    counts: dict[date, int] = {}
    enter = leave = 0
    for day in days:
        while enter < len(uses) and uses[enter][0] <= day:
            window[uses[enter][1]] += 1
            enter += 1
        start = day - timedelta(days=FEATURE_DAYS - 1)
        while leave < enter and uses[leave][0] < start:
            feature = uses[leave][1]
            window[feature] -= 1
            if window[feature] == 0:
                del window[feature]
            leave += 1
        counts[day] = len(window)
    return counts


def seats_by_day(history: list[tuple[date, float]], days: list[date]) -> dict[date, float]:
    """The seats of the latest group call on or before each of ``days``, where there was one."""
    seats: dict[date, float] = {}
    index, latest = 0, None
    for day in days:
        while index < len(history) and history[index][0] <= day:
            latest = history[index][1]
            index += 1
        if latest is not None:
            seats[day] = latest
    return seats


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class SegmentCounts:
    """The counting run of one install (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        config: SegmentConfig,
        *,
        clock: Callable[[], datetime],
        default_timezone: str,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self.db, self.config, self.clock = db, config, clock
        self.zone = ZoneInfo(default_timezone)
        self.progress = progress
        self.planned: list[tuple[str, dict[str, Any]]] = []

    def keep_days(self) -> int:
        return FEATURE_DAYS + self.config.late_days + 1

    async def run(self, tally: SyncTally, lease: Lease, *, full: bool, dry_run: bool) -> None:
        today = self.clock().astimezone(self.zone).date()
        oldest = today - timedelta(days=self.keep_days())
        async with self.db.sessions() as session:
            after, filled = _position(await cursors.cursor(session, NAME, STREAM))
            upto = await store.last_seq(session)
        dirty: dict[str, date] = {}
        if not dry_run:
            async with self.db.transaction() as session:
                _merge(dirty, await store.resolve_waiting(session))
        async with self.db.sessions() as session:
            if full or filled is None:
                _merge(dirty, await store.keys_since(session, oldest))
            else:
                _merge(dirty, await store.changed_keys(session, after, upto))
                if filled < today:
                    recent = await store.keys_since(session, today - timedelta(days=FEATURE_DAYS - 1))
                    _merge(dirty, {key: filled + timedelta(days=1) for key in recent})
            ids = await cursors.accounts_by_external_id(session, dirty)
        tally.add("read", len(dirty))
        keys = sorted(key for key in dirty if key in ids)
        done = 0
        for start in range(0, len(keys), ACCOUNTS_PER_WRITE):
            chunk = keys[start : start + ACCOUNTS_PER_WRITE]
            rows = await self._rows(chunk, {key: max(dirty[key], oldest) for key in chunk}, ids, today)
            tally.add("updated", len(rows))
            if not dry_run:
                async with self.db.transaction() as session:
                    await upsert(session, UsageMetric, rows, key=("account_id", "day", "metric"))
            else:
                self.planned.extend(("usage_metric", row) for row in rows[:100])
            done += len(chunk)
            await lease.renew()
            if self.progress is not None:
                self.progress(len(chunk))
        await self._report_waiting(tally, today)
        if dry_run:
            return
        async with self.db.transaction() as session:
            if filled is None or filled < today:
                purged, expired = await store.purge_events(
                    session, before=oldest, waiting_before=today - timedelta(days=self.config.unknown_days)
                )
                tally.add("archived", purged + expired)
            position = json.dumps({"seq": upto, "day": today.isoformat()})
            await cursors.save_cursor(session, NAME, STREAM, position, now=self.clock())

    async def _rows(
        self, keys: list[str], first: dict[str, date], ids: dict[str, int], today: date
    ) -> list[dict[str, Any]]:
        earliest = min(first.values())
        available = self.config.available() if self.config.features else None
        async with self.db.sessions() as session:
            active = await store.daily_active_users(session, keys, earliest, today)
            features = (
                await store.daily_features(session, keys, earliest - timedelta(days=FEATURE_DAYS - 1), today)
                if self.config.features
                else {}
            )
            seats = await store.seat_counts(session, keys, today)
        rows: list[dict[str, Any]] = []
        for key in keys:
            days = _days(first[key], today)
            account = ids[key]
            adopted = features_by_day(features.get(key, []), days) if self.config.features else {}
            seat_days = seats_by_day(seats.get(key, []), days)
            for day in days:
                rows.extend(
                    self._day_rows(account, day, active.get((key, day), 0), adopted, seat_days, available)
                )
        return rows

    @staticmethod
    def _day_rows(
        account: int,
        day: date,
        users: int,
        adopted: dict[date, int],
        seats: dict[date, float],
        available: int | None,
    ) -> Iterable[dict[str, Any]]:
        yield {"account_id": account, "day": day, "metric": "active_users", "value": float(users)}
        if day in adopted:
            yield {
                "account_id": account,
                "day": day,
                "metric": "features_adopted",
                "value": float(adopted[day]),
            }
        if available is not None:
            yield {
                "account_id": account,
                "day": day,
                "metric": "features_available",
                "value": float(available),
            }
        if day in seats:
            yield {"account_id": account, "day": day, "metric": "licensed_seats", "value": seats[day]}

    async def _report_waiting(self, tally: SyncTally, today: date) -> None:
        async with self.db.sessions() as session:
            waiting = await store.waiting_keys(session, REPORTED_WAITING)
        for key, events, first_day in waiting:
            tally.add("skipped", events)
            noun = "event" if events == 1 else "events"
            until = first_day + timedelta(days=self.config.unknown_days)
            if key is None:
                tally.problem(
                    "(users without a group call)",
                    "groupId",
                    f"{events} {noun} since {first_day}: their users made no group call, so their account "
                    f"is unknown; kept until {until}",
                )
            else:
                tally.problem(
                    key,
                    "groupId",
                    f"{events} {noun} since {first_day}: no account has this external id; kept until {until} "
                    "in case it is created",
                )
