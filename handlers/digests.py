"""``digest``: subscribe a channel, a person or yourself to a scheduled digest, list, stop and preview.

``digest subscribe [here|@person|me] [daily|weekdays|weekly DAY] [HH:MM] [TIMEZONE] [team|mine|SEGMENT]``
takes its words in any order. A channel (``here``) or someone else is for CS managers and admins; anyone
may subscribe themselves to a digest of their own accounts. The scheduler sends what is stored here.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import cache

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import BotContext
from bot.core.permissions import can_manage_settings
from bot.core.registry import Registry
from bot.digests.build import build_digest
from bot.errors import BadArguments, NotAllowed, NotFound
from bot.types import Actor, Block, Context, Image, Reply, Request, Response, Text
from handlers.changes import audit_change
from storage.models import Account, DigestCadence, DigestScope, DigestSubscription, Person, Role

USAGE = (
    "`digest subscribe [here|@person|me] [daily|weekdays|weekly DAY] [HH:MM] [TIMEZONE] "
    "[team|mine|SEGMENT]`, `digest list`, `digest unsubscribe ID`, `digest preview [ID]`"
)
DEFAULT_CADENCE = DigestCadence.WEEKDAYS
DEFAULT_TIME = "09:00"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_LIST = 25
ID_MAX = 2**31 - 1
_TIME = re.compile(r"(\d{1,2})[:.h](\d{2})")
_TIME_LIKE = re.compile(r"\d{1,2}[:.h]\d*|\d{1,2}(am|pm)", re.IGNORECASE)
_SLACK_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", re.IGNORECASE)


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


# ----------------------------------------------------------------------------------------- parsing


@dataclass
class SubscribeWords:
    """What the words of ``digest subscribe`` asked for; None where they left the default."""

    target: str | None = None  # "here", "me" or "person"
    person: str | None = None  # an email or a Slack mention, when target is "person"
    cadence: DigestCadence | None = None
    weekday: int | None = None
    at_time: str | None = None
    timezone: str | None = None
    scope: DigestScope | None = None
    segment: str | None = None  # as typed; checked against the accounts' segments later


@cache
def _zones() -> dict[str, str]:
    """Known IANA time zone names by their lower-case spelling."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def weekday_number(word: str) -> int | None:
    """0 for "mon"/"monday" ... 6 for "sun"/"sunday"; None for anything else."""
    word = word.lower()
    if len(word) < 3:
        return None
    return next((i for i, name in enumerate(WEEKDAYS) if name.startswith(word)), None)


def parse_time(word: str) -> str:
    """ "9:30" -> "09:30"; anything that is not a time of day is a user error."""
    match = _TIME.fullmatch(word)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise BadArguments(f"“{word}” is not a time of day. Use 24-hour HH:MM, like 09:00 or 17:30.")
    return f"{int(match[1]):02d}:{match[2]}"


def parse_subscribe(words: tuple[str, ...]) -> SubscribeWords:
    """Classify the words of ``digest subscribe``; the order does not matter."""
    spec = SubscribeWords()

    def once(attribute: str, value: object, word: str) -> None:
        if getattr(spec, attribute) is not None:
            raise BadArguments(f"“{word}”: give only one {attribute.replace('_', ' ')}.")
        setattr(spec, attribute, value)

    queue = list(words)
    while queue:
        word = queue.pop(0)
        lower = word.lower()
        if lower in ("here", "channel"):
            once("target", "here", word)
        elif lower == "me":
            once("target", "me", word)
        elif _SLACK_MENTION.fullmatch(word) or "@" in word:
            once("target", "person", word)
            spec.person = word
        elif lower in ("daily", "weekdays"):
            once("cadence", DigestCadence(lower), word)
        elif lower == "weekly":
            once("cadence", DigestCadence.WEEKLY, word)
            day = weekday_number(queue[0]) if queue else None
            if day is None:
                given = f" “{queue[0]}” is not a weekday." if queue else ""
                raise BadArguments(
                    f"Which day?{given} Use `weekly monday` (monday to sunday, or mon to sun)."
                )
            queue.pop(0)
            once("weekday", day, word)
        elif weekday_number(lower) is not None and spec.weekday is None:
            # "monday" alone means weekly on Mondays.
            once("cadence", DigestCadence.WEEKLY, word)
            spec.weekday = weekday_number(lower)
        elif _TIME_LIKE.fullmatch(word):
            once("at_time", parse_time(word), word)
        elif lower in _zones():
            once("timezone", _zones()[lower], word)
        elif "/" in word:
            raise BadArguments(
                f"Unknown time zone “{word}”. Use a name like Europe/Berlin, America/New_York or UTC."
            )
        elif lower in ("team", "mine"):
            once("scope", DigestScope(lower), word)
        else:
            if spec.segment is not None:
                raise BadArguments(f"I don't understand “{word}”. Use {USAGE}.")
            once("scope", DigestScope.SEGMENT, word)
            spec.segment = word
    if spec.weekday is not None and spec.cadence is not DigestCadence.WEEKLY:
        raise BadArguments("A day of the week goes with `weekly`, like `weekly monday`.")
    return spec


async def _segment(session: AsyncSession, typed: str) -> str:
    """The segment as the accounts spell it; an unknown one is a user error listing the known ones."""
    known = sorted(
        s
        for s in (await session.execute(select(Account.segment).distinct())).scalars()
        if s is not None and s.strip()
    )
    match = next((s for s in known if s.lower() == typed.lower()), None)
    if match is not None:
        return match
    if known:
        raise BadArguments(
            f"Unknown segment “{typed}”. Known segments: {', '.join(known)}. Or use `team` or `mine`."
        )
    raise BadArguments(f"Unknown segment “{typed}”: no account has a segment yet. Use `team` or `mine`.")


async def _person(session: AsyncSession, typed: str) -> Person:
    mention = _SLACK_MENTION.fullmatch(typed)
    if mention is not None:
        found = (
            await session.execute(select(Person).where(Person.slack_user_id == mention[1].upper()))
        ).scalar_one_or_none()
        if found is None:
            raise NotFound("I don't know that Slack user in Touchpoint yet. Give their email instead.")
        return found
    email = typed.lstrip("@").strip().lower()
    if "@" not in email:
        raise BadArguments(f"“{typed}”: give the person's email, like `@maya@example.com`, or mention them.")
    found = (await session.execute(select(Person).where(Person.email == email))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"No one in Touchpoint has the email {email}.")
    return found


# --------------------------------------------------------------------------------------- subscribe


async def subscribe(ctx: BotContext, request: Request, words: tuple[str, ...]) -> Response:
    actor = request.actor
    assert actor.person_id is not None
    spec = parse_subscribe(words)
    manager = can_manage_settings(actor)
    async with ctx.db.transaction() as session:
        recipient: Person | None = None
        if spec.target == "person" and spec.person is not None:
            recipient = await _person(session, spec.person)
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
        segment = await _segment(session, spec.segment) if spec.segment is not None else None
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
