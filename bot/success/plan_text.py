"""How a success plan's outcomes read: marks, progress bars, values, dates, and the highlights that
the account card and the CSM digest show (outcomes at risk, outcomes achieved this week)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import NamedTuple

from bot.format import day_text, days_until_text, truncate
from bot.health.measures import METRICS
from bot.health.outcomes import OutcomeState, Progress
from bot.success.demonstrate import metric_value
from storage.models import OutcomeStatus

BAR_WIDTH = 10

PROGRESS_MARK = {
    Progress.ON_TRACK: "🟢",
    Progress.AT_RISK: "🔴",
    Progress.ACHIEVED: "✅",
    Progress.MISSED: "❌",
    Progress.NO_DATA: "⚪",
    Progress.AWAITING: "⏳",
}
PROGRESS_LABEL = {  # in the order the plan's counts are told
    Progress.AT_RISK: "at risk",
    Progress.ON_TRACK: "on track",
    Progress.NO_DATA: "no data",
    Progress.AWAITING: "awaiting",
    Progress.ACHIEVED: "achieved",
    Progress.MISSED: "missed",
}
NO_VERDICT_LABEL = "no verdict yet"  # NO_DATA with a value: nothing yet to judge it by


def progress_bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """ "▰▰▰▰▱▱▱▱▱▱ 40%": how far along the way from the start value to the target."""
    share = 0.0 if fraction is None or math.isnan(fraction) else min(1.0, max(0.0, fraction))
    filled = round(share * width)
    return "▰" * filled + "▱" * (width - filled) + f" {share:.0%}"


def mark_of(state: OutcomeState) -> str:
    return PROGRESS_MARK.get(state.progress, "⚪")


def label_of(state: OutcomeState) -> str:
    """ "at risk", "on track"...; "no verdict yet" for an outcome with a value but nothing to judge it by."""
    if state.progress is Progress.NO_DATA and state.current is not None:
        return NO_VERDICT_LABEL
    return PROGRESS_LABEL.get(state.progress, "")


def outcome_text(state: OutcomeState, today: date) -> str:
    """Two lines: the outcome and its state, then its progress, numbers, due date and customer owner."""
    outcome = state.outcome
    head = f"{mark_of(state)} **{truncate(outcome.title, 150)}** · {label_of(state)}"
    details: list[str] = []
    if outcome.metric is not None:
        if state.fraction is not None:
            details.append(progress_bar(state.fraction))
        details.append(value_text(state))
    elif outcome.status == OutcomeStatus.OPEN.value:
        details.append("marked achieved by a person")
    details.append(dates_text(state, today))
    if outcome.customer_owner:
        details.append(f"customer owner: {truncate(outcome.customer_owner, 80)}")
    note = state_note(state)
    return f"{head}\n" + " · ".join(details) + (f"\n_{note}_" if note else "")


def value_text(state: OutcomeState) -> str:
    """ "160 weekly active users, target 200", "NPS +12, target NPS +30", "no data yet, target 200"."""
    outcome = state.outcome
    current = outcome.achieved_value if outcome.status == OutcomeStatus.ACHIEVED.value else state.current
    now = "no data yet" if current is None else metric_value(outcome.metric, current)
    spec = METRICS.get(outcome.metric or "")
    if spec is None or outcome.target is None:
        return now
    return f"{now}, target {spec.target_text(outcome.target, outcome.comparison)}"


def state_note(state: OutcomeState) -> str:
    """Why an open measurable outcome is at risk ("behind the line to the target: 150 weekly active users
    by today; at the last 30 days' pace: 0 by the due date"), or why it has no verdict yet."""
    if state.outcome.metric is None or state.progress not in (Progress.AT_RISK, Progress.NO_DATA):
        return ""
    return "; ".join(state.notes)


def dates_text(state: OutcomeState, today: date) -> str:
    outcome = state.outcome
    if outcome.status == OutcomeStatus.ACHIEVED.value and outcome.achieved_at is not None:
        return f"achieved {day_text(outcome.achieved_at.date())}"
    due = outcome.due_date
    if due < today and outcome.status == OutcomeStatus.OPEN.value:
        return f"was due {day_text(due)} ({days_until_text(due, today)})"
    return f"due {day_text(due)}" + (f" ({days_until_text(due, today)})" if due >= today else "")


class Highlights(NamedTuple):
    """What the account card and the CSM digest show of a plan (unpacks as ``at_risk, achieved``)."""

    at_risk: tuple[OutcomeState, ...]
    achieved_this_week: tuple[OutcomeState, ...]


def plan_highlights(states: Sequence[OutcomeState], today: date) -> Highlights:
    """The open outcomes at risk, and the outcomes achieved in the 7 days up to ``today``."""
    week_start = today - timedelta(days=6)
    at_risk = tuple(
        s for s in states if s.progress is Progress.AT_RISK and s.outcome.status == OutcomeStatus.OPEN.value
    )
    achieved = tuple(
        s
        for s in states
        if s.outcome.status == OutcomeStatus.ACHIEVED.value
        and s.outcome.achieved_at is not None
        and week_start <= s.outcome.achieved_at.date() <= today
    )
    return Highlights(at_risk=at_risk, achieved_this_week=achieved)


def highlight_line(state: OutcomeState, today: date) -> str:
    """One short line for a card or a digest: "🔴 200 weekly active users · ▰▰▰▱▱▱▱▱▱▱ 30% · due ..."."""
    outcome = state.outcome
    parts = [f"{mark_of(state)} {truncate(outcome.title, 120)}"]
    if outcome.metric is not None and state.fraction is not None and state.progress is Progress.AT_RISK:
        parts.append(progress_bar(state.fraction))
    parts.append(dates_text(state, today))
    return " · ".join(parts)
