"""The success plan card: an account's outcomes with their progress, Mark achieved under each open
manual one, the counts by progress, and Add outcome."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from bot import actions
from bot.core.cache import AccountCache, Built
from bot.core.context import BotContext
from bot.errors import NotFound
from bot.format import plural
from bot.health.outcomes import OutcomeState
from bot.success.plan_text import NO_VERDICT_LABEL, PROGRESS_LABEL, label_of, outcome_text
from bot.success.plans import account_plan
from bot.types import Actions, Block, Button, Context, Header, Reply, Request, Text
from storage import queries
from storage.models import OutcomeStatus

CACHE = "plan_card"
MAX_SHOWN = 15  # outcomes on one card; a plan is "a few", this only keeps a runaway list inside limits


async def plan_card(
    ctx: BotContext, request: Request, account_id: int, *, notice: str | None = None, replace: bool = False
) -> Reply:
    today = ctx.today(request.actor)
    cache: AccountCache[tuple[str, list[OutcomeState]]] = ctx.cache(CACHE)
    name, states = await cache.get(account_id, today, lambda: _read_plan(ctx, account_id, today))
    reply = plan_reply(account_id, name, states, today, notice=notice)
    return Reply(summary=reply.summary, blocks=reply.blocks, shared=request.share, replace=replace)


async def _read_plan(ctx: BotContext, account_id: int, today: date) -> Built[tuple[str, list[OutcomeState]]]:
    """The account's name and its outcomes on ``today``: all rows of the account, which the change
    marks cover, so the plan is kept per process like the account card and read again after a change."""
    async with ctx.db.sessions() as session:
        account = await queries.account_by_id(session, account_id)
        if account is None:
            raise NotFound("That account no longer exists.")
        states = await account_plan(session, account_id, today)
    return Built((account.name, states))


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
    """ "4 outcomes: 1 at risk, 2 on track, 1 achieved", each outcome counted under the label it shows."""
    found = Counter(label_of(s) for s in states)
    parts = [
        f"{found[label]} {label}" for label in (*PROGRESS_LABEL.values(), NO_VERDICT_LABEL) if found[label]
    ]
    return f"{plural(len(states), 'outcome')}: " + ", ".join(parts)
