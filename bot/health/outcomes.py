"""Outcome progress: where each desired outcome of a success plan stands on a day. Pure, no I/O.

An outcome is *measurable* when it names a metric (see :data:`METRICS`) and a target, and *manual*
when it names no metric (a person marks it achieved). Everything is judged "as of day D", the
``day`` of the :class:`~bot.health.inputs.AccountInputs` it is evaluated with.

The current value of a metric on D is :func:`bot.health.measures.current_value`.

An outcome is *reached* when the value is at or above the target (``at_least``) or at or below it
(``at_most``). The verdict on D (:func:`evaluate`):

- stored status ``achieved`` -> ACHIEVED, unless ``achieved_at`` is after D: then it was still open
  on D and is judged as below. Stored ``missed`` -> MISSED. An outcome whose ``start_date`` is after D
  did not exist yet (the loaders leave it out).
- open, manual: AWAITING until the due date, MISSED after it (a person may still mark it achieved).
- open, measurable: no current value -> NO_DATA; reached -> ACHIEVED (the caller persists that);
  due date before D and not reached -> MISSED. Otherwise the *line* decides: the straight line from
  the baseline on ``start_date`` to the target on ``due_date``. On or ahead of the line, with a
  tolerance of 10% of ``|target - baseline|`` -> ON_TRACK. Behind it -> AT_RISK, unless the recent
  trend rescues it: where the value 30 days earlier is known (``active_users``), the pace of those
  30 days carried on to the due date reaches the target -> ON_TRACK ("catching up").
- without a baseline there is no line: the recent pace decides when it is known; otherwise the
  outcome is ON_TRACK until half the time from start to due date has passed and AT_RISK after.
- a baseline that already met the target makes the line flat at the target.

``fraction`` (for a progress bar) is ``(current - baseline) / (target - baseline)`` clamped to 0..1;
1.0 when achieved; None without a current value or a baseline, and for open manual outcomes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.format import day_text
from bot.health.inputs import AccountInputs, OutcomeInput
from bot.health.measures import (
    AT_MOST,
    METRICS,
    PACE_DAYS,
    MetricSpec,
    current_value,
    recent_pace,
)
from storage.models import Outcome, OutcomeStatus

# Behind the line by at most this share of |target - baseline| still counts as on track.
LINE_TOLERANCE = 0.1


class Progress(enum.StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    ACHIEVED = "achieved"
    MISSED = "missed"
    NO_DATA = "no_data"  # measurable, but no current value
    AWAITING = "awaiting"  # manual outcome, open, not yet due: a person marks it achieved


@dataclass(frozen=True, slots=True)
class OutcomeState:
    """Where one outcome stands on a day."""

    outcome: OutcomeInput
    progress: Progress
    current: float | None  # the metric's value as of the day (the achieved value when there is none)
    expected: float | None  # where the line from baseline (start_date) to target (due_date) is on the day
    fraction: float | None  # 0..1: share of the way from baseline to target (for a progress bar)
    reason: str  # one line a CSM reads: "212 weekly active users, target 200: achieved"


def outcome_input(row: Outcome) -> OutcomeInput:
    return OutcomeInput(
        id=row.id,
        title=row.title,
        metric=row.metric,
        comparison=row.comparison,
        target=row.target,
        baseline=row.baseline,
        start_date=row.start_date,
        due_date=row.due_date,
        status=row.status,
        achieved_at=row.achieved_at,
        achieved_value=row.achieved_value,
        customer_owner=row.customer_owner,
    )


def reached(value: float, target: float, comparison: str) -> bool:
    return value <= target if comparison == AT_MOST else value >= target


def _sign(comparison: str) -> float:
    """+1 when progress means going up (at_least), -1 when it means going down (at_most)."""
    return -1.0 if comparison == AT_MOST else 1.0


def line_share(outcome: OutcomeInput, day: date) -> float:
    """How much of the time from start to due date has passed on ``day``, 0..1."""
    total = (outcome.due_date - outcome.start_date).days
    if total <= 0:
        return 1.0
    return min(1.0, max(0.0, (day - outcome.start_date).days / total))


def expected_on(outcome: OutcomeInput, day: date) -> float | None:
    """Where the line from baseline to target is on ``day``; None without baseline or target.

    A baseline that already met the target gives a flat line at the target.
    """
    if outcome.baseline is None or outcome.target is None:
        return None
    if _needed(outcome) <= 0:
        return outcome.target
    return outcome.baseline + (outcome.target - outcome.baseline) * line_share(outcome, day)


def _needed(outcome: OutcomeInput) -> float:
    """Progress from baseline to target, in the direction that counts (<= 0: the baseline met it)."""
    assert outcome.baseline is not None and outcome.target is not None
    return _sign(outcome.comparison) * (outcome.target - outcome.baseline)


def progress_fraction(outcome: OutcomeInput, current: float | None) -> float | None:
    """Share of the way from baseline to target, 0..1; None without a current value or a baseline."""
    if current is None or outcome.baseline is None or outcome.target is None:
        return None
    if reached(current, outcome.target, outcome.comparison):
        return 1.0
    needed = _needed(outcome)
    if needed <= 0:
        return 0.0
    made = _sign(outcome.comparison) * (current - outcome.baseline)
    return min(1.0, max(0.0, made / needed))


def _status_on(outcome: OutcomeInput, day: date) -> str:
    """The stored status as it was on ``day``: an achievement dated after ``day`` had not happened."""
    if (
        outcome.status == OutcomeStatus.ACHIEVED.value
        and outcome.achieved_at is not None
        and outcome.achieved_at.date() > day
    ):
        return OutcomeStatus.OPEN.value
    return outcome.status


def evaluate(outcome: OutcomeInput, inputs: AccountInputs) -> OutcomeState:
    """The outcome's progress as of ``inputs.day`` (see the module docstring)."""
    day = inputs.day
    status = _status_on(outcome, day)
    if outcome.manual:
        return _manual(outcome, status, day)
    spec = METRICS.get(outcome.metric or "")
    current = current_value(inputs, outcome.metric or "")
    if spec is None or outcome.target is None:
        what = f"unknown metric {outcome.metric}" if spec is None else "no target"
        return OutcomeState(outcome, Progress.NO_DATA, current, None, None, what)
    target = outcome.target
    expected = expected_on(outcome, day)
    words = _Words(spec, outcome, day)
    if status == OutcomeStatus.ACHIEVED.value:
        shown = current if current is not None else outcome.achieved_value
        return OutcomeState(outcome, Progress.ACHIEVED, shown, expected, 1.0, words.achieved(shown))
    fraction = progress_fraction(outcome, current)
    if status == OutcomeStatus.MISSED.value:
        return OutcomeState(outcome, Progress.MISSED, current, expected, fraction, words.missed(current))
    if current is None:
        return OutcomeState(outcome, Progress.NO_DATA, None, expected, None, words.no_data())
    if reached(current, target, outcome.comparison):
        return OutcomeState(outcome, Progress.ACHIEVED, current, expected, 1.0, words.achieved(current))
    if outcome.due_date < day:
        return OutcomeState(outcome, Progress.MISSED, current, expected, fraction, words.missed(current))
    progress, reason = _open_verdict(outcome, inputs, current, expected, words)
    return OutcomeState(outcome, progress, current, expected, fraction, reason)


