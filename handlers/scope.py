"""Whose accounts a list shows by default: a CSM their own, a manager their team's, an admin everyone's."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.context import BotContext
from bot.types import Actor
from storage.models import Person, Role


async def owner_scope(ctx: BotContext, actor: Actor) -> list[int] | None:
    """Person ids whose accounts ``actor`` looks after; None means every account (admins)."""
    if actor.role == Role.ADMIN:
        return None
    assert actor.person_id is not None
    if actor.role != Role.CS_MANAGER:
        return [actor.person_id]
    async with ctx.db.sessions() as session:
        reports = (
            await session.execute(select(Person.id).where(Person.manager_id == actor.person_id))
        ).scalars()
        return [actor.person_id, *reports]
