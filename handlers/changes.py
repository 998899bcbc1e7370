"""Shared steps of every change a person makes to an account's follow-ups or milestones:
load the account's people, check the permission again, and write the audit event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.permissions import require_change_account
from bot.errors import NotFound
from bot.types import Actor
from storage import audit, queries
from storage.queries import AccountRow


async def account_for_change(session: AsyncSession, actor: Actor, account_id: int) -> AccountRow:
    """The account, once ``actor`` is confirmed to be allowed to change it."""
    account = await queries.account_by_id(session, account_id)
    if account is None:
        raise NotFound("That account no longer exists.")
    require_change_account(
        actor, owner_id=account.owner_id, owner_manager_id=account.owner_manager_id, account_name=account.name
    )
    return account


def audit_change(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    object_type: str,
    object_id: int,
    details: dict[str, Any],
) -> None:
    audit.record(
        session,
        action=action,
        object_type=object_type,
        object_id=object_id,
        platform=actor.platform.value,
        actor_id=actor.person_id,
        actor_label=actor.email or actor.platform_user_id,
        details=details,
    )
