"""Demonstrate: when an outcome of a success plan is achieved, its account's owner CSM hears about it with a
summary ready to share with the customer (what was agreed, when, the numbers before and now) and a button
to post that summary to a channel.

It happens once per outcome. The owner's message is queued in the outbox (key ``outcome-achieved:{id}``)
in the same transaction that sets ``Outcome.demonstrated_at``, and that column is claimed with one
conditional UPDATE, so marking an outcome twice, the nightly check running twice or on two replicas, and
two clicks at the same moment all send one message. An owner who cannot be reached (no owner, or no Slack
or Teams identity) leaves the outcome undemonstrated: the nightly check tries again for a while.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions
from bot.format import day_text, plural
from bot.health.measures import METRICS, Style
from bot.log import get_logger
from bot.recipients import address_for
from bot.serialize import outbox_message
from bot.types import Actions, Block, Button, Fields, Header, Reply, Text
from storage import outbox
from storage.db import Database
from storage.models import (
    Account,
    Outcome,
    OutcomeStatus,
    Person,
)

log = get_logger("touchpoint.demonstrate")

PURPOSE = "outcome"
RETRY_DAYS = 14  # how long an achieved outcome whose owner could not be reached is tried again


def achieved_key(outcome_id: int) -> str:
    """The outbox key of the owner's message: one per outcome, ever."""
    return f"outcome-achieved:{outcome_id}"


# ------------------------------------------------------------------------------------------ recording


