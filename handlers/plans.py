"""Success plans: ``plan ACCOUNT`` shows an account's desired outcomes with their progress, ``plan ACCOUNT
add`` (or the Add outcome button) defines a new one, Mark achieved closes a manual one, and an achieved
outcome's summary is shared to a channel (the button on the owner's message, or ``plan share ID``).

Everyone registered may read a plan; changing it is for the account's owner, the owner's manager and
admins, checked again on every click and submit.

This module holds the command, Mark achieved and the area's registration; the card is in
:mod:`handlers.plans_card`, the Add outcome form in :mod:`handlers.plans_form` and sharing in
:mod:`handlers.plans_share`.
"""

from __future__ import annotations

from sqlalchemy import select

from bot import actions
from bot.core.context import BotContext
from bot.core.registry import Registry
from bot.errors import BadArguments, NotFound
from bot.success import demonstrate
from bot.success.plans import value_now
from bot.types import Request, Response
from handlers.accounts import choice_reply, payload_int
from handlers.changes import account_for_change, audit_change
from handlers.plans_card import plan_card
from handlers.plans_form import form_for, open_form_action, save_action
from handlers.plans_share import share_action, share_here, share_save_action
from storage.models import Outcome

ADD_WORD = "add"
SHARE_WORD = "share"


def register(registry: Registry) -> None:
    registry.command(
        "plan",
        usage="plan ACCOUNT [add] | plan share OUTCOME_ID",
        summary="the account's success plan: outcomes, progress, what was achieved",
    )(plan_command)
    registry.action(actions.PLAN_OPEN)(open_plan_action)
    registry.action(actions.PLAN_OPEN_FORM)(open_form_action)
    registry.action(actions.PLAN_SAVE)(save_action)
    registry.action(actions.PLAN_ACHIEVE)(achieve_action)
    registry.action(actions.PLAN_SHARE)(share_action)
    registry.action(actions.PLAN_SHARE_SAVE)(share_save_action)


# ------------------------------------------------------------------------------------------- command


async def plan_command(ctx: BotContext, request: Request) -> Response:
    args = list(request.args)
    if len(args) == 2 and args[0].lower() == SHARE_WORD and args[1].isdecimal():
        return await share_here(ctx, request, _outcome_id(args[1]))
    adding = len(args) > 1 and args[-1].lower() == ADD_WORD
    if adding:
        args = args[:-1]
    if not args:
        raise BadArguments("Which account? Try `plan acme`, or `plan acme add` to add an outcome.")
    found = await ctx.accounts.find(" ".join(args))
    if found.match is None:
        return choice_reply(found, actions.PLAN_OPEN_FORM if adding else actions.PLAN_OPEN)
    if adding:
        return await form_for(ctx, request, found.match.id)
    return await plan_card(ctx, request, found.match.id)


def _outcome_id(text: str) -> int:
    value = int(text)
    if not 0 < value < 2**31:
        raise NotFound(f"There is no outcome {text}.")
    return value


async def open_plan_action(ctx: BotContext, request: Request) -> Response:
    return await plan_card(ctx, request, payload_int(request, "account_id"))


# ------------------------------------------------------------------------------------- mark achieved


async def achieve_action(ctx: BotContext, request: Request) -> Response:
    """Mark achieved: checked, the value of the day read, then one short write that only one click wins
    (its first statement is the conditional update, so concurrent clicks queue rather than collide)."""
    outcome_id = payload_int(request, "outcome_id")
    today = ctx.today(request.actor)
    now = ctx.now()
    async with ctx.db.sessions() as session:
        outcome = await session.get(Outcome, outcome_id)
        if outcome is None:
            raise NotFound("That outcome no longer exists.")
        account_id, title, metric = outcome.account_id, outcome.title, outcome.metric
        await account_for_change(session, request.actor, account_id)
        value = await value_now(session, account_id, metric, today) if metric is not None else None
    async with ctx.db.transaction() as session:
        marked = await demonstrate.record_achieved(
            session, outcome_id, now=now, value=value, by=request.actor.person_id
        )
        if not marked:
            status = await session.scalar(select(Outcome.status).where(Outcome.id == outcome_id))
            notice = f"“{title}” is {status or 'gone'} already."
        else:
            audit_change(
                session,
                request.actor,
                action="outcome.achieved",
                object_type="outcome",
                object_id=outcome_id,
                details={"account_id": account_id, "value": value},
            )
            told = await demonstrate.demonstrate(session, outcome_id, now=now)
            notice = f"✅ Marked achieved: “{title}”." + (
                " The account's owner gets a summary ready to share." if told else ""
            )
    return await plan_card(ctx, request, account_id, notice=notice, replace=True)