def _open_verdict(
    outcome: OutcomeInput, inputs: AccountInputs, current: float, expected: float | None, words: _Words
) -> tuple[Progress, str]:
    """ON_TRACK or AT_RISK for an open measurable outcome, not reached, not yet past its due date."""
    assert outcome.target is not None
    sign = _sign(outcome.comparison)
    if expected is not None and outcome.baseline is not None:
        tolerance = LINE_TOLERANCE * abs(outcome.target - outcome.baseline)
        if sign * (expected - current) <= tolerance:
            return Progress.ON_TRACK, words.on_line(current, expected)
    if _pace_reaches(outcome, inputs, current):
        return Progress.ON_TRACK, words.catching_up(current, expected)
    if expected is not None:
        return Progress.AT_RISK, words.behind_line(current, expected)
    if _pace_known(outcome, inputs):
        return Progress.AT_RISK, words.pace_short(current)
    if line_share(outcome, inputs.day) < 0.5:
        return Progress.ON_TRACK, words.early(current)
    return Progress.AT_RISK, words.late(current)


def _pace_known(outcome: OutcomeInput, inputs: AccountInputs) -> bool:
    return recent_pace(inputs, outcome.metric or "") is not None


def _pace_reaches(outcome: OutcomeInput, inputs: AccountInputs, current: float) -> bool:
    """Whether the last PACE_DAYS days' change per day, carried on to the due date, reaches the target."""
    pace = recent_pace(inputs, outcome.metric or "")
    if pace is None or outcome.target is None:
        return False
    projected = current + pace * max(0, (outcome.due_date - inputs.day).days)
    return reached(projected, outcome.target, outcome.comparison)


