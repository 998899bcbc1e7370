"""The one-line forms of accounts, follow-ups and milestones, and the Done / Snooze buttons under an
item: lists in chat, digests, reminders and alerts all show the same line for the same thing.
"""

from __future__ import annotations

from datetime import date

from bot.format import (
    band_mark,
    day_text,
    days_until_text,
    money,
    plural,
    score_text,
    trend_arrow,
    truncate,
)
from bot.health.service import AccountHealth
from bot.types import Button
from storage import queries
from storage.models import Band
from storage.queries import AccountRow


def list_line(account: AccountRow, health: AccountHealth | None, today: date) -> str:
    score = health.score if health else None
    band = health.band if health else Band.UNKNOWN
    parts = [f"{band_mark(band)} **{account.name}** {score_text(score)}"]
    arrow = trend_arrow(health.trend_7 if health else None)
    if arrow:
        parts[0] += f" {arrow}"
    parts.append(money(account.arr))
    if account.renewal_date is not None and account.renewal_date >= today:
        parts.append(f"renews {days_until_text(account.renewal_date, today)}")
    if health is not None and health.drivers:
        parts.append(health.drivers[0].reason)
    return " · ".join(parts)


def worst_first(item: tuple[AccountRow, AccountHealth | None]) -> tuple[int, float, str]:
    account, health = item
    if health is None or health.score is None:
        return (1, 0.0, account.name)
    return (0, health.score, account.name)


def follow_up_line(row: queries.FollowUpRow, today: date) -> str:
    what = truncate(row.next_step or row.summary, 200)
    due = ""
    if row.due_date is not None:
        if row.due_date < today:
            due = f" · ⚠️ overdue {plural((today - row.due_date).days, 'day')}"
        else:
            due = f" · due {days_until_text(row.due_date, today)}"
    return f"**{row.account_name}**: {what}{due}"


def milestone_line(row: queries.MilestoneRow, today: date) -> str:

    if row.due_date < today:
        when = f"⚠️ overdue {plural((today - row.due_date).days, 'day')}"
    else:
        when = f"due {days_until_text(row.due_date, today)} ({day_text(row.due_date)})"
    return f"**{row.account_name}**: {row.name} · {when}"


def item_buttons(done: str, snooze: str, key: str, object_id: int) -> tuple[Button, ...]:
    """Done, Snooze 1 day and Snooze 1 week for one item; the payload names the item, nothing more."""
    return (
        Button(label="Done", action=done, payload={key: object_id}, style="primary"),
        Button(label="Snooze 1 day", action=snooze, payload={key: object_id, "days": 1}),
        Button(label="Snooze 1 week", action=snooze, payload={key: object_id, "days": 7}),
    )
