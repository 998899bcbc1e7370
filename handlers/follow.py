"""``follow ACCOUNT``, ``unfollow ACCOUNT`` and ``following`` in a channel, and ``channel`` for admins:
which account data may go into a channel shared with another organisation.

A channel that follows an account gets its events as they happen (:mod:`scheduler.channel_feed` posts
them). A channel shared with another organisation gets nothing unless an admin typed
``channel allow FIELD…`` there; the check is the platform's (:mod:`bot.channels.privacy`).
"""

from __future__ import annotations

from bot import actions
from bot.channels.privacy import FIELDS, ChannelPolicy, Sharing, channel_policy, parse_fields
from bot.core.context import BotContext
from bot.core.permissions import require_registered
from bot.core.registry import Registry
from bot.errors import BadArguments, NotAllowed, NotFound
from bot.types import Actions, Block, Button, Context, Header, Reply, Request, Response, Text
from handlers.accounts import choice_reply, payload_int
from handlers.changes import audit_change
from storage import channels, queries
from storage.models import Role

FOLLOWED_EVENTS = (
    "health band changes and alerts, feedback, milestones done or overdue, outcomes achieved and "
    "renewal reminders"
)
NOT_A_CHANNEL = (
    "Following is for channels: type `follow ACCOUNT` in a channel (mentioning me) and its events "
    "are posted there."
)
SHARED_CHANNEL = (
    "This channel is shared with another organisation, so account data stays out of it. "
    "An admin can allow chosen fields here with `channel allow FIELD…` ({fields})."
)
UNKNOWN_CHANNEL = (
    "I could not tell whether this channel is shared with another organisation, so account data stays "
    "out of it for now. Add Touchpoint to the channel, then try again."
)


def register(registry: Registry) -> None:
    registry.command("follow", usage="follow ACCOUNT", summary="post an account's events in this channel")(
        follow_command
    )
    registry.command("unfollow", usage="unfollow ACCOUNT", summary="stop posting an account's events here")(
        unfollow_command
    )
    registry.command("following", usage="following", summary="the accounts this channel follows")(
        following_command
    )
    registry.command(
        "channel",
        usage="channel [allow FIELD…|deny]",
        summary="admins: what account data may go into a channel shared with another organisation",
    )(channel_command)
    registry.action(actions.CHANNEL_FOLLOW)(follow_action)
    registry.action(actions.CHANNEL_UNFOLLOW)(unfollow_action)


def _field_list() -> str:
    return ", ".join(FIELDS)


def _refusal(policy: ChannelPolicy) -> str | None:
    """Why no account data may be posted here, or None when some may."""
    if policy.sharing is Sharing.DIRECT:
        return NOT_A_CHANNEL
    if not policy.closed:
        return None
    if policy.sharing is Sharing.UNKNOWN:
        return UNKNOWN_CHANNEL
    return SHARED_CHANNEL.format(fields=_field_list())


async def _policy(ctx: BotContext, request: Request) -> ChannelPolicy:
    return await channel_policy(ctx.db, ctx.sharing_checks, request.address)


async def _account_id(ctx: BotContext, request: Request, action: str, usage: str) -> int | Reply:
    name = request.arg_text.strip()
    if not name:
        raise BadArguments(f"Which account? Try `{usage} acme`.")
    found = await ctx.accounts.find(name)
    if found.match is None:
        return choice_reply(found, action)
    return found.match.id


async def follow_command(ctx: BotContext, request: Request) -> Response:
    require_registered(request.actor)
    found = await _account_id(ctx, request, actions.CHANNEL_FOLLOW, "follow")
    return found if isinstance(found, Reply) else await _follow(ctx, request, found)


async def follow_action(ctx: BotContext, request: Request) -> Response:
    require_registered(request.actor)
    return await _follow(ctx, request, payload_int(request, "account_id"))


async def _follow(ctx: BotContext, request: Request, account_id: int) -> Response:
    policy = await _policy(ctx, request)
    refusal = _refusal(policy)
    if refusal is not None:
        raise NotAllowed(refusal)
    address = request.address
    async with ctx.db.transaction() as session:
        account = await queries.account_by_id(session, account_id)
        if account is None:
            raise NotFound("That account no longer exists.")
        new = await channels.follow(
            session,
            address.platform.value,
            address.target,
            account_id,
            by=request.actor.person_id,
            now=ctx.now(),
        )
        if new:
            audit_change(
                session,
                request.actor,
                action="channel.follow",
                object_type="account",
                object_id=account_id,
                details={"conversation": address.target},
            )
    if not new:
        text = f"This channel already follows **{account.name}**."
        return Reply(summary=text.replace("**", ""), blocks=(Text(text),))
    text = f"This channel now follows **{account.name}**: {FOLLOWED_EVENTS} will be posted here."
    lines = [f"`unfollow {account.name}` to stop · `following` lists what this channel follows"]
    if policy.fields is not None:
        lines.insert(
            0, "Shared channel: only " + ", ".join(sorted(policy.fields)) + " (as an admin allowed)."
        )
    return Reply(
        summary=text.replace("**", ""),
        blocks=(Text(text), Context(tuple(lines))),
        shared=True,
        replace=request.action == actions.CHANNEL_FOLLOW,
    )