def _manual(outcome: OutcomeInput, status: str, day: date) -> OutcomeState:
    due = day_text(outcome.due_date)
    if status == OutcomeStatus.ACHIEVED.value:
        when = f" on {day_text(outcome.achieved_at.date())}" if outcome.achieved_at else ""
        return OutcomeState(outcome, Progress.ACHIEVED, None, None, 1.0, f"marked achieved{when}")
    if status == OutcomeStatus.MISSED.value or outcome.due_date < day:
        return OutcomeState(outcome, Progress.MISSED, None, None, None, f"due {due}, not marked achieved")
    return OutcomeState(outcome, Progress.AWAITING, None, None, None, f"to be marked achieved by {due}")


@dataclass(frozen=True, slots=True)
class _Words:
    """The reasons of a measurable outcome, so they all read alike."""

    spec: MetricSpec
    outcome: OutcomeInput
    day: date

    @property
    def target(self) -> str:
        assert self.outcome.target is not None
        return f"target {self.spec.target_text(self.outcome.target, self.outcome.comparison)}"

    @property
    def by(self) -> str:
        return f"{self.target} by {day_text(self.outcome.due_date)}"

    def achieved(self, value: float | None) -> str:
        if value is None:
            return f"{self.target}: achieved"
        return f"{self.spec.describe(value)}, {self.target}: achieved"

    def missed(self, value: float | None) -> str:
        if value is None:
            return f"{self.by}: missed"
        return f"{self.spec.describe(value)}, {self.by}: missed"

    def no_data(self) -> str:
        return f"no {self.spec.label} data as of {day_text(self.day)}, {self.by}"

    def on_line(self, value: float, expected: float) -> str:
        line = self.spec.format(expected)
        return f"{self.spec.describe(value)}, the line says {line} by today, {self.by}: on track"

    def behind_line(self, value: float, expected: float) -> str:
        line = self.spec.format(expected)
        return f"{self.spec.describe(value)}, the line says {line} by today, {self.by}: at risk"

    def catching_up(self, value: float, expected: float | None) -> str:
        behind = f" (the line says {self.spec.format(expected)})" if expected is not None else ""
        return (
            f"{self.spec.describe(value)}{behind}, the last {PACE_DAYS} days' pace reaches the "
            f"{self.by}: on track"
        )

    def pace_short(self, value: float) -> str:
        return (
            f"{self.spec.describe(value)}, the last {PACE_DAYS} days' pace falls short of the "
            f"{self.by}: at risk"
        )

    def early(self, value: float) -> str:
        return f"{self.spec.describe(value)}, {self.by}: on track"

    def late(self, value: float) -> str:
        return f"{self.spec.describe(value)}, {self.by}, over half the time gone: at risk"


# ----------------------------------------------------------------------------------------------- plans

_PLAN_GROUP = {
    Progress.AT_RISK: 0,
    Progress.ON_TRACK: 1,
    Progress.NO_DATA: 1,
    Progress.AWAITING: 1,
    Progress.ACHIEVED: 2,
    Progress.MISSED: 3,
}


def plan_order(states: Iterable[OutcomeState]) -> list[OutcomeState]:
    """At risk first, then on track / no data / awaiting, then achieved, then missed; ties by due date."""
    return sorted(
        states, key=lambda s: (_PLAN_GROUP[s.progress], s.outcome.due_date, s.outcome.title, s.outcome.id)
    )
