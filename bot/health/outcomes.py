"""Outcome progress: where each desired outcome of a success plan stands on a day. Pure, no I/O.

An outcome is *measurable* when it names a metric (see :data:`METRICS`) and a target, and *manual*
when it names no metric (a person marks it achieved). Everything is judged "as of day D", the
``day`` of the :class:`~bot.health.inputs.AccountInputs` it is evaluated with.

The current value of a metric on D is :func:`bot.health.measures.current_value`; its recent pace (change
per day over the last 30 days, or the days of data there are) is :func:`bot.health.measures.recent_pace`.

An outcome is *reached* when the value is at or above the target (``at_least``) or at or below it
(``at_most``). The verdict on D (:func:`evaluate`):

- stored status ``achieved`` -> ACHIEVED, unless ``achieved_at`` is after D: then it was still open
  on D and is judged as below. Stored ``missed`` -> MISSED. An outcome whose ``start_date`` is after D
  did not exist yet (the loaders leave it out).
- open, manual: AWAITING until the due date, MISSED after it (a person may still mark it achieved).
- open, measurable: no current value -> NO_DATA; reached -> ACHIEVED (the caller persists that);
  due date before D and not reached -> MISSED. Otherwise two things are weighed:

  - the *line*: the straight line from the baseline on ``start_date`` to the target on ``due_date``.
    The value is on or ahead of it within a tolerance of 10% of ``|target - baseline|``, or behind it.
    The line tells nothing without a baseline, nor on the start day itself (the value then *is* the
    baseline, so an outcome defined today would always sit on its line);
  - the *projection*: the value now moved by the recent pace for every day left to the due date,
    kept within the metric's bounds (users do not go below 0, an NPS stays within -100..100). It
    reaches the target or falls short. Survey metrics have no pace, nor does a usage metric with
    fewer than two days of data in the window: no projection.

  On or ahead of the line -> ON_TRACK, unless the projection falls short: then AT_RISK whatever the
  line says ("at the last 30 days' pace: 0 by the due date"). Behind the line -> AT_RISK, unless the
  projection reaches the target ("catching up": ON_TRACK). Where the line tells nothing, the
  projection decides alone. With neither, the outcome is AT_RISK once over half the time from start
  to due date has gone, and NO_DATA before that ("no history yet: no verdict"): a verdict needs
  something to go on. A flat metric (pace 0) projects to its value now, so short of its target it is
  at risk.
- a baseline that already met the target makes the line flat at the target.

``fraction`` (for a progress bar) is ``(current - baseline) / (target - baseline)`` clamped to 0..1;
1.0 when achieved; None without a current value or a baseline, and for open manual outcomes.
``projected`` is the projection of an open measurable outcome (None without one), and ``notes`` say in
a few words why an outcome is at risk or has no verdict, for the plan card.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.format import day_text
from bot.health.inputs import AccountInputs, OutcomeInput
from bot.health.measures import AT_MOST, METRICS, MetricSpec, Pace, current_value, recent_pace
from storage.models import Outcome, OutcomeStatus

# Behind the line by at most this share of |target - baseline| still counts as on track.
LINE_TOLERANCE = 0.1


class Progress(enum.StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    ACHIEVED = "achieved"
    MISSED = "missed"
    NO_DATA = "no_data"  # measurable, but no current value, or nothing yet to judge it by
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
    projected: float | None = None  # open, measurable: the value at the recent pace by the due date
    notes: tuple[str, ...] = ()  # why at risk or no verdict: "at the last 30 days' pace: 0 by the due date"
    behind: bool = False  # open, measurable: behind its line on the day (beyond the tolerance)


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
    verdict = _open_verdict(outcome, inputs, current, expected, words)
    return OutcomeState(
        outcome,
        verdict.progress,
        current,
        expected,
        fraction,
        verdict.reason,
        verdict.projected,
        verdict.notes,
        verdict.behind,
    )


LATE_NOTE = "the time left is short for the way still to go"
NO_HISTORY_NOTE = "no history yet: no verdict"


@dataclass(frozen=True, slots=True)
class _Verdict:
    progress: Progress
    reason: str
    projected: float | None = None
    notes: tuple[str, ...] = ()
    behind: bool = False


def _open_verdict(
    outcome: OutcomeInput, inputs: AccountInputs, current: float, expected: float | None, words: _Words
) -> _Verdict:
    """ON_TRACK, AT_RISK or NO_DATA for an open measurable outcome, not reached, not yet past its due
    date: the line and the projection weighed as the module docstring says."""
    assert outcome.target is not None
    pace = recent_pace(inputs, outcome.metric or "")
    projected = None
    short: tuple[str, ...] = ()  # the projection, in words: "at the last 30 days' pace: 0 by the due date"
    if pace is not None:
        projected = project(words.spec, current, pace, (outcome.due_date - inputs.day).days)
        short = (words.pace_note(pace, projected),)
    reaches = projected is not None and _reaches(projected, outcome.target, outcome.comparison)
    on_line = _on_line(outcome, current, expected, inputs.day)
    if on_line is not None:
        assert expected is not None
        if on_line and (projected is None or reaches):
            return _Verdict(Progress.ON_TRACK, words.on_line(current, expected), projected)
        if on_line:
            return _Verdict(Progress.AT_RISK, words.on_line_but(current, expected, short), projected, short)
        if reaches:
            reason = words.catching_up(current, expected, short)
            return _Verdict(Progress.ON_TRACK, reason, projected, behind=True)
        notes = (words.behind_note(expected), *short)
        reason = words.behind_line(current, expected, short)
        return _Verdict(Progress.AT_RISK, reason, projected, notes, behind=True)
    if projected is not None:
        progress = Progress.ON_TRACK if reaches else Progress.AT_RISK
        notes = () if reaches else short
        return _Verdict(progress, words.by_pace(current, short, progress), projected, notes)
    if line_share(outcome, inputs.day) >= 0.5:
        return _Verdict(Progress.AT_RISK, words.late(current), None, (LATE_NOTE,))
    return _Verdict(Progress.NO_DATA, words.no_history(current), None, (NO_HISTORY_NOTE,))


def _on_line(outcome: OutcomeInput, current: float, expected: float | None, day: date) -> bool | None:
    """True on or ahead of the line (within the tolerance), False behind it, None when the line tells
    nothing: no baseline, or the start day (when the value is the baseline)."""
    if expected is None or outcome.baseline is None or outcome.target is None:
        return None
    if day <= outcome.start_date:
        return None
    tolerance = LINE_TOLERANCE * abs(outcome.target - outcome.baseline)
    return _sign(outcome.comparison) * (expected - current) <= tolerance


def project(spec: MetricSpec, current: float, pace: Pace, days: int) -> float:
    """The value ``days`` from now at ``pace``, kept within the metric's bounds."""
    value = current + pace.per_day * max(0, days)
    if spec.low is not None:
        value = max(spec.low, value)
    if spec.high is not None:
        value = min(spec.high, value)
    return value


