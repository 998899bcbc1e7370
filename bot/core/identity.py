"""Who is asking: platform identities resolved to people.

A person is matched by their Slack or Teams user id first, then by email when the adapter could find
one (Slack's users.info, Teams' member lookup); an email match stores the platform id on the person so
the next request is matched directly.
"""

from __future__ import annotations

from sqlalchemy import select, update

from bot.types import Actor, Platform
from storage.db import Database
from storage.models import Person

_ID_COLUMN = {
    Platform.SLACK: Person.slack_user_id,
    Platform.TEAMS: Person.teams_user_id,
}


def actor_from_person(person: Person, platform: Platform, platform_user_id: str) -> Actor:
    return Actor(
        platform=platform,
        platform_user_id=platform_user_id,
        person_id=person.id,
        email=person.email,
        name=person.name,
        role=person.role,
        manager_id=person.manager_id,
        timezone=person.timezone,
    )


async def find_by_platform_id(db: Database, platform: Platform, platform_user_id: str) -> Actor | None:
    column = _ID_COLUMN.get(platform)
    if column is None:
        return None
    async with db.sessions() as session:
        person = (
            await session.execute(select(Person).where(column == platform_user_id))
        ).scalar_one_or_none()
    return actor_from_person(person, platform, platform_user_id) if person else None


async def find_by_email(
    db: Database, platform: Platform, email: str, platform_user_id: str = ""
) -> Actor | None:
    """The person with ``email``; for Slack and Teams their platform id is remembered for next time."""
    column = _ID_COLUMN.get(platform)
    async with db.transaction() as session:
        person = (
            await session.execute(select(Person).where(Person.email == email.strip().lower()))
        ).scalar_one_or_none()
        if person is None:
            return None
        if column is not None and platform_user_id and getattr(person, column.key) != platform_user_id:
            holder = (
                await session.execute(select(Person.id).where(column == platform_user_id))
            ).scalar_one_or_none()
            # Another person already holding this platform id keeps it: never steal an identity.
            if holder is None:
                await session.execute(
                    update(Person).where(Person.id == person.id).values({column.key: platform_user_id})
                )
        return actor_from_person(person, platform, platform_user_id or email)


async def resolve(
    db: Database, platform: Platform, platform_user_id: str, *, email: str | None = None
) -> Actor:
    """The actor behind a platform identity; unknown people come back unregistered (no person id)."""
    actor = await find_by_platform_id(db, platform, platform_user_id)
    if actor is None and email:
        actor = await find_by_email(db, platform, email, platform_user_id)
    return actor or Actor(platform=platform, platform_user_id=platform_user_id, email=email)
