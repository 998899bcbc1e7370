"""How a reminder reads: the message for a milestone, a renewal (with the account's health) and a
follow-up, each with the buttons to act on it."""

from __future__ import annotations

from bot import actions
from bot.core.lines import item_buttons
from bot.format import band_mark, day_text, days_until_text, money, plural, score_text, trend_text, truncate
from bot.health.service import AccountHealth
from bot.types import Actions, Block, Button, Fields, Reply, Text
from scheduler.reminders_due import FollowUpDue, MilestoneDue, RenewalDue


def _open_account(account_id: int) -> Button:
    return Button(label="Open account", action=actions.ACCOUNT_OPEN, payload={"account_id": account_id})


def _log_follow_up(account_id: int) -> Button:
    return Button(
        label="Log follow-up", action=actions.FOLLOWUP_OPEN_FORM, payload={"account_id": account_id}
    )


def milestone_reply(due: MilestoneDue) -> Reply:
    days_left = (due.due_date - due.today).days
    if days_left >= 0:
        mark = "⏰"
        when = f"is due {days_until_text(due.due_date, due.today)} ({day_text(due.due_date)})"
    else:
        mark = "⚠️"
        when = f"is overdue by {plural(-days_left, 'day')} (due {day_text(due.due_date)})"
    text = f"{mark} **{due.account_name}**: {due.name} {when}."
    buttons = (
        *item_buttons(actions.MILESTONE_DONE, actions.MILESTONE_SNOOZE, "milestone_id", due.milestone_id),
        _log_follow_up(due.account_id),
    )
    return Reply(summary=text.replace("**", ""), blocks=(Text(text), Actions(buttons)))


def health_text(health: AccountHealth | None) -> str:
    if health is None or health.score is None:
        return f"{band_mark('unknown')} not enough data"
    trend = trend_text(health.trend_7, 7) or trend_text(health.trend_30, 30)
    text = f"{band_mark(health.band)} {score_text(health.score)} ({health.band.value})"
    return f"{text}, {trend}" if trend else text


def renewal_reply(due: RenewalDue, health: AccountHealth | None) -> Reply:
    days_left = (due.renewal_date - due.today).days
    text = f"🔁 **{due.account_name}** renews in {plural(days_left, 'day')} ({day_text(due.renewal_date)})."
    blocks: list[Block] = [
        Text(text),
        Fields((("Health", health_text(health)), ("ARR", money(due.arr)))),
    ]
    if health is not None and health.drivers:
        blocks.append(Text("**Why:** " + "; ".join(d.reason for d in health.drivers)))
    blocks.append(Actions((_open_account(due.account_id), _log_follow_up(due.account_id))))
    summary = text.replace("**", "")
    if health is not None and health.score is not None:
        summary += f" Health {score_text(health.score)} ({health.band.value})."
    return Reply(summary=summary, blocks=tuple(blocks))


def follow_up_reply(due: FollowUpDue) -> Reply:
    overdue = (due.today - due.due_date).days
    when = "due today" if overdue <= 0 else f"overdue by {plural(overdue, 'day')}"
    text = f"📌 Follow-up {when} for **{due.account_name}**: {truncate(due.what, 300)}"
    buttons = item_buttons(actions.FOLLOWUP_DONE, actions.FOLLOWUP_SNOOZE, "followup_id", due.follow_up_id)
    return Reply(summary=text.replace("**", ""), blocks=(Text(text), Actions(buttons)))