def _reaches(projected: float, target: float, comparison: str) -> bool:
    """Whether a projection reaches the target; one landing on it (up to rounding) does."""
    return reached(projected, target, comparison) or math.isclose(
        projected, target, rel_tol=1e-9, abs_tol=1e-9
    )


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

    def pace_note(self, pace: Pace, projected: float) -> str:
        return f"at {pace.window}: {self.spec.format(projected)} by the due date"

    def behind_note(self, expected: float) -> str:
        return f"behind the line to the target: {self.spec.describe(expected)} by today"

    def on_line(self, value: float, expected: float) -> str:
        line = self.spec.format(expected)
        return f"{self.spec.describe(value)}, the line says {line} by today, {self.by}: on track"

    def on_line_but(self, value: float, expected: float, pace: tuple[str, ...]) -> str:
        line = self.spec.format(expected)
        but = "".join(f" but {p}" for p in pace)
        return f"{self.spec.describe(value)}, the line says {line} by today{but}, {self.by}: at risk"

    def behind_line(self, value: float, expected: float, pace: tuple[str, ...]) -> str:
        line = self.spec.format(expected)
        also = "".join(f", {p}" for p in pace)
        return f"{self.spec.describe(value)}, the line says {line} by today{also}, {self.by}: at risk"

    def catching_up(self, value: float, expected: float, pace: tuple[str, ...]) -> str:
        line = self.spec.format(expected)
        also = "".join(f", {p}" for p in pace)
        return f"{self.spec.describe(value)} (the line says {line}){also}, {self.by}: on track"

    def by_pace(self, value: float, pace: tuple[str, ...], progress: Progress) -> str:
        verdict = "on track" if progress is Progress.ON_TRACK else "at risk"
        also = "".join(f", {p}" for p in pace)
        return f"{self.spec.describe(value)}{also}, {self.by}: {verdict}"

    def late(self, value: float) -> str:
        return f"{self.spec.describe(value)}, {self.by}, over half the time gone: at risk"

    def no_history(self, value: float) -> str:
        return f"{self.spec.describe(value)}, {self.by}: {NO_HISTORY_NOTE}"


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
