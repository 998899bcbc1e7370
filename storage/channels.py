"""Channel follows and admins' allowances for shared channels, read and written.

A channel is named by its platform and conversation id (a Slack channel id, a Teams conversation id
without its thread). Following is idempotent: following twice keeps the first row and says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, ChannelAllowance, ChannelFollow, Person


@dataclass(frozen=True, slots=True)
class Followed:
    """An account a channel follows: since when and who asked."""

    follow_id: int
    account_id: int
    account_name: str
    since: datetime
    by: str | None


@dataclass(frozen=True, slots=True)
class Follower:
    """A channel following an account (what the feed posts to)."""

    follow_id: int
    platform: str
    conversation: str
    account_id: int
    since: datetime


async def follow(
    session: AsyncSession, platform: str, conversation: str, account_id: int, *, by: int | None, now: datetime
) -> bool:
    """Make the channel follow the account; False when it already did."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(ChannelFollow)
        .values(
            platform=platform,
            conversation=conversation,
            account_id=account_id,
            followed_by_id=by,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["platform", "conversation", "account_id"])
        .returning(ChannelFollow.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def unfollow(session: AsyncSession, platform: str, conversation: str, account_id: int) -> bool:
    """Stop following; False when the channel did not follow the account."""
    result = await session.execute(
        delete(ChannelFollow)
        .where(
            ChannelFollow.platform == platform,
            ChannelFollow.conversation == conversation,
            ChannelFollow.account_id == account_id,
        )
        .returning(ChannelFollow.id)
    )
    return result.scalar_one_or_none() is not None


async def followed(session: AsyncSession, platform: str, conversation: str) -> list[Followed]:
    """What the channel follows, by account name."""
    rows = await session.execute(
        select(ChannelFollow.id, Account.id, Account.name, ChannelFollow.created_at, Person.name)
        .join(Account, Account.id == ChannelFollow.account_id)
        .outerjoin(Person, Person.id == ChannelFollow.followed_by_id)
        .where(ChannelFollow.platform == platform, ChannelFollow.conversation == conversation)
        .order_by(Account.name, Account.id)
    )
    return [Followed(*row) for row in rows]


async def followers(session: AsyncSession) -> dict[int, list[Follower]]:
    """Every follow, by account id (the feed's work list)."""
    rows = await session.execute(
        select(
            ChannelFollow.id,
            ChannelFollow.platform,
            ChannelFollow.conversation,
            ChannelFollow.account_id,
            ChannelFollow.created_at,
        ).order_by(ChannelFollow.account_id, ChannelFollow.id)
    )
    by_account: dict[int, list[Follower]] = defaultdict(list)
    for row in rows:
        follower = Follower(*row)
        by_account[follower.account_id].append(follower)
    return dict(by_account)


async def allowance(session: AsyncSession, platform: str, conversation: str) -> frozenset[str] | None:
    """The fields an admin allowed in this shared channel, or None when they allowed nothing."""
    fields = (
        await session.execute(
            select(ChannelAllowance.fields).where(
                ChannelAllowance.platform == platform, ChannelAllowance.conversation == conversation
            )
        )
    ).scalar_one_or_none()
    return None if fields is None else frozenset(str(field) for field in fields)


async def allow(
    session: AsyncSession,
    platform: str,
    conversation: str,
    fields: frozenset[str],
    *,
    by: int | None,
    now: datetime,
) -> None:
    """Allow ``fields`` of account data in the channel (replacing what was allowed before)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {
        "platform": platform,
        "conversation": conversation,
        "fields": sorted(fields),
        "allowed_by_id": by,
        "allowed_at": now,
    }
    statement = insert(ChannelAllowance).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["platform", "conversation"],
        set_={"fields": values["fields"], "allowed_by_id": by, "allowed_at": now},
    )
    await session.execute(statement)


async def disallow(session: AsyncSession, platform: str, conversation: str) -> bool:
    """Withdraw the allowance; False when there was none."""
    result = await session.execute(
        delete(ChannelAllowance)
        .where(ChannelAllowance.platform == platform, ChannelAllowance.conversation == conversation)
        .returning(ChannelAllowance.platform)
    )
    return result.scalar_one_or_none() is not None
