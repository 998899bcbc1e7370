"""Who a scheduled message goes to: a person's direct address on their platform, and their working hours.

A person with a Slack user id gets a Slack DM (the Slack sender opens the DM from the user id). A person
known only to Teams gets ``person:{id}``: the Teams sender resolves their stored personal conversation
by person id. Anyone else is unreachable, and callers report them to the admins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.log import get_logger
from bot.types import Address, Platform
from storage.db import Database
from storage.models import Person

log = get_logger("touchpoint.recipients")

TEAMS_PERSON_PREFIX = "person:"
CHUNK = 1000


def address_for(person_id: int, slack_user_id: str | None, teams_user_id: str | None) -> Address | None:
    """The direct address of one person, or None when they are on neither platform."""
    if slack_user_id:
        return Address(platform=Platform.SLACK, target=slack_user_id, user=slack_user_id)
    if teams_user_id:
        return Address(
            platform=Platform.TEAMS, target=f"{TEAMS_PERSON_PREFIX}{person_id}", user=teams_user_id
        )
    return None


@dataclass(frozen=True, slots=True)
class Recipients:
    """Addresses of the people that can be reached, and the ids of those that cannot (or do not exist)."""

    addresses: dict[int, Address] = field(default_factory=dict)
    unreachable: tuple[int, ...] = ()


@asynccontextmanager
async def _reading(target: Database | AsyncSession) -> AsyncIterator[AsyncSession]:
    if isinstance(target, AsyncSession):
        yield target
    else:
        async with target.sessions() as session:
            yield session


async def resolve_recipients(target: Database | AsyncSession, person_ids: Iterable[int]) -> Recipients:
    """Addresses for ``person_ids`` in a query per thousand ids; unreachable ones are logged."""
    ids = sorted(set(person_ids))
    addresses: dict[int, Address] = {}
    found: set[int] = set()
    async with _reading(target) as session:
        for i in range(0, len(ids), CHUNK):
            rows = await session.execute(
                select(Person.id, Person.slack_user_id, Person.teams_user_id).where(
                    Person.id.in_(ids[i : i + CHUNK])
                )
            )
            for person_id, slack_user_id, teams_user_id in rows:
                found.add(person_id)
                address = address_for(person_id, slack_user_id, teams_user_id)
                if address is not None:
                    addresses[person_id] = address
    unreachable = tuple(i for i in ids if i not in addresses)
    for person_id in unreachable:
        log.warning(
            "recipient_unreachable",
            person_id=person_id,
            reason="no Slack or Teams identity" if person_id in found else "no such person",
        )
    return Recipients(addresses, unreachable)


async def person_addresses(target: Database | AsyncSession, person_ids: Iterable[int]) -> dict[int, Address]:
    """Addresses of the reachable people among ``person_ids`` (:func:`resolve_recipients` tells the rest)."""
    return (await resolve_recipients(target, person_ids)).addresses


# --------------------------------------------------------------------------------------- working hours


def zone_of(name: str | None, *, fallback: str = "UTC") -> tzinfo:
    """The time zone called ``name``; ``fallback`` (logged) when it is empty or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("unknown_timezone", timezone=name, fallback=fallback)
    return ZoneInfo(fallback)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """When a person may be pinged, in their own time zone: ``start`` <= time < ``end`` on ``weekdays``
    (0 = Monday)."""

    start: time = time(8, 0)
    end: time = time(18, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(f"working hours start ({self.start}) must be before their end ({self.end})")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(f"working days must be weekday numbers 0-6, not {sorted(self.weekdays)}")

    def is_open(self, local: datetime) -> bool:
        return local.weekday() in self.weekdays and self.start <= local.time().replace(tzinfo=None) < self.end

    def next_open(self, now: datetime, zone: tzinfo) -> datetime:
        """``now`` when it is inside working hours in ``zone``, else the next start of working hours."""
        local = now.astimezone(zone)
        if self.is_open(local):
            return now
        day = local.date()
        if local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        while day.weekday() not in self.weekdays:
            day += timedelta(days=1)
        # Built in the zone, then normalised: a start inside a DST gap lands just after it.
        start = datetime.combine(day, self.start, tzinfo=zone)
        return start.astimezone(now.tzinfo) if now.tzinfo is not None else start


DEFAULT_WORKING_HOURS = WorkingHours()


def local_days(
    people: Sequence[tuple[int, str | None]], now: datetime, hours: WorkingHours | None
) -> dict[int, datetime]:
    """Person id -> local time now, for the people inside working hours (everyone when ``hours`` is None)."""
    result: dict[int, datetime] = {}
    zones: dict[str | None, tzinfo] = {}
    for person_id, zone_name in people:
        zone = zones.get(zone_name)
        if zone is None:
            zone = zones[zone_name] = zone_of(zone_name)
        local = now.astimezone(zone)
        if hours is None or hours.is_open(local):
            result[person_id] = local
    return result
