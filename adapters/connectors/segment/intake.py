"""Storing Segment Spec calls as product events: what ``POST /api/v1/segment`` does once a request is
authenticated and parsed (:mod:`adapters.connectors.segment.spec`).

Every call of a request is stored in one transaction, committed before the answer goes back, so an
event that got a 200 survives a crash; a delivery Segment retries is recognised by its ``messageId`` and
stored once. What each call becomes:

- ``group``: the user now belongs to the account ``groupId`` names (remembered, so their later calls
  find it), and the call is kept when its traits give the licensed seats (``seats_trait``).
- ``track``, ``page``, ``screen``: kept when they are activity (``activity_events``) or name a mapped
  feature (``features``). The account is, in this order: the ``account_property`` of the call's
  properties when configured; the ``groupId`` of the user's group call in the same request, or the
  call's ``context.groupId``; the user's remembered group. An event whose account is not (yet) known
  is kept, waiting, and counted once the account exists (see :mod:`adapters.connectors.segment.counts`).
- ``identify``, ``alias`` and calls that are neither activity nor a feature: acknowledged, not kept.

An event that happened more than ``late_days`` before it arrived is acknowledged and not counted
(``late`` in the answer): the days it belongs to have been reported on. One that claims to happen later
than it arrived (a device clock ahead) is counted on the day it arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.connectors.segment.spec import SpecCall
from adapters.connectors.sources_config import SegmentConfig
from storage import product_events as store
from storage.connectors import accounts_by_external_id
from storage.db import Database

MAX_SEATS = 10_000_000.0
# A device clock may run a little ahead; beyond this an event's own time is not believed.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Intake:
    """What one request's calls became."""

    accepted: int  # stored now
    duplicates: int  # stored by an earlier delivery, or sent twice in this one
    late: int  # too old to count
    ignored: int  # nothing Touchpoint counts (identify, alias, events that are neither activity nor feature)
    waiting: int  # stored, their account not known yet

    def body(self) -> dict[str, int]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "late": self.late,
            "ignored": self.ignored,
            "waiting_for_account": self.waiting,
        }


def _seats(call: SpecCall, trait: str | None) -> float | None:
    if trait is None or call.type != "group":
        return None
    value = call.traits.get(trait)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if 0 <= number <= MAX_SEATS else None


def _key_of(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text[:255] or None


def _names_account(call: SpecCall, config: SegmentConfig) -> bool:
    prop = config.account_property
    return prop is not None and _key_of(call.properties.get(prop)) is not None


def _row(call: SpecCall, config: SegmentConfig, received: datetime, zone: ZoneInfo) -> dict[str, Any] | None:
    """The event row of ``call``, or None when nothing of it counts."""
    seats = _seats(call, config.seats_trait)
    activity = config.is_activity(call.type, call.event)
    feature = config.features.get(call.event) if call.event and call.type != "group" else None
    if not activity and feature is None and seats is None:
        return None
    happened = received if call.happened_at > received + CLOCK_SKEW else call.happened_at
    key = None
    if config.account_property is not None:
        key = _key_of(call.properties.get(config.account_property))
    if key is None:
        key = _key_of(call.group_id)
    return {
        "message_id": call.message_id,
        "received_at": received,
        "day": happened.astimezone(zone).date(),
        "user": call.user[:255],
        "account_key": key,
        "kind": call.type,
        "activity": activity,
        "feature": feature,
        "seats": seats,
        "counted": False,
    }


async def take_calls(
    db: Database,
    calls: Sequence[SpecCall],
    config: SegmentConfig,
    *,
    received: datetime,
    timezone: str,
) -> Intake:
    """Store what counts of ``calls`` (see the module docstring), all or nothing."""
    zone = ZoneInfo(timezone)
    oldest = received - timedelta(days=config.late_days)
    members: dict[str, str] = {}  # from this request's group calls, in order (the last one wins)
    for call in calls:
        if call.type == "group" and (key := _key_of(call.group_id)) is not None:
            members[call.user] = key
    rows_by_id: dict[str, dict[str, Any]] = {}
    kept = late = ignored = 0
    for call in calls:
        row = _row(call, config, received, zone)
        if row is None:
            ignored += 1
        elif call.happened_at < oldest:
            late += 1
        else:
            kept += 1
            if call.type != "group" and not _names_account(call, config):
                row["account_key"] = members.get(call.user) or row["account_key"]
            rows_by_id.setdefault(call.message_id, row)
    async with db.transaction() as session:
        seen = await store.stored_message_ids(session, rows_by_id)
        rows = [row for message_id, row in rows_by_id.items() if message_id not in seen]
        keyless = {row["user"] for row in rows if row["account_key"] is None}
        remembered = await store.accounts_of_users(session, keyless)
        for row in rows:
            if row["account_key"] is None:
                row["account_key"] = remembered.get(row["user"])
        keys = {row["account_key"] for row in rows if row["account_key"]}
        known = await accounts_by_external_id(session, keys)
        for row in rows:
            row["counted"] = row["account_key"] in known
        await store.remember_users(session, members, now=received)
        # Held from drawing the events' numbers to the commit, as briefly as that.
        await store.lock_arrival_order(session)
        await store.store_events(session, rows)
    return Intake(
        accepted=len(rows),
        duplicates=kept - len(rows),
        late=late,
        ignored=ignored,
        waiting=sum(1 for row in rows if not row["counted"]),
    )
