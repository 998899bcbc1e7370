"""Feedback between CS and CX: ``feedback ACCOUNT TEXT #tag`` sends it, ``feedback [open|mine|ACCOUNT|#tag]``
lists it, and the recipient's buttons acknowledge, resolve or reassign it (see :mod:`bot.feedback`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from bot import actions
from bot.core.context import BotContext
from bot.core.lookup import AccountRef
from bot.core.paging import paginate
from bot.core.registry import Registry
from bot.errors import BadArguments, NotAllowed, NotFound
from bot.feedback.items import load_for_change, reassign, submit_feedback, transition
from bot.feedback.messages import STATE_LABELS, item_buttons, item_reply
from bot.feedback.routing import CS_TEAM, MAX_TEXT, normalise_tags, routing_from_settings, team_of
from bot.feedback.sentiment import STRONGLY_NEGATIVE, is_strongly_negative, strongly_negative_marker
from bot.feedback.themes import acknowledge_theme
from bot.format import plural, truncate
from bot.types import (
    Actions,
    Block,
    Button,
    Context,
    Form,
    FormInput,
    Header,
    InputKind,
    Option,
    Payload,
    Reply,
    Request,
    Response,
    Text,
    validate_form,
)
from handlers.accounts import choice_reply, payload_int
from storage.models import Account, FeedbackItem, FeedbackState, Person, Role
from storage.names import name_key

URGENT_TAG = "urgent"
LIST_WORDS = ("open", "mine")
MAX_ACCOUNT_WORDS = 5
MAX_LISTED = 500
PAYLOAD_TEXT = 1500  # a Slack button value holds 2000 characters


def register(registry: Registry) -> None:
    registry.command(
        "feedback",
        usage="feedback ACCOUNT TEXT [#tag] | feedback #bug TEXT | feedback [open|mine|ACCOUNT|#tag]",
        summary="send feedback between CS and CX, or list it",
    )(feedback_command)
    registry.action(actions.FEEDBACK_OPEN_FORM)(open_form_action)
    registry.action(actions.FEEDBACK_SAVE)(save_action)
    registry.action(actions.FEEDBACK_ACK)(ack_action)
    registry.action(actions.FEEDBACK_RESOLVE)(resolve_action)
    registry.action(actions.FEEDBACK_RESOLVE_SAVE)(resolve_save_action)
    registry.action(actions.FEEDBACK_REASSIGN)(reassign_action)
    registry.action(actions.FEEDBACK_REASSIGN_SAVE)(reassign_save_action)
    registry.action(actions.FEEDBACK_THEME_ACK)(theme_ack_action)


async def theme_ack_action(ctx: BotContext, request: Request) -> Response:
    """'Acknowledge all' on a systemic-issue alert: the CX team, CS managers and admins may press it."""
    if request.actor.role not in (Role.CX, Role.CS_MANAGER, Role.ADMIN):
        raise NotAllowed("Only the CX team, CS managers and admins can acknowledge a recurring issue.")
    theme_id = payload_int(request, "theme_id")
    changed = await acknowledge_theme(
        ctx.db, theme_id=theme_id, actor_id=request.actor.person_id, now=ctx.now()
    )
    text = (
        f"✅ Acknowledged {plural(changed, 'feedback item')} of this recurring issue; "
        "whoever raised them hears back."
        if changed
        else "Nothing left to acknowledge: every item of this issue was already seen."
    )
    return Reply(summary=text, blocks=(Text(text),), replace=True)


# ------------------------------------------------------------------------------------------------ forms


def feedback_form(
    account_id: int | None,
    account_name: str | None,
    *,
    values: dict[str, str] | None = None,
    source_link: str | None = None,
    source: str = "chat",
    errors: dict[str, str] | None = None,
) -> Form:
    """The feedback form; without an account it asks for one (left empty: feedback about many)."""
    values = values or {}
    account_input: tuple[FormInput, ...] = ()
    if account_id is None:
        account_input = (
            FormInput(
                id="account",
                label="Account (name or id; empty for feedback about many)",
                required=False,
                initial=values.get("account") or None,
                max_length=200,
            ),
        )
    label = f"Feedback about {truncate(account_name, 60)}" if account_name else "Feedback"
    payload: Payload = {"source": source}
    if account_id is not None:
        payload["account_id"] = account_id
    if source_link:
        payload["source_link"] = source_link
    return Form(
        title="Send feedback",
        inputs=(
            *account_input,
            FormInput(
                id="text",
                label=label,
                kind=InputKind.MULTILINE,
                initial=values.get("text") or None,
                max_length=MAX_TEXT,
            ),
            FormInput(
                id="tags",
                label="Tags (for example: bug, docs, process)",
                required=False,
                initial=values.get("tags") or None,
                max_length=200,
            ),
            FormInput(
                id="urgency",
                label="Urgency",
                kind=InputKind.SELECT,
                initial=values.get("urgency") or "normal",
                options=(Option(value="normal", label="Normal"), Option(value="urgent", label="Urgent")),
            ),
        ),
        submit_action=actions.FEEDBACK_SAVE,
        submit_label="Send",
        payload=payload,
        errors=errors or {},
        opener=Button(
            label="Send feedback", action=actions.FEEDBACK_OPEN_FORM, payload=payload, style="primary"
        ),
    )


def resolve_form(item_id: int, *, errors: dict[str, str] | None = None) -> Form:
    return Form(
        title="Resolve feedback",
        inputs=(
            FormInput(
                id="note",
                label="What was done?",
                kind=InputKind.MULTILINE,
                max_length=500,
                placeholder="A short resolution note for whoever sent it",
            ),
        ),
        submit_action=actions.FEEDBACK_RESOLVE_SAVE,
        submit_label="Resolve",
        payload={"item_id": item_id},
        errors=errors or {},
        opener=Button(label="Resolve", action=actions.FEEDBACK_RESOLVE, payload={"item_id": item_id}),
    )


def reassign_form(item_id: int, *, errors: dict[str, str] | None = None, email: str = "") -> Form:
    return Form(
        title="Reassign feedback",
        inputs=(
            FormInput(id="email", label="Email of the new owner", initial=email or None, max_length=320),
        ),
        submit_action=actions.FEEDBACK_REASSIGN_SAVE,
        submit_label="Reassign",
        payload={"item_id": item_id},
        errors=errors or {},
        opener=Button(label="Reassign", action=actions.FEEDBACK_REASSIGN, payload={"item_id": item_id}),
    )


# --------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class _Parsed:
    words: list[str]
    tags: list[str]
    urgent: bool


def _split_words(args: Sequence[str]) -> _Parsed:
    words: list[str] = []
    tags: list[str] = []
    urgent = False
    for word in args:
        if word.startswith("#") and len(word) > 1:
            tag = word[1:].lower()
            if tag == URGENT_TAG:
                urgent = True
            else:
                tags.append(tag)
        else:
            words.append(word)
    return _Parsed(words=words, tags=normalise_tags(tags), urgent=urgent)


def _is_named(ref: AccountRef, typed: str) -> bool:
    """A match by id, exact name or name prefix (not a fuzzy guess), safe to take from a sentence."""
    key = name_key(typed)
    return ref.external_id.casefold() == typed.strip().casefold() or (
        bool(key) and name_key(ref.name).startswith(key)
    )


async def feedback_command(ctx: BotContext, request: Request) -> Response:
    parsed = _split_words(request.args)
    words = parsed.words
    if not words or (len(words) == 1 and words[0].lower() in LIST_WORDS):
        mode = words[0].lower() if words else "open"
        return await _list(ctx, request, mode=mode, tags=parsed.tags)
    whole = await ctx.accounts.find(" ".join(words))
    if whole.match is not None and _is_named(whole.match, " ".join(words)):
        return await _list(ctx, request, mode="account", account=whole.match, tags=parsed.tags)
    if len(words) == 1:
        return choice_reply(whole)
    # Sending: the account is the shortest run of leading words that names exactly one account.
    ambiguous = None
    for n in range(1, min(MAX_ACCOUNT_WORDS, len(words) - 1) + 1):
        typed = " ".join(words[:n])
        found = await ctx.accounts.find(typed)
        if found.match is not None and _is_named(found.match, typed):
            return await _send(ctx, request, found.match.id, " ".join(words[n:]), parsed)
        if found.candidates and ambiguous is None and all(_is_named(c, typed) for c in found.candidates):
            ambiguous = found.candidates
    text = " ".join(words)
    if ambiguous is not None:
        buttons = tuple(
            Button(
                label=truncate(ref.name, 75),
                action=actions.FEEDBACK_OPEN_FORM,
                payload={
                    "account_id": ref.id,
                    "text": truncate(text, PAYLOAD_TEXT),
                    "tags": ", ".join(parsed.tags),
                    "urgent": parsed.urgent,
                },
            )
            for ref in ambiguous
        )
        message = "Several accounts match. Which one is this feedback about?"
        return Reply(summary=message, blocks=(Text(message), Actions(buttons)))
    return await _send(ctx, request, None, text, parsed)


async def _send(
    ctx: BotContext, request: Request, account_id: int | None, text: str, parsed: _Parsed
) -> Reply:
    if not text.strip():
        raise BadArguments("What is the feedback? Try `feedback acme the export times out #bug`.")
    return await _submit(
        ctx, request, account_id=account_id, text=text, tags=parsed.tags, urgent=parsed.urgent, source="chat"
    )


async def _submit(
    ctx: BotContext,
    request: Request,
    *,
    account_id: int | None,
    text: str,
    tags: Sequence[str],
    urgent: bool,
    source: str,
    source_link: str | None = None,
) -> Reply:
    routing = routing_from_settings(ctx.settings)
    item = await submit_feedback(
        ctx.db,
        originator_id=request.actor.person_id,
        originator_team=team_of(request.actor.role),
        account_id=account_id,
        text=text,
        tags=tags,
        urgent=urgent,
        source=source,
        now=ctx.now(),
        routing=routing,
        source_link=source_link,
    )
    assert item is not None  # only a survey answer can already have an item
    async with ctx.db.sessions() as session:
        account_name = await session.scalar(select(Account.name).where(Account.id == account_id))
        recipient = None
        if item.recipient_id is not None:
            recipient = await session.scalar(select(Person.name).where(Person.id == item.recipient_id))
    channel = None
    if item.recipient_channel:
        channel = "the CX channel" if item.originator_team == CS_TEAM else "the CS channel"
    places = [p for p in (recipient, channel) if p]
    where = " and ".join(places) if places else "the admins (nobody is set up to receive it)"
    about = f" about **{account_name}**" if account_name else ""
    urgency = "🚨 urgent, " if item.urgent else ""
    if (
        item.urgent
        and not urgent
        and is_strongly_negative(item.sentiment, threshold=routing.strongly_negative)
    ):
        urgency = "🚨 urgent: strongly negative, "
    flags = urgency + (" ".join(f"#{t}" for t in item.tags) or "no tags")
    message = f"📨 Sent feedback #{item.id}{about} to {where} ({flags}). You'll hear when it moves."
    return Reply(summary=message.replace("**", ""), blocks=(Text(message),))


async def open_form_action(ctx: BotContext, request: Request) -> Response:
    values = {
        "text": str(request.payload.get("text") or ""),
        "tags": str(request.payload.get("tags") or ""),
        "urgency": "urgent" if request.payload.get("urgent") is True else "normal",
    }
    source = str(request.payload.get("source") or "chat")
    link = str(request.payload.get("source_link") or "") or None
    if request.payload.get("account_id") is None:
        return feedback_form(None, None, values=values, source_link=link, source=source)
    account_id = payload_int(request, "account_id")
    async with ctx.db.sessions() as session:
        name = await session.scalar(select(Account.name).where(Account.id == account_id))
    if name is None:
        raise NotFound("That account no longer exists.")
    return feedback_form(account_id, name, values=values, source_link=link, source=source)


async def save_action(ctx: BotContext, request: Request) -> Response:
    source = str(request.payload.get("source") or "chat")
    link = str(request.payload.get("source_link") or "") or None
    account_id: int | None = None
    account_name: str | None = None
    errors: dict[str, str] = {}
    if request.payload.get("account_id") is not None:
        account_id = payload_int(request, "account_id")
        async with ctx.db.sessions() as session:
            account_name = await session.scalar(select(Account.name).where(Account.id == account_id))
        if account_name is None:
            raise NotFound("That account no longer exists.")
        form = feedback_form(account_id, account_name, values=request.values, source_link=link, source=source)
    else:
        form = feedback_form(None, None, values=request.values, source_link=link, source=source)
        typed = (request.values.get("account") or "").strip()
        if typed:
            picked, problem = await ctx.accounts.pick(typed)
            if picked is not None:
                account_id = picked.id
            elif problem:
                errors["account"] = problem
    errors = {**validate_form(form, request.values, today=ctx.today(request.actor)), **errors}
    if errors:
        return feedback_form(
            None if form.payload.get("account_id") is None else account_id,
            account_name,
            values=request.values,
            source_link=link,
            source=source,
            errors=errors,
        )
    tags = [t for t in (request.values.get("tags") or "").replace(",", " ").split() if t]
    return await _submit(
        ctx,
        request,
        account_id=account_id,
        text=request.values["text"],
        tags=tags,
        urgent=request.values.get("urgency") == "urgent",
        source=source,
        source_link=link,
    )


# ---------------------------------------------------------------------------------------------- buttons


async def _card(ctx: BotContext, item: FeedbackItem, *, replace: bool) -> Reply:
    async with ctx.db.sessions() as session:
        account_name = await session.scalar(select(Account.name).where(Account.id == item.account_id))
        originator = await session.scalar(select(Person.name).where(Person.id == item.originator_id))
    card = item_reply(item, account_name, originator, for_recipient=True, strongly_negative=_threshold(ctx))
    return Reply(summary=card.summary, blocks=card.blocks, replace=replace)


def _threshold(ctx: BotContext) -> float:
    """The tone at or below which an item is marked strongly negative (the feedback settings)."""
    return routing_from_settings(ctx.settings).strongly_negative


async def _check(ctx: BotContext, request: Request) -> int:
    """The item a button names, once the actor may change it (a payload grants nothing)."""
    item_id = payload_int(request, "item_id")
    async with ctx.db.sessions() as session:
        await load_for_change(session, request.actor, item_id)
    return item_id


async def ack_action(ctx: BotContext, request: Request) -> Response:
    item = await transition(
        ctx.db,
        item_id=payload_int(request, "item_id"),
        actor=request.actor,
        to_state=FeedbackState.ACKNOWLEDGED.value,
        note=None,
        now=ctx.now(),
    )
    return await _card(ctx, item, replace=True)


async def resolve_action(ctx: BotContext, request: Request) -> Response:
    return resolve_form(await _check(ctx, request))


async def resolve_save_action(ctx: BotContext, request: Request) -> Response:
    item_id = payload_int(request, "item_id")
    form = resolve_form(item_id)
    errors = validate_form(form, request.values, today=ctx.today(request.actor))
    if errors:
        return resolve_form(item_id, errors=errors)
    item = await transition(
        ctx.db,
        item_id=item_id,
        actor=request.actor,
        to_state=FeedbackState.RESOLVED.value,
        note=request.values.get("note"),
        now=ctx.now(),
    )
    return await _card(ctx, item, replace=False)


async def reassign_action(ctx: BotContext, request: Request) -> Response:
    return reassign_form(await _check(ctx, request))


async def reassign_save_action(ctx: BotContext, request: Request) -> Response:
    item_id = payload_int(request, "item_id")
    email = (request.values.get("email") or "").strip()
    errors = validate_form(reassign_form(item_id), request.values, today=ctx.today(request.actor))
    if errors:
        return reassign_form(item_id, errors=errors, email=email)
    try:
        item, person = await reassign(
            ctx.db,
            item_id=item_id,
            actor=request.actor,
            email=email,
            now=ctx.now(),
            strongly_negative=_threshold(ctx),
        )
    except NotFound as error:
        return reassign_form(item_id, errors={"email": error.message}, email=email)
    message = f"↪️ Feedback #{item.id} is now {person.name}'s; they have been told."
    return Reply(summary=message, blocks=(Text(message),))


# ------------------------------------------------------------------------------------------------- lists


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    item: FeedbackItem
    account_name: str | None
    originator_name: str | None
    recipient_name: str | None


async def _list(
    ctx: BotContext,
    request: Request,
    *,
    mode: str,
    tags: Sequence[str] = (),
    account: AccountRef | None = None,
) -> Reply:
    actor = request.actor
    me = actor.person_id
    assert me is not None
    originator = aliased(Person)
    recipient = aliased(Person)
    query = (
        select(FeedbackItem, Account.name, originator.name, recipient.name)
        .outerjoin(Account, Account.id == FeedbackItem.account_id)
        .outerjoin(originator, originator.id == FeedbackItem.originator_id)
        .outerjoin(recipient, recipient.id == FeedbackItem.recipient_id)
        .order_by(FeedbackItem.created_at.desc(), FeedbackItem.id.desc())
        .limit(MAX_LISTED)
    )
    if account is not None:
        title = f"Feedback about {account.name}"
        query = query.where(FeedbackItem.account_id == account.id)
    else:
        query = query.where(FeedbackItem.state != FeedbackState.RESOLVED.value)
        mine = or_(FeedbackItem.recipient_id == me, FeedbackItem.originator_id == me)
        if mode == "mine":
            title = "Your open feedback"
            query = query.where(mine)
        elif actor.role == Role.ADMIN.value:
            title = "Open feedback"
        elif actor.role == Role.CX.value:
            title = "Open feedback for CX and you"
            to_cx = (FeedbackItem.recipient_id.is_(None)) & (FeedbackItem.originator_team == CS_TEAM)
            query = query.where(or_(mine, to_cx))
        elif actor.role == Role.CS_MANAGER.value:
            title = "Open feedback for your team"
            query = query.where(or_(mine, recipient.manager_id == me))
        else:
            title = "Your open feedback"
            query = query.where(mine)
    async with ctx.db.sessions() as session:
        rows = [FeedbackRow(*row) for row in (await session.execute(query)).all()]
    if tags:
        wanted = set(tags)
        rows = [r for r in rows if wanted <= set(r.item.tags or ())]
        title += " tagged " + " ".join(f"#{t}" for t in tags)
    return list_reply(request, title, rows, now=ctx.now(), strongly_negative=_threshold(ctx))


def list_reply(
    request: Request,
    title: str,
    rows: Sequence[FeedbackRow],
    *,
    now: datetime,
    strongly_negative: float = STRONGLY_NEGATIVE,
) -> Reply:
    """Ten at a time with a More button; open items carry their buttons, resolved ones none."""
    if not rows:
        return Reply(summary=f"{title}: none.", blocks=(Text(f"{title}: none. 🎉"),), shared=request.share)
    page = paginate(rows, request)
    blocks: list[Block] = [Header(title)]
    for row in page.items:
        blocks.append(Text(feedback_line(row, now, strongly_negative=strongly_negative)))
        if row.item.state != FeedbackState.RESOLVED.value:
            blocks.append(Actions(item_buttons(row.item)))
    blocks.append(Context((page.caption,)))
    if page.more:
        blocks.append(Actions((page.more,)))
    return Reply(
        summary=f"{title}: {page.caption}",
        blocks=tuple(blocks),
        shared=request.share,
        replace=page.offset > 0,
    )


def feedback_line(row: FeedbackRow, now: datetime, *, strongly_negative: float = STRONGLY_NEGATIVE) -> str:
    """One item in a list; a strongly negative one shows the marker and its score."""
    item = row.item
    state = STATE_LABELS.get(item.state, item.state)
    about = f"**{row.account_name}**" if row.account_name else "**(many accounts)**"
    tags = "".join(f" #{t}" for t in item.tags or ())
    urgent = "🚨 " if item.urgent else ""
    marker = strongly_negative_marker(item.sentiment, threshold=strongly_negative)
    if marker:
        urgent += f"{marker} "
    who = row.originator_name or "a survey"
    to = row.recipient_name or ("CX" if item.originator_team == CS_TEAM else "CS")
    days = max(0, (now - item.created_at).days)
    age = "today" if days == 0 else f"{days}d ago"
    return f"{urgent}{state} #{item.id} {about}{tags}: {truncate(item.text, 160)} · {who} → {to} · {age}"