async def record_achieved(
    session: AsyncSession, outcome_id: int, *, now: datetime, value: float | None, by: int | None
) -> bool:
    """Mark an open outcome achieved (``by`` the person who said so, None when the data showed it).
    False when it was not open any more: someone or something else got there first."""
    result = await session.execute(
        update(Outcome)
        .where(Outcome.id == outcome_id, Outcome.status == OutcomeStatus.OPEN.value)
        .values(
            status=OutcomeStatus.ACHIEVED.value,
            achieved_at=now,
            achieved_value=value,
            achieved_by_id=by,
            updated_at=now,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_missed(session: AsyncSession, outcome_id: int, *, now: datetime) -> bool:
    """Mark an open outcome missed; False when it was not open any more."""
    result = await session.execute(
        update(Outcome)
        .where(Outcome.id == outcome_id, Outcome.status == OutcomeStatus.OPEN.value)
        .values(status=OutcomeStatus.MISSED.value, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -------------------------------------------------------------------------------------------- summary


@dataclass(frozen=True, slots=True)
class Achievement:
    """What the summary says about one achieved outcome."""

    outcome_id: int
    account_name: str
    title: str
    metric: str | None
    comparison: str
    target: float | None
    baseline: float | None
    start_date: date
    due_date: date
    customer_owner: str | None
    achieved_on: date
    achieved_value: float | None
    achieved_by: str | None  # who marked it; None when the data showed it


def metric_value(metric: str | None, value: float | None) -> str:
    """A value with what it counts: "212 weekly active users", "NPS +34" ("n/a" when there is none)."""
    if value is None:
        return "n/a"
    spec = METRICS.get(metric or "")
    return spec.describe(value) if spec is not None else f"{value:g}"


def target_phrase(metric: str | None, target: float | None, comparison: str) -> str:
    """The target as a phrase: "200 weekly active users", "5 or less open tickets", "NPS +30"."""
    spec = METRICS.get(metric or "")
    if target is None:
        return "n/a"
    if spec is None:
        return f"{target:g}"
    shown = spec.target_text(target, comparison)
    return f"{shown} {spec.label}" if spec.style is Style.COUNT else shown


def agreed_text(achievement: Achievement) -> str:
    """ "200 weekly active users by Wed 31 Mar 2027"; a manual outcome's own title instead."""
    a = achievement
    what = a.title if a.metric is None else target_phrase(a.metric, a.target, a.comparison)
    return f"{what} by {day_text(a.due_date)}"


def timing_text(achieved_on: date, due_date: date) -> str:
    """ "12 days before the due date", "on the due date", "3 days after the due date"."""
    ahead = (due_date - achieved_on).days
    if ahead == 0:
        return "on the due date"
    if ahead > 0:
        return f"{plural(ahead, 'day')} before the due date"
    return f"{plural(-ahead, 'day')} after the due date"


def summary_reply(achievement: Achievement) -> Reply:
    """The ready-to-share summary: what was agreed, when and with whom, the numbers before and now."""
    a = achievement
    agreed_on = f"agreed on {day_text(a.start_date)}" + (
        f" with {a.customer_owner}" if a.customer_owner else ""
    )
    facts: list[tuple[str, str]] = [("What was agreed", agreed_text(a)), ("When", agreed_on)]
    if a.metric is not None:
        before = "not measured" if a.baseline is None else metric_value(a.metric, a.baseline)
        facts.append(("Before", f"{before} on {day_text(a.start_date)}"))
        facts.append(
            ("Now", "not measured" if a.achieved_value is None else metric_value(a.metric, a.achieved_value))
        )
    achieved = f"{day_text(a.achieved_on)}, {timing_text(a.achieved_on, a.due_date)}"
    if a.achieved_by:
        achieved += f" (marked by {a.achieved_by})"
    facts.append(("Achieved", achieved))
    blocks: list[Block] = [
        Header(f"🎉 {a.account_name}: outcome achieved"),
        Text(f"**{a.title}**"),
        Fields(tuple(facts)),
    ]
    return Reply(summary=f"{a.account_name} achieved “{a.title}”", blocks=tuple(blocks))


def owner_message(achievement: Achievement) -> Reply:
    """The owner CSM's copy: a line for them, the summary, and the button to share it."""
    summary = summary_reply(achievement)
    intro = Text(
        f"An outcome of **{achievement.account_name}** was achieved. Here is a summary ready to share "
        "with the customer and your team:"
    )
    share = Button(
        label="Share to a channel",
        action=actions.PLAN_SHARE,
        payload={"outcome_id": achievement.outcome_id},
        style="primary",
    )
    return Reply(summary=summary.summary, blocks=(intro, *summary.blocks, Actions((share,))))


async def load_achievement(session: AsyncSession, outcome_id: int) -> Achievement | None:
    """The achieved outcome ``outcome_id`` as its summary needs it; None when it is not achieved (or gone)."""
    row = (
        await session.execute(
            select(Outcome, Account.name, Person.name)
            .join(Account, Account.id == Outcome.account_id)
            .outerjoin(Person, Person.id == Outcome.achieved_by_id)
            .where(Outcome.id == outcome_id)
        )
    ).one_or_none()
    if row is None:
        return None
    outcome, account_name, achieved_by = row
    if outcome.status != OutcomeStatus.ACHIEVED.value:
        return None
    achieved_at = outcome.achieved_at or outcome.updated_at
    return Achievement(
        outcome_id=outcome.id,
        account_name=account_name,
        title=outcome.title,
        metric=outcome.metric,
        comparison=outcome.comparison,
        target=outcome.target,
        baseline=outcome.baseline,
        start_date=outcome.start_date,
        due_date=outcome.due_date,
        customer_owner=outcome.customer_owner,
        achieved_on=achieved_at.date(),
        achieved_value=outcome.achieved_value,
        achieved_by=achieved_by,
    )


# ---------------------------------------------------------------------------------------- demonstrate


async def demonstrate(session: AsyncSession, outcome_id: int, *, now: datetime) -> bool:
    """Queue the owner CSM's message about achieved outcome ``outcome_id`` in ``session``'s transaction;
    True when it was queued now. False when it was sent before, the outcome is not achieved, or the owner
    cannot be reached (then nothing is claimed, so a later run may try again).

    The claim is the first write: one UPDATE that only one transaction can make, so concurrent callers
    wait for each other and the loser finds the column set."""
    claimed = await session.execute(
        update(Outcome)
        .where(
            Outcome.id == outcome_id,
            Outcome.status == OutcomeStatus.ACHIEVED.value,
            Outcome.demonstrated_at.is_(None),
        )
        .values(demonstrated_at=now)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    achievement = await load_achievement(session, outcome_id)
    owner = (
        await session.execute(
            select(Person.id, Person.slack_user_id, Person.teams_user_id)
            .join(Account, Account.owner_id == Person.id)
            .join(Outcome, Outcome.account_id == Account.id)
            .where(Outcome.id == outcome_id)
        )
    ).one_or_none()
    address = None if owner is None else address_for(owner.id, owner.slack_user_id, owner.teams_user_id)
    if achievement is None or address is None:
        await session.execute(update(Outcome).where(Outcome.id == outcome_id).values(demonstrated_at=None))
        log.warning(
            "outcome_owner_unreachable",
            outcome_id=outcome_id,
            reason="no owner" if owner is None else "no Slack or Teams identity",
        )
        return False
    message = outbox_message(achieved_key(outcome_id), PURPOSE, address, owner_message(achievement))
    await outbox.enqueue_in(session, [message], now=now)  # the same key never makes a second message
    log.info("outcome_demonstrated", outcome_id=outcome_id, owner_id=owner.id if owner else None)
    return True


async def demonstrate_outcome(db: Database, outcome_id: int, *, now: datetime) -> bool:
    """:func:`demonstrate` in a transaction of its own."""
    async with db.transaction() as session:
        return await demonstrate(session, outcome_id, now=now)


async def demonstrate_pending(db: Database, *, now: datetime, ids: Sequence[int] | None = None) -> int:
    """Demonstrate achieved outcomes not demonstrated yet: ``ids``, or every one achieved in the last
    :data:`RETRY_DAYS` days (an owner who could not be reached before may be reachable now). Returns how
    many messages were queued."""
    if ids is None:
        async with db.sessions() as session:
            ids = list(
                (
                    await session.scalars(
                        select(Outcome.id)
                        .where(
                            Outcome.status == OutcomeStatus.ACHIEVED.value,
                            Outcome.demonstrated_at.is_(None),
                            Outcome.achieved_at >= now - timedelta(days=RETRY_DAYS),
                        )
                        .order_by(Outcome.id)
                    )
                ).all()
            )
    sent = 0
    for outcome_id in ids:
        sent += await demonstrate_outcome(db, outcome_id, now=now)
    return sent
