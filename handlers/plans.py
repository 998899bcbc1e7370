"""Success plans: ``plan ACCOUNT`` shows an account's desired outcomes with their progress, ``plan ACCOUNT
add`` (or the Add outcome button) defines a new one, Mark achieved closes a manual one, and an achieved
outcome's summary is shared to a channel (the button on the owner's message, or ``plan share ID``).

Everyone registered may read a plan; changing it is for the account's owner, the owner's manager and
admins, checked again on every click and submit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions
from bot.core.context import BotContext
from bot.core.registry import Registry
from bot.errors import BadArguments, NotFound
from bot.feedback.routing import channel_address
from bot.format import plural, truncate
from bot.health.measures import METRICS
from bot.health.outcomes import OutcomeState
from bot.serialize import outbox_message
from bot.success import demonstrate
from bot.success.plan_text import PROGRESS_LABEL, outcome_text
from bot.success.plans import account_plan, value_now
from bot.types import (
    Actions,
    Address,
    Block,
    Button,
    Context,
    Form,
    FormInput,
    Header,
    InputKind,
    Option,
    Payload,
    Platform,
    Reply,
    Request,
    Response,
    Text,
    validate_form,
)
from handlers.accounts import choice_reply, payload_int
from handlers.changes import account_for_change, audit_change
from storage import outbox, queries
from storage.models import Outcome, OutcomeComparison, OutcomeStatus, TeamsConversation

SHARE_PURPOSE = "outcome_share"
MANUAL = "manual"
MANUAL_LABEL = "Manual: a person marks it achieved"
ADD_WORD = "add"
SHARE_WORD = "share"
MAX_SHOWN = 15  # outcomes on one card; a plan is "a few", this only keeps a runaway list inside limits
TEAMS_CHANNEL = "channel"


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
        return await _form_for(ctx, request, found.match.id)
    return await plan_card(ctx, request, found.match.id)


def _outcome_id(text: str) -> int:
    value = int(text)
    if not 0 < value < 2**31:
        raise NotFound(f"There is no outcome {text}.")
    return value


async def open_plan_action(ctx: BotContext, request: Request) -> Response:
    return await plan_card(ctx, request, payload_int(request, "account_id"))


# ---------------------------------------------------------------------------------------------- card


async def plan_card(
    ctx: BotContext, request: Request, account_id: int, *, notice: str | None = None, replace: bool = False
) -> Reply:
    today = ctx.today(request.actor)
    async with ctx.db.sessions() as session:
        account = await queries.account_by_id(session, account_id)
        if account is None:
            raise NotFound("That account no longer exists.")
        states = await account_plan(session, account_id, today)
    reply = plan_reply(account.id, account.name, states, today, notice=notice)
    return Reply(summary=reply.summary, blocks=reply.blocks, shared=request.share, replace=replace)


def plan_reply(
    account_id: int,
    account_name: str,
    states: Sequence[OutcomeState],
    today: date,
    *,
    notice: str | None = None,
) -> Reply:
    """The plan card: a line per outcome (mark, title, progress bar, value against target, due date,
    customer owner), Mark achieved under each open manual outcome, and Add outcome."""
    add = Button(
        label="Add outcome",
        action=actions.PLAN_OPEN_FORM,
        payload={"account_id": account_id},
        style="primary",
    )
    blocks: list[Block] = [Header(f"Success plan: {account_name}")]
    if notice:
        blocks.append(Text(notice))
    if not states:
        text = f"No success plan yet for **{account_name}**. Add the outcomes the customer wants to reach."
        blocks += [Text(text), Actions((add,))]
        return Reply(summary=f"{account_name}: no success plan yet", blocks=tuple(blocks))
    for state in states[:MAX_SHOWN]:
        blocks.append(Text(outcome_text(state, today)))
        if _can_mark(state):
            mark = Button(
                label="Mark achieved", action=actions.PLAN_ACHIEVE, payload={"outcome_id": state.outcome.id}
            )
            blocks.append(Actions((mark,)))
    counts = _counts(states)
    context = [counts]
    if len(states) > MAX_SHOWN:
        context.append(f"…and {len(states) - MAX_SHOWN} more")
    blocks.append(Context(tuple(context)))
    blocks.append(Actions((add,)))
    return Reply(summary=f"{account_name} success plan: {counts}", blocks=tuple(blocks))


def _can_mark(state: OutcomeState) -> bool:
    """Mark achieved is offered on open manual outcomes (measurable ones are checked from the data)."""
    return state.outcome.metric is None and state.outcome.status == OutcomeStatus.OPEN.value


def _counts(states: Sequence[OutcomeState]) -> str:
    """ "4 outcomes: 1 at risk, 2 on track, 1 achieved"."""
    order = list(PROGRESS_LABEL)
    found = {p: sum(1 for s in states if s.progress is p) for p in order}
    parts = [f"{n} {PROGRESS_LABEL[p]}" for p, n in found.items() if n]
    return f"{plural(len(states), 'outcome')}: " + ", ".join(parts)


# ---------------------------------------------------------------------------------------------- form


def metric_options() -> tuple[Option, ...]:
    """Every metric an outcome can follow, by its label, then the manual kind."""
    options = [
        Option(value=name, label=spec.label[:1].upper() + spec.label[1:]) for name, spec in METRICS.items()
    ]
    return (*options, Option(value=MANUAL, label=MANUAL_LABEL))


def outcome_form(
    account_id: int,
    account_name: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Form:
    values = values or {}
    payload: Payload = {"account_id": account_id}
    return Form(
        title="Add outcome",
        inputs=(
            FormInput(
                id="outcome",
                label=f"Outcome for {truncate(account_name, 60)}",
                initial=values.get("outcome") or None,
                placeholder="For example: 200 weekly active users",
                max_length=200,
            ),
            FormInput(
                id="metric",
                label="Measured by",
                kind=InputKind.SELECT,
                initial=values.get("metric") or None,
                options=metric_options(),
            ),
            FormInput(
                id="target",
                label="Target (a number; empty for a manual outcome)",
                required=False,
                initial=values.get("target") or None,
                max_length=30,
            ),
            FormInput(
                id="due_date",
                label="Due date",
                kind=InputKind.DATE,
                initial=values.get("due_date") or None,
                min_date="today",
            ),
            FormInput(
                id="customer_owner",
                label="Owner on the customer's side",
                required=False,
                initial=values.get("customer_owner") or None,
                max_length=200,
            ),
        ),
        submit_action=actions.PLAN_SAVE,
        submit_label="Add",
        payload=payload,
        errors=errors or {},
        opener=Button(label="Add outcome", action=actions.PLAN_OPEN_FORM, payload=payload, style="primary"),
    )


def parse_target(raw: str | None, metric: str | None) -> tuple[float | None, str | None]:
    """The target typed for ``metric`` (None: manual), or the problem to show under the field."""
    text = (raw or "").strip().replace(",", "").replace(" ", "").removesuffix("%")
    if metric is None:
        if text:
            return None, "A manual outcome has no target: leave it empty, or choose what measures it."
        return None, None
    if not text:
        return None, "A measured outcome needs a target, for example 200."
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        return None, "The target must be a number, for example 200 or 4.5."
    spec = METRICS.get(metric)
    if spec is not None and not spec.allows(value):
        return None, f"A target for {spec.label} must be {_bounds(spec.low, spec.high)}."
    return value, None


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    if low is not None:
        return f"{low:g} or more"
    return f"{high:g} or less"


async def open_form_action(ctx: BotContext, request: Request) -> Response:
    return await _form_for(ctx, request, payload_int(request, "account_id"))


async def _form_for(ctx: BotContext, request: Request, account_id: int) -> Form:
    async with ctx.db.sessions() as session:
        account = await account_for_change(session, request.actor, account_id)
    return outcome_form(account.id, account.name)


async def save_action(ctx: BotContext, request: Request) -> Response:
    account_id = payload_int(request, "account_id")
    today = ctx.today(request.actor)
    values = request.values
    title = " ".join((values.get("outcome") or "").split())
    try:
        async with ctx.db.transaction() as session:
            account = await account_for_change(session, request.actor, account_id)
            errors = validate_form(outcome_form(account.id, account.name), values, today=today)
            chosen = (values.get("metric") or "").strip()
            metric = None if chosen in ("", MANUAL) else chosen
            target, problem = parse_target(values.get("target"), metric)
            if problem and "metric" not in errors:
                errors.setdefault("target", problem)
            if title and "outcome" not in errors and await _title_taken(session, account.id, title):
                errors["outcome"] = _duplicate(title)
            if errors:
                return outcome_form(account.id, account.name, values=values, errors=errors)
            spec = METRICS[metric] if metric is not None else None
            outcome = Outcome(
                account_id=account.id,
                title=title,
                metric=metric,
                comparison=spec.comparison if spec is not None else OutcomeComparison.AT_LEAST.value,
                target=target,
                baseline=await value_now(session, account.id, metric, today) if metric is not None else None,
                start_date=today,
                due_date=date.fromisoformat(values["due_date"].strip()),
                customer_owner=" ".join((values.get("customer_owner") or "").split()) or None,
                status=OutcomeStatus.OPEN.value,
                created_by_id=request.actor.person_id,
                created_at=ctx.now(),
                updated_at=ctx.now(),
            )
            session.add(outcome)
            await session.flush()
            audit_change(
                session,
                request.actor,
                action="outcome.added",
                object_type="outcome",
                object_id=outcome.id,
                details={"account_id": account.id, "title": title, "metric": metric, "target": target},
            )
    except IntegrityError:  # the same title saved a moment ago by someone else
        async with ctx.db.sessions() as session:
            account = await account_for_change(session, request.actor, account_id)
        return outcome_form(account.id, account.name, values=values, errors={"outcome": _duplicate(title)})
    return await plan_card(ctx, request, account_id, notice=f"✅ Added “{title}” to the plan.")


async def _title_taken(session: AsyncSession, account_id: int, title: str) -> bool:
    """Titles are unique per account; "Go live" and "go live" would read as the same outcome."""
    found = await session.scalar(
        select(Outcome.id).where(Outcome.account_id == account_id, func.lower(Outcome.title) == title.lower())
    )
    return found is not None


def _duplicate(title: str) -> str:
    return f"The plan already has an outcome called “{truncate(title, 80)}”."


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


# --------------------------------------------------------------------------------------------- share


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
