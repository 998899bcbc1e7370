"""Who may do what. Everyone registered may read; changes are for the account's people.

These checks run on every request, including button clicks: a button's payload names an object, it
grants nothing.
"""

from __future__ import annotations

from bot.errors import NotAllowed, NotRegistered
from bot.types import Actor
from storage.models import Role


def require_registered(actor: Actor) -> None:
    if not actor.is_registered:
        raise NotRegistered()


def can_change_account(actor: Actor, *, owner_id: int | None, owner_manager_id: int | None) -> bool:
    """The account's owner, the owner's manager, and admins may change its follow-ups and milestones."""
    if actor.role == Role.ADMIN:
        return True
    if actor.person_id is None:
        return False
    return actor.person_id in {owner_id, owner_manager_id} - {None}


def require_change_account(
    actor: Actor, *, owner_id: int | None, owner_manager_id: int | None, account_name: str
) -> None:
    if not can_change_account(actor, owner_id=owner_id, owner_manager_id=owner_manager_id):
        raise NotAllowed(
            f"Only the owner of {account_name}, their manager, or an admin can change its follow-ups "
            "and milestones."
        )


def can_manage_settings(actor: Actor) -> bool:
    return actor.role in (Role.CS_MANAGER, Role.ADMIN)


def require_manage_settings(actor: Actor) -> None:
    if not can_manage_settings(actor):
        raise NotAllowed("Only CS managers and admins can change settings.")
