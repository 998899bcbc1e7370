"""What the team and CSM digests share: the :class:`Digest` they build, band changes, the lines for
renewals, milestones and feedback, sections that stop at ten lines, and the cap on blocks per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.lines import item_buttons
from bot.format import (
    band_mark,
    day_text,
    days_until_text,
    money,
    plural,
    score_text,
)
from bot.health.service import AccountHealth
from bot.types import Actions, Block, Context, Reply, Text
from storage import queries
from storage.models import (
    Account,
    Band,
    FeedbackItem,
    FeedbackState,
    HealthSnapshot,
    Milestone,
    Person,
)
from storage.queries import AccountRow

QUIET = "All quiet: nothing needs you today."


MAX_BLOCKS = 40


MAX_LINES = 10  # lines in one list before "…and N more"


MAX_ITEMS_WITH_BUTTONS = 5  # each takes two blocks (the line and its buttons)


BANDS = (Band.RED, Band.YELLOW, Band.GREEN, Band.UNKNOWN)


BAND_RANK = {band.value: rank for rank, band in enumerate(BANDS)}


OPEN_FEEDBACK = (FeedbackState.NEW.value, FeedbackState.ACKNOWLEDGED.value)


FEEDBACK_MARKS = {FeedbackState.NEW.value: "🆕", FeedbackState.ACKNOWLEDGED.value: "👀"}


@dataclass(frozen=True, slots=True)
class Digest:
    """A digest to post: the reply, and the images its ``Image`` blocks name (file name -> PNG bytes)."""

    reply: Reply
    images: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BandChange:
    account_id: int
    account_name: str
    owner_id: int | None
    before: str
    after: str
    score_before: float | None
    score_after: float | None


async def comparison_day(session: AsyncSession, day: date | None, since: date | None) -> date | None:
    """The snapshot day to compare ``day`` with: the latest one on or before ``since``."""
    if day is None:
        return None
    since = day - timedelta(days=1) if since is None else since
    if since >= day:
        return None
    return await queries.latest_snapshot_day(session, since)


async def band_changes(
    session: AsyncSession, scope: list[ColumnElement[bool]], day: date, previous: date
) -> list[BandChange]:
    """Accounts whose band on ``day`` differs from ``previous``: worst new band first, then by name."""
    now, past = aliased(HealthSnapshot), aliased(HealthSnapshot)
    stmt = (
        select(now.account_id, Account.name, Account.owner_id, past.band, now.band, past.score, now.score)
        .join(Account, Account.id == now.account_id)
        .join(past, and_(past.account_id == now.account_id, past.day == previous))
        .where(now.day == day, now.band != past.band, *scope)
    )
    if scope:
        # Start from the scope's accounts: otherwise the day's snapshots of every account are walked
        # and filtered by owner afterwards (150-270 ms per CSM digest at 20,000 accounts on SQLite).
        stmt = stmt.where(now.account_id.in_(select(Account.id).where(*scope)))
    changes = [BandChange(*row) for row in await session.execute(stmt)]
    return sorted(changes, key=lambda c: (BAND_RANK.get(c.after, 9), c.account_name))


def milestone_columns() -> tuple[Any, ...]:  # column expressions of a MilestoneRow
    return (
        Milestone.id,
        Milestone.account_id,
        Account.name,
        Milestone.name,
        Milestone.kind,
        Milestone.due_date,
        Milestone.completed_at.is_not(None),
        Milestone.snoozed_until,
    )


def open_milestone(today: date) -> ColumnElement[bool]:
    return and_(
        Milestone.completed_at.is_(None),
        or_(Milestone.snoozed_until.is_(None), Milestone.snoozed_until <= today),
    )


@dataclass(frozen=True, slots=True)
class FeedbackLine:
    id: int
    account_name: str | None
    text: str
    state: str
    created_at: datetime
    recipient_name: str | None
    recipient_channel: str | None


def feedback_columns() -> tuple[Any, ...]:  # column expressions of a FeedbackLine
    return (
        FeedbackItem.id,
        Account.name,
        FeedbackItem.text,
        FeedbackItem.state,
        FeedbackItem.created_at,
        Person.name,
        FeedbackItem.recipient_channel,
    )


def _age_text(created_at: datetime, today: date) -> str:
    days = (today - created_at.date()).days
    return "today" if days <= 0 else f"{plural(days, 'day')} old"


def feedback_line(item: FeedbackLine, today: date, *, recipient: bool) -> str:
    mark = FEEDBACK_MARKS.get(item.state, "•")
    about = f"**{item.account_name}**" if item.account_name else "**No account**"
    line = f"{mark} {about} · {item.state} · {_age_text(item.created_at, today)}"
    if recipient:
        line += f" · {item.recipient_name or ('CX channel' if item.recipient_channel else 'unassigned')}"
    text = " ".join(item.text.split())
    return line + f" · “{text if len(text) <= 80 else text[:79] + '…'}”"


def change_lines(changes: Sequence[BandChange]) -> list[str]:
    return [
        f"{band_mark(c.after)} **{c.account_name}**: {c.before} → {c.after}"
        f" ({score_text(c.score_before)} → {score_text(c.score_after)})"
        for c in changes
    ]


def renewal_line(account: AccountRow, health: AccountHealth | None, today: date, *, owner: bool) -> str:
    assert account.renewal_date is not None
    band = health.band if health else Band.UNKNOWN
    line = (
        f"{band_mark(band)} **{account.name}** {score_text(health.score if health else None)}"
        f" · {money(account.arr)} · renews {days_until_text(account.renewal_date, today)}"
        f" ({day_text(account.renewal_date)})"
    )
    return line + f" · {account.owner_name or 'unassigned'}" if owner else line


def with_buttons(
    title: str, items: list[tuple[str, int]], done: str, snooze: str, key: str, *, more: str
) -> list[Block]:
    blocks: list[Block] = [Text(f"**{title}**")]
    for line, object_id in items[:MAX_ITEMS_WITH_BUTTONS]:
        blocks.append(Text(line))
        blocks.append(Actions(item_buttons(done, snooze, key, object_id)))
    if len(items) > MAX_ITEMS_WITH_BUTTONS:
        blocks.append(Context((f"…and {len(items) - MAX_ITEMS_WITH_BUTTONS} more: {more}",)))
    return blocks


def section(title: str, lines: Sequence[str], *, total: int | None = None) -> str:
    """A bold title over at most MAX_LINES lines, then "…and N more" for the rest."""
    total = len(lines) if total is None else total
    shown = list(lines[:MAX_LINES])
    if total > len(shown):
        shown.append(f"…and {total - len(shown)} more")
    return f"**{title}**\n" + "\n".join(shown)


def quiet(title: str | None) -> Digest:
    summary = f"{title}: all quiet" if title else QUIET
    return Digest(reply=Reply(summary=summary, blocks=(Text(QUIET),), shared=title is not None))


def capped(blocks: list[Block]) -> tuple[Block, ...]:
    """At most MAX_BLOCKS blocks, the last (the small print) kept."""
    if len(blocks) <= MAX_BLOCKS:
        return tuple(blocks)
    return (*blocks[: MAX_BLOCKS - 2], Context(("The digest was cut short.",)), blocks[-1])
