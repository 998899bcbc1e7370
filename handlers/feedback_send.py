"""Sending feedback: the send form (opened from a button or an account card), its save action, and
:func:`submit`, which both the form and the typed ``feedback ACCOUNT TEXT`` use to send and answer."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from bot import actions
from bot.core.context import BotContext
from bot.errors import NotFound
from bot.feedback.items import submit_feedback
from bot.feedback.routing import CS_TEAM, MAX_TEXT, routing_from_settings, team_of
from bot.feedback.sentiment import is_strongly_negative
from bot.format import truncate
from bot.types import (
    Button,
    Form,
    FormInput,
    InputKind,
    Option,
    Payload,
    Reply,
    Request,
    Response,
    Text,
    validate_form,
)
from handlers.accounts import payload_int
from storage.models import Account, Person


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


async def submit(
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
    errors = {**errors, **validate_form(form, request.values, today=ctx.today(request.actor))}
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
    return await submit(
        ctx,
        request,
        account_id=account_id,
        text=request.values["text"],
        tags=tags,
        urgent=request.values.get("urgency") == "urgent",
        source=source,
        source_link=link,
    )
