"""The nightly outcome check: open measurable outcomes that the data shows reached become achieved
(and their owners hear about it, see :mod:`bot.success.demonstrate`); those past their due date
without reaching the target become missed.

Accounts are read in batches of consecutive ids, each batch's plans evaluated with one call of
:func:`bot.success.plans.plans_for_accounts`. Every change is a conditional UPDATE of an outcome that is
still open, so running the check twice, or on two replicas at once, changes and sends nothing twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.health.outcomes import OutcomeState, Progress
from bot.log import get_logger
from bot.success.demonstrate import demonstrate_pending, record_achieved, record_missed
from bot.success.plans import plans_for_accounts
from storage import audit
from storage.db import Database
from storage.models import Account, Outcome, OutcomeStatus
from storage.queries import not_churned

log = get_logger("touchpoint.scheduler.outcomes")

BATCH = 500
AUDIT_PLATFORM = "scheduler"
AUDIT_ACTOR = "nightly outcome check"


@dataclass(frozen=True, slots=True)
class OutcomeCheck:
    """One run: accounts looked at, outcomes newly achieved and missed, owner messages queued."""

    accounts: int = 0
    achieved: int = 0
    missed: int = 0
    demonstrated: int = 0


# Open measurable outcomes of accounts that have not churned (a churned account's plan is over: nothing
# is marked achieved or missed for it, and nobody is told).
_OPEN_MEASURABLE = (
    Outcome.status == OutcomeStatus.OPEN.value,
    Outcome.metric.is_not(None),
    Outcome.account_id.in_(select(Account.id).where(not_churned())),
)


async def _next_accounts(db: Database, after: int, limit: int) -> list[int]:
    """Ids above ``after`` of accounts with an open measurable outcome, in order."""
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Outcome.account_id)
            .where(*_OPEN_MEASURABLE, Outcome.account_id > after)
            .group_by(Outcome.account_id)
            .order_by(Outcome.account_id)
            .limit(limit)
        )
        return list(rows.all())


async def accounts_to_check(db: Database) -> int:
    """How many accounts have an open measurable outcome (what a run of the check goes through)."""
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count(distinct(Outcome.account_id))).where(*_OPEN_MEASURABLE)
        )
    return int(count or 0)


async def check_outcomes(
    db: Database,
    *,
    day: date,
    now: datetime,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> OutcomeCheck:
    """Evaluate every open measurable outcome on ``day``; persist what is achieved or missed, then send
    the owners of newly achieved ones (and of any achieved earlier but not yet told) their summary.
    ``progress`` hears of the number of accounts in each batch evaluated."""
    changed: Counter[Progress] = Counter()
    accounts = 0
    after = 0
    while ids := await _next_accounts(db, after, batch):
        after = ids[-1]
        accounts += len(ids)
        async with db.sessions() as session:
            plans = await plans_for_accounts(session, ids, day)
        if progress is not None:
            progress(len(ids))
        due = [state for states in plans.values() for state in states if _to_persist(state)]
        if not due:
            continue
        # Reads done, the writes get a short transaction of their own whose first statement is a write
        # (SQLite then queues concurrent runs instead of failing them).
        async with db.transaction() as session:
            for state in due:
                if await _persist(session, state, now=now):
                    changed[state.progress] += 1
    demonstrated = await demonstrate_pending(db, now=now)
    result = OutcomeCheck(
        accounts=accounts,
        achieved=changed[Progress.ACHIEVED],
        missed=changed[Progress.MISSED],
        demonstrated=demonstrated,
    )
    log.info(
        "outcomes_checked",
        day=day.isoformat(),
        accounts=result.accounts,
        achieved=result.achieved,
        missed=result.missed,
        demonstrated=result.demonstrated,
    )
    return result


def _to_persist(state: OutcomeState) -> bool:
    """An open measurable outcome the data shows achieved or missed."""
    outcome = state.outcome
    return (
        outcome.metric is not None
        and outcome.status == OutcomeStatus.OPEN.value
        and state.progress in (Progress.ACHIEVED, Progress.MISSED)
    )


async def _persist(session: AsyncSession, state: OutcomeState, *, now: datetime) -> bool:
    """Store what the data shows of one open measurable outcome; True when this run changed it."""
    outcome = state.outcome
    if state.progress is Progress.ACHIEVED:
        changed = await record_achieved(session, outcome.id, now=now, value=state.current, by=None)
    elif state.progress is Progress.MISSED:
        changed = await record_missed(session, outcome.id, now=now)
    else:
        return False
    if changed:
        _audit(session, f"outcome.{state.progress.value}", outcome.id, {"value": state.current})
    return changed


def _audit(session: AsyncSession, action: str, outcome_id: int, details: dict[str, Any]) -> None:
    audit.record(
        session,
        action=action,
        object_type="outcome",
        object_id=outcome_id,
        platform=AUDIT_PLATFORM,
        actor_label=AUDIT_ACTOR,
        details=details,
    )