async def unfollow_command(ctx: BotContext, request: Request) -> Response:
    require_registered(request.actor)
    found = await _account_id(ctx, request, actions.CHANNEL_UNFOLLOW, "unfollow")
    return found if isinstance(found, Reply) else await _unfollow(ctx, request, found)


async def unfollow_action(ctx: BotContext, request: Request) -> Response:
    require_registered(request.actor)
    return await _unfollow(ctx, request, payload_int(request, "account_id"))


async def _unfollow(ctx: BotContext, request: Request, account_id: int) -> Response:
    address = request.address
    async with ctx.db.transaction() as session:
        account = await queries.account_by_id(session, account_id)
        if account is None:
            raise NotFound("That account no longer exists.")
        gone = await channels.unfollow(session, address.platform.value, address.target, account_id)
        if gone:
            audit_change(
                session,
                request.actor,
                action="channel.unfollow",
                object_type="account",
                object_id=account_id,
                details={"conversation": address.target},
            )
    if not gone:
        text = f"This channel does not follow **{account.name}**."
        return Reply(summary=text.replace("**", ""), blocks=(Text(text),))
    text = f"This channel no longer follows **{account.name}**."
    return Reply(summary=text.replace("**", ""), blocks=(Text(text),), shared=True)


async def following_command(ctx: BotContext, request: Request) -> Response:
    require_registered(request.actor)
    address = request.address
    async with ctx.db.sessions() as session:
        rows = await channels.followed(session, address.platform.value, address.target)
    if not rows:
        text = "This channel follows no account. `follow ACCOUNT` to start."
        return Reply(summary=text, blocks=(Text(text),), shared=request.share)
    title = f"This channel follows {len(rows)} account" + ("s" if len(rows) != 1 else "")
    blocks: list[Block] = [Header(title)]
    blocks += [
        Text(f"**{row.account_name}** · since {row.since:%Y-%m-%d}" + (f" · by {row.by}" if row.by else ""))
        for row in rows[:40]
    ]
    if len(rows) > 40:
        blocks.append(Context((f"…and {len(rows) - 40} more",)))
    unfollow = tuple(
        Button(f"Unfollow {row.account_name}"[:75], actions.CHANNEL_UNFOLLOW, {"account_id": row.account_id})
        for row in rows[:5]
    )
    blocks.append(Actions(unfollow))
    return Reply(summary=title, blocks=tuple(blocks), shared=request.share)


async def channel_command(ctx: BotContext, request: Request) -> Response:
    require_registered(request.actor)
    words = request.arg_text.split()
    verb = words[0].lower() if words else ""
    if verb and request.actor.role != Role.ADMIN:
        raise NotAllowed("Only admins can choose what account data may go into a shared channel.")
    address = request.address
    platform = address.platform.value
    if verb == "allow":
        fields, unknown = parse_fields(words[1:])
        if unknown or not fields:
            problem = f"I do not know {', '.join(unknown)}. " if unknown else ""
            raise BadArguments(f"{problem}Choose fields among: {_field_list()} (or `all`).")
        async with ctx.db.transaction() as session:
            await channels.allow(
                session, platform, address.target, fields, by=request.actor.person_id, now=ctx.now()
            )
            audit_change(
                session,
                request.actor,
                action="channel.allow",
                object_type="channel",
                object_id=0,
                details={"conversation": address.target, "fields": sorted(fields)},
            )
        text = "If this channel is shared with another organisation, it may now get: " + ", ".join(
            sorted(fields)
        )
        return Reply(summary=text, blocks=(Text(text),), shared=True)
    if verb == "deny":
        async with ctx.db.transaction() as session:
            gone = await channels.disallow(session, platform, address.target)
            if gone:
                audit_change(
                    session,
                    request.actor,
                    action="channel.deny",
                    object_type="channel",
                    object_id=0,
                    details={"conversation": address.target},
                )
        text = "No account data goes into this channel if it is shared with another organisation."
        return Reply(summary=text, blocks=(Text(text),), shared=gone)
    if verb:
        raise BadArguments("Try `channel`, `channel allow health renewal` or `channel deny`.")
    return await _channel_status(ctx, request)


async def _channel_status(ctx: BotContext, request: Request) -> Response:
    policy = await _policy(ctx, request)
    address = request.address
    async with ctx.db.sessions() as session:
        allowed = await channels.allowance(session, address.platform.value, address.target)
        count = len(await channels.followed(session, address.platform.value, address.target))
    sharing = {
        Sharing.INTERNAL: "This channel is inside your organisation: everything may be posted here.",
        Sharing.EXTERNAL: "This channel is shared with another organisation.",
        Sharing.DIRECT: "This is a direct conversation, not a channel.",
        Sharing.UNKNOWN: "I cannot tell now whether this channel is shared with another organisation.",
    }[policy.sharing]
    allowance = (
        "Allowed if shared: " + ", ".join(sorted(allowed))
        if allowed
        else "Allowed if shared: nothing (an admin can `channel allow FIELD…`)"
    )
    lines = (allowance, f"Follows {count} account" + ("s" if count != 1 else ""), f"Fields: {_field_list()}")
    return Reply(summary=sharing, blocks=(Text(sharing), Context(lines)))
