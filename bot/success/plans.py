"""Success plans over the database: each account's outcomes with their progress as of a day.

Reads only. The health inputs loader (:func:`bot.health.load.load_inputs`) already reads everything
progress needs (usage windows, survey answers and the outcomes themselves) in a few set-based queries,
so a plan for one account or for a page of accounts costs the same handful of queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.health.load import Accounts, load_inputs
from bot.health.measures import current_value
from bot.health.outcomes import OutcomeState, evaluate, plan_order


async def plans_for_accounts(
    session: AsyncSession, account_ids: Sequence[int], day: date
) -> dict[int, list[OutcomeState]]:
    """Every outcome of each account (any status) defined by ``day``, in plan order (see
    :func:`account_plan`). Accounts that exist but have no plan map to an empty list; unknown ids are
    left out."""
    if not account_ids:
        return {}
    loaded = await load_inputs(session, day, Accounts.of(sorted(set(account_ids))))
    return {
        inputs.account_id: plan_order(evaluate(outcome, inputs) for outcome in inputs.outcomes)
        for inputs in loaded
    }


async def account_plan(session: AsyncSession, account_id: int, day: date) -> list[OutcomeState]:
    """The account's outcomes as of ``day``: at risk first, then on track / no data / awaiting, then
    achieved, then missed; ties by due date. Empty for an unknown account."""
    plans = await plans_for_accounts(session, [account_id], day)
    return plans.get(account_id, [])


async def value_now(session: AsyncSession, account_id: int, metric: str, day: date) -> float | None:
    """The metric's current value on ``day``: what a new outcome's baseline is set to when defined."""
    loaded = await load_inputs(session, day, Accounts.of([account_id]))
    return current_value(loaded[0], metric) if loaded else None


__all__ = ["account_plan", "plans_for_accounts", "value_now"]
