"""Sharing an achieved outcome's summary: the channel form (Slack's picker, the Teams channels Touchpoint
is in, or a typed channel in the console), posting through the outbox, and ``plan share ID`` in a
channel."""

from __future__ import annotations

from sqlalchemy import select

from bot import actions
from bot.core.context import BotContext
from bot.errors import BadArguments, NotFound
from bot.feedback.routing import channel_address
from bot.format import truncate
from bot.serialize import outbox_message
from bot.success import demonstrate
from bot.types import (
    Address,
    Button,
    Form,
    FormInput,
    InputKind,
    Option,
    Platform,
    Reply,
    Request,
    Response,
    Text,
    validate_form,
)
from handlers.accounts import payload_int
from storage import outbox
from storage.models import Outcome, TeamsConversation

SHARE_PURPOSE = "outcome_share"
TEAMS_CHANNEL = "channel"


def share_form(
    outcome_id: int, options: tuple[Option, ...], platform: Platform, *, errors: dict[str, str] | None = None
) -> Form:
    """Which channel the summary goes to: Slack's channel picker, a choice among the Teams channels
    Touchpoint is in, or (in the console) a channel typed as ``slack:C123`` or ``teams:19:...``."""
    label = "Channel (slack:C123 or teams:19:...)" if platform is Platform.CONSOLE else "Channel"
    return Form(
        title="Share to a channel",
        inputs=(
            FormInput(
                id="channel",
                label=label,
                kind=InputKind.CONVERSATION,
                options=options,
                placeholder="Choose a channel",
                max_length=200,  # the outbox key holds it
            ),
        ),
        submit_action=actions.PLAN_SHARE_SAVE,
        submit_label="Post",
        payload={"outcome_id": outcome_id},
        errors=errors or {},
        opener=Button(
            label="Share to a channel", action=actions.PLAN_SHARE, payload={"outcome_id": outcome_id}
        ),
    )


async def teams_channels(ctx: BotContext) -> tuple[Option, ...]:
    """The Teams channels Touchpoint is installed in, by the name their stored reference holds."""
    async with ctx.db.sessions() as session:
        rows = (
            await session.execute(
                select(TeamsConversation.conversation_id, TeamsConversation.reference)
                .where(TeamsConversation.kind == TEAMS_CHANNEL)
                .order_by(TeamsConversation.id)
            )
        ).all()
    options = [
        Option(value=conversation_id, label=channel_label(conversation_id, reference))
        for conversation_id, reference in rows
    ]
    return tuple(sorted(options, key=lambda o: o.label.casefold()))


def channel_label(conversation_id: str, reference: object) -> str:
    """ "#Renewals" from the stored reference's conversation name, else a short form of the id."""
    conversation = reference.get("conversation") if isinstance(reference, dict) else None
    name = conversation.get("name") if isinstance(conversation, dict) else None
    if isinstance(name, str) and name.strip():
        return f"#{truncate(name.strip(), 60)}"
    return f"channel {truncate(conversation_id, 24)}"


async def _achievement(ctx: BotContext, outcome_id: int) -> demonstrate.Achievement:
    async with ctx.db.sessions() as session:
        achievement = await demonstrate.load_achievement(session, outcome_id)
        exists = (
            achievement is not None
            or (await session.scalar(select(Outcome.id).where(Outcome.id == outcome_id))) is not None
        )
    if not exists:
        raise NotFound("That outcome no longer exists.")
    if achievement is None:
        raise BadArguments("Only an achieved outcome can be shared; this one is not achieved yet.")
    return achievement


async def _share_options(ctx: BotContext, platform: Platform) -> tuple[Option, ...] | None:
    """The choices of the channel field (empty: any channel); None on Teams when there is no channel."""
    if platform is not Platform.TEAMS:
        return ()
    options = await teams_channels(ctx)
    return options or None


NO_TEAMS_CHANNEL = (
    "Touchpoint is not in any team channel yet. Add Touchpoint to a team channel, then share again "
    "(or type `@Touchpoint plan share {id}` in the channel)."
)


async def share_action(ctx: BotContext, request: Request) -> Response:
    outcome_id = payload_int(request, "outcome_id")
    await _achievement(ctx, outcome_id)
    options = await _share_options(ctx, request.actor.platform)
    if options is None:
        text = NO_TEAMS_CHANNEL.format(id=outcome_id)
        return Reply(summary=text, blocks=(Text(text),))
    return share_form(outcome_id, options, request.actor.platform)


async def share_save_action(ctx: BotContext, request: Request) -> Response:
    outcome_id = payload_int(request, "outcome_id")
    platform = request.actor.platform
    achievement = await _achievement(ctx, outcome_id)
    found = await _share_options(ctx, platform)
    if found is None:  # removed from its last channel since the form was opened
        text = NO_TEAMS_CHANNEL.format(id=outcome_id)
        return Reply(summary=text, blocks=(Text(text),))
    options = found
    form = share_form(outcome_id, options, platform)
    errors = validate_form(form, request.values, today=ctx.today(request.actor))
    chosen = (request.values.get("channel") or "").strip()
    address = None if errors else share_address(platform, chosen)
    if address is None and not errors:
        errors["channel"] = (
            "Name the channel as slack:C123 or teams:19:..."
            if platform is Platform.CONSOLE
            else "Choose a channel."
        )
    if errors:
        return share_form(outcome_id, options, platform, errors=errors)
    assert address is not None
    label = next((o.label for o in options if o.value == chosen), None)
    where = channel_text(address, label)
    message = outbox_message(
        f"outcome-shared:{outcome_id}:{address.platform.value}:{address.target}",
        SHARE_PURPOSE,
        address,
        demonstrate.summary_reply(achievement),
    )
    new = await outbox.enqueue(ctx.db, [message], now=ctx.now())
    text = f"📣 Posted to {where}." if new else f"It was posted to {where} already."
    return Reply(summary=text, blocks=(Text(text),))


def share_address(platform: Platform, chosen: str) -> Address | None:
    """Where a chosen channel is: on the asker's platform, or (console) a ``slack:``/``teams:`` channel."""
    if platform is Platform.CONSOLE:
        return channel_address(chosen)
    if platform is Platform.SLACK and chosen[:1] not in ("C", "G"):
        return None
    return Address(platform=platform, target=chosen, private=False)


def channel_text(address: Address, label: str | None) -> str:
    """How the answer names the channel: a Slack channel link, else its name or id."""
    if address.platform is Platform.SLACK:
        return f"<#{address.target}>"
    return label or address.target


async def share_here(ctx: BotContext, request: Request, outcome_id: int) -> Response:
    """``plan share ID`` typed in a channel: the summary, shown to everyone there."""
    achievement = await _achievement(ctx, outcome_id)
    summary = demonstrate.summary_reply(achievement)
    return Reply(summary=summary.summary, blocks=summary.blocks, shared=True)
