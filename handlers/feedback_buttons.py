"""The recipient's buttons on a feedback item: Acknowledge, Resolve (with its note form) and Reassign
(with its email form). Acknowledge rewrites the clicked card; every change also rewrites the item's
other messages through the outbox (they are living messages), so a form only confirms."""

from __future__ import annotations

from sqlalchemy import select

from bot import actions
from bot.core.context import BotContext
from bot.errors import NotFound
from bot.feedback.items import load_for_change, reassign, transition
from bot.feedback.messages import item_reply
from bot.types import Button, Form, FormInput, InputKind, Reply, Request, Response, Text, validate_form
from handlers.accounts import payload_int
from handlers.feedback_lists import strongly_negative_threshold
from storage.models import Account, FeedbackItem, FeedbackState, Person


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


async def _card(ctx: BotContext, item: FeedbackItem, *, replace: bool) -> Reply:
    async with ctx.db.sessions() as session:
        account_name = await session.scalar(select(Account.name).where(Account.id == item.account_id))
        originator = await session.scalar(select(Person.name).where(Person.id == item.originator_id))
    card = item_reply(
        item, account_name, originator, for_recipient=True, strongly_negative=strongly_negative_threshold(ctx)
    )
    return Reply(summary=card.summary, blocks=card.blocks, replace=replace)


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
        strongly_negative=strongly_negative_threshold(ctx),
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
        strongly_negative=strongly_negative_threshold(ctx),
    )
    # The item's own messages are rewritten to show it resolved; the form's answer only confirms.
    told = (
        " and whoever sent it has been told"
        if item.originator_id not in (None, request.actor.person_id)
        else ""
    )
    message = f"✅ Feedback #{item.id} is resolved: its message shows it{told}."
    return Reply(summary=message, blocks=(Text(message),))


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
            strongly_negative=strongly_negative_threshold(ctx),
        )
    except NotFound as error:
        return reassign_form(item_id, errors={"email": error.message}, email=email)
    message = f"↪️ Feedback #{item.id} is now {person.name}'s; they have been told."
    return Reply(summary=message, blocks=(Text(message),))
