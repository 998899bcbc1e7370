"""``digest``: subscribe a channel, a person or yourself to a scheduled digest, list, stop and preview.

``digest subscribe [here|@person|me] [daily|weekdays|weekly DAY] [HH:MM] [TIMEZONE] [team|mine|SEGMENT]``
takes its words in any order. A channel (``here``) or someone else is for CS managers and admins; anyone
may subscribe themselves to a digest of their own accounts. The scheduler sends what is stored here.

What the words of ``digest subscribe`` mean is in :mod:`handlers.digests_words`.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import BotContext
from bot.core.permissions import can_manage_settings
from bot.core.registry import Registry
from bot.digests.build import build_digest
from bot.errors import BadArguments, NotAllowed, NotFound
from bot.types import Actor, Block, Context, Image, Reply, Request, Response, Text
from handlers.changes import audit_change
from handlers.digests_words import USAGE, WEEKDAYS, parse_subscribe, person_named, segment_named
from storage.models import DigestCadence, DigestScope, DigestSubscription, Person, Role

DEFAULT_CADENCE = DigestCadence.WEEKDAYS
DEFAULT_TIME = "09:00"
MAX_LIST = 25
ID_MAX = 2**31 - 1


def register(registry: Registry) -> None:
    registry.command(
        "digest",
        usage="digest subscribe|list|unsubscribe ID|preview [ID]",
        summary="scheduled digests for a channel or for you",
    )(digest_command)


async def digest_command(ctx: BotContext, request: Request) -> Response:
    sub = request.args[0].lower() if request.args else "list"
    rest = request.args[1:]
    if sub in ("subscribe", "add", "new"):
        return await subscribe(ctx, request, rest)
    if sub in ("list", "ls"):
        return await list_subscriptions(ctx, request)
    if sub in ("unsubscribe", "stop", "remove", "cancel"):
        return await unsubscribe(ctx, request, rest)
    if sub == "preview":
        return await preview(ctx, request, rest)
    raise BadArguments(f"I don't know `digest {request.args[0]}`. Use {USAGE}.")


# --------------------------------------------------------------------------------------- subscribe


async def subscribe(ctx: BotContext, request: Request, words: tuple[str, ...]) -> Response:
    actor = request.actor
    assert actor.person_id is not None
    spec = parse_subscribe(words)
    manager = can_manage_settings(actor)
    async with ctx.db.transaction() as session:
        recipient: Person | None = None
        if spec.target == "person" and spec.person is not None:
            recipient = await person_named(session, spec.person)
            if recipient.id == actor.person_id:
                spec.target, recipient = "me", None
        target = spec.target or "me"
        if target != "me" and not manager:
            raise NotAllowed(
                "Only CS managers and admins can set up a digest for a channel or for someone else. "
                "You can subscribe yourself: `digest subscribe me`."
            )
        # A channel gets the team's digest, a manager's own DM their team's, anyone else their accounts.
        team_default = target == "here" or (target == "me" and manager)
        scope = spec.scope or (DigestScope.TEAM if team_default else DigestScope.MINE)
        if target == "me" and scope is not DigestScope.MINE and not manager:
            raise NotAllowed(
                "Your digest covers your own accounts (`mine`); team and segment digests are for "
                "CS managers and admins."
            )
        segment = await segment_named(session, spec.segment) if spec.segment is not None else None
        timezone = spec.timezone or (recipient.timezone if recipient is not None else actor.timezone)
        cadence = spec.cadence or DEFAULT_CADENCE
        row = DigestSubscription(
            created_by_id=actor.person_id,
            platform=request.address.platform.value,
            channel=request.address.target if target == "here" else None,
            person_id=None if target == "here" else (recipient.id if recipient else actor.person_id),
            scope=scope.value,
            segment=segment,
            cadence=cadence.value,
            weekday=spec.weekday if cadence is DigestCadence.WEEKLY else None,
            at_time=spec.at_time or DEFAULT_TIME,
            timezone=timezone,
            active=True,
            created_at=ctx.now(),
        )
        existing = await _same_subscription(session, row)
        if existing is not None:
            text = f"That digest already exists: #{existing}. See `digest list`."
            return Reply(summary=text, blocks=(Text(text),))
        session.add(row)
        await session.flush()
        audit_change(
            session,
            actor,
            action="digest.subscribe",
            object_type="digest_subscription",
            object_id=row.id,
            details={"target": target, "scope": scope.value, "cadence": cadence.value, "at": row.at_time},
        )
        where = "this channel" if target == "here" else "you" if target == "me" else recipient_name(recipient)
    ctx.subscriptions_changed()
    text = (
        f"✅ Digest #{row.id} for {where}: {schedule_text(row)}, {scope_text(row)}. "
        f"See it now with `digest preview {row.id}`; stop it with `digest unsubscribe {row.id}`."
    )
    return Reply(summary=text, blocks=(Text(text),))


def recipient_name(person: Person | None) -> str:
    return person.name if person is not None else "someone"


async def _same_subscription(session: AsyncSession, row: DigestSubscription) -> int | None:
    s = DigestSubscription
    stmt = select(s.id).where(
        s.active.is_(True),
        s.platform == row.platform,
        s.channel.is_(None) if row.channel is None else s.channel == row.channel,
        s.person_id.is_(None) if row.person_id is None else s.person_id == row.person_id,
        s.scope == row.scope,
        s.segment.is_(None) if row.segment is None else s.segment == row.segment,
        s.cadence == row.cadence,
        s.weekday.is_(None) if row.weekday is None else s.weekday == row.weekday,
        s.at_time == row.at_time,
        s.timezone == row.timezone,
    )
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


# ------------------------------------------------------------------------------------------ describe


def schedule_text(row: DigestSubscription) -> str:
    when = f"at {row.at_time} {row.timezone}"
    if row.cadence == DigestCadence.WEEKLY and row.weekday is not None:
        return f"every {WEEKDAYS[row.weekday].capitalize()} {when}"
    if row.cadence == DigestCadence.DAILY:
        return f"every day {when}"
    return f"weekdays {when}"


def scope_text(row: DigestSubscription) -> str:
    if row.scope == DigestScope.SEGMENT:
        return f"segment {row.segment}"
    if row.scope == DigestScope.MINE:
        return "own accounts"
    return "team"


def target_text(row: DigestSubscription, person_name: str | None) -> str:
    if row.channel is not None:
        return f"channel {row.channel} ({row.platform})"
    return f"DM to {person_name or 'a deleted person'}"


def describe(row: DigestSubscription, person_name: str | None) -> str:
    return f"#{row.id} · {target_text(row, person_name)} · {schedule_text(row)} · {scope_text(row)}"


# ------------------------------------------------------------------------------------------ list/stop


async def list_subscriptions(ctx: BotContext, request: Request) -> Response:
    actor = request.actor
    stmt = (
        select(DigestSubscription, Person.name)
        .outerjoin(Person, Person.id == DigestSubscription.person_id)
        .where(DigestSubscription.active.is_(True))
        .order_by(DigestSubscription.id)
    )
    if actor.role != Role.ADMIN:
        stmt = stmt.where(
            or_(
                DigestSubscription.created_by_id == actor.person_id,
                DigestSubscription.person_id == actor.person_id,
            )
        )
    async with ctx.db.sessions() as session:
        rows = (await session.execute(stmt)).all()
    title = "All digests" if actor.role == Role.ADMIN else "Your digests"
    if not rows:
        text = f"{title}: none. Start one with `digest subscribe`."
        return Reply(summary=text, blocks=(Text(text),), shared=request.share)
    lines = [describe(row, name) for row, name in rows[:MAX_LIST]]
    if len(rows) > MAX_LIST:
        lines.append(f"…and {len(rows) - MAX_LIST} more")
    blocks: list[Block] = [
        Text(f"**{title} ({len(rows)})**\n" + "\n".join(lines)),
        Context(("`digest preview ID` to see one now, `digest unsubscribe ID` to stop one",)),
    ]
    return Reply(summary=f"{title}: {len(rows)}", blocks=tuple(blocks), shared=request.share)


def _subscription_id(words: tuple[str, ...], verb: str) -> int:
    if len(words) != 1:
        raise BadArguments(f"Which digest? Use `digest {verb} ID` with an id from `digest list`.")
    raw = words[0].lstrip("#")
    if not raw.isdigit():
        raise BadArguments(
            f"“{words[0]}” is not a digest id. Use `digest {verb} ID` with an id from `digest list`."
        )
    value = int(raw)
    if not 1 <= value <= ID_MAX:
        raise NotFound(f"No active digest #{value}. See `digest list`.")
    return value


def _may_manage(actor: Actor, row: DigestSubscription) -> bool:
    return can_manage_settings(actor) or actor.person_id in {row.created_by_id, row.person_id} - {None}


async def unsubscribe(ctx: BotContext, request: Request, words: tuple[str, ...]) -> Response:
    subscription_id = _subscription_id(words, "unsubscribe")
    async with ctx.db.transaction() as session:
        row = await session.get(DigestSubscription, subscription_id)
        if row is None or not row.active:
            raise NotFound(f"No active digest #{subscription_id}. See `digest list`.")
        if not _may_manage(request.actor, row):
            raise NotAllowed(
                f"Only whoever set up digest #{subscription_id}, its recipient, or a CS manager or admin "
                "can stop it."
            )
        row.active = False
        audit_change(
            session,
            request.actor,
            action="digest.unsubscribe",
            object_type="digest_subscription",
            object_id=subscription_id,
            details={},
        )
        name = await _person_name(session, row.person_id)
        text = f"Stopped digest {describe(row, name)}."
    ctx.subscriptions_changed()
    return Reply(summary=text, blocks=(Text(text),))


async def _person_name(session: AsyncSession, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    return (await session.execute(select(Person.name).where(Person.id == person_id))).scalar_one_or_none()


# --------------------------------------------------------------------------------------------- preview


async def preview(ctx: BotContext, request: Request, words: tuple[str, ...]) -> Response:
    """The digest as it would be sent now, shown only to the caller; nothing is stored or sent."""
    actor = request.actor
    assert actor.person_id is not None
    if words:
        subscription_id = _subscription_id(words, "preview")
        async with ctx.db.sessions() as session:
            row = await session.get(DigestSubscription, subscription_id)
            name = await _person_name(session, row.person_id) if row is not None else None
        if row is None or not row.active or not _may_manage(actor, row):
            raise NotFound(f"No active digest #{subscription_id} of yours. See `digest list`.")
        note = f"Preview of digest {describe(row, name)}"
    else:
        row = await _own_or_default(ctx, actor)
        note = (
            f"Preview of digest {describe(row, actor.name)}"
            if row.id is not None
            else "Preview of the digest `digest subscribe` would give you"
        )
    digest = await build_digest(ctx, row, now=ctx.now())
    if digest is None:
        raise NotFound("That digest has no one to go to any more.")
    blocks: list[Block] = [Context((note + "; nothing was sent.",))]
    for block in digest.reply.blocks:
        # Chat answers cannot carry the attachment; the scheduled digest uploads it.
        if isinstance(block, Image) and block.url.startswith("attachment://"):
            blocks.append(Context((f"[chart: {block.alt}, attached when the digest is posted]",)))
        else:
            blocks.append(block)
    return Reply(summary=digest.reply.summary, blocks=tuple(blocks))


async def _own_or_default(ctx: BotContext, actor: Actor) -> DigestSubscription:
    """The caller's own active DM digest if they have exactly one, else the default they would get."""
    s = DigestSubscription
    async with ctx.db.sessions() as session:
        rows = list(
            (
                await session.execute(
                    select(s)
                    .where(and_(s.active.is_(True), s.person_id == actor.person_id))
                    .order_by(s.id)
                    .limit(2)
                )
            ).scalars()
        )
    if len(rows) == 1:
        return rows[0]
    return DigestSubscription(
        created_by_id=actor.person_id,
        platform=actor.platform.value,
        person_id=actor.person_id,
        scope=(DigestScope.TEAM if can_manage_settings(actor) else DigestScope.MINE).value,
        cadence=DEFAULT_CADENCE.value,
        at_time=DEFAULT_TIME,
        timezone=actor.timezone,
        active=True,
    )
