"""The health score's components: each turns part of an account's inputs into a score and a reason.

Each component turns part of the inputs into a score from 0 to 100 and a one-line reason a CSM can read,
or says it has no data. The overall score is the weighted mean of the components that had data: a
missing component gives its weight to the others, and the share of weight that had data is the
*confidence*. With too little data the engine says so instead of guessing (score ``None``, band
``unknown``).

Scoring curves (every score is clamped to 0..100; "D" is the day the health is computed for):

- ``license_utilisation``: u = active users (mean of the 7 days ending on D) / licensed seats (latest).
  Linear, full marks at 80% of seats active: ``100 * min(u, 0.8) / 0.8``.
- ``usage_trend``: c = relative change of active users, the 7 days ending on D against the 7 days ending
  on D - 30 (means). Steady usage scores 80; growth adds 200 points per unit (full marks from +10%);
  decline costs 160 points per unit (zero at -50%): ``80 + 200c`` if c >= 0 else ``80 + 160c``.
- ``feature_adoption``: a = features adopted / features available (latest). Linear, full marks at 75%:
  ``100 * min(a, 0.75) / 0.75``.
- ``nps``: NPS of the answers in the 90 days ending on D (% promoters 9-10 minus % detractors 0-6,
  -100..100), mapped linearly to 0..100: ``(nps + 100) / 2``.
- ``csat``: share of CSAT answers of 4 or 5 in the 90 days ending on D: ``100 * satisfied / answers``.
- ``ces``: mean customer effort (1 = very easy .. 7 = very hard) of the answers in the 90 days ending on
  D, mapped linearly so that 1 scores 100 and 7 scores 0: ``100 * (7 - mean) / 6``. Small default weight:
  effort explains a single interaction more than a whole relationship.
- ``support_load``: 10 points off per open ticket per 100 licensed seats (latest open_tickets), and 15
  points off per escalation in the 30 days ending on D: ``100 - 10 * tickets_per_100_seats - 15 * esc``.
- ``engagement_recency``: days since the last logged follow-up. Full marks up to 15 days, then 100/60
  points off per day (zero from 75 days): ``100 - (days - 15) * 100 / 60``.
- ``milestone_progress``: overdue milestones (due before D, not completed by D, not snoozed until D or
  later). 20 points off per overdue milestone, plus up to 40 for the lateness of the worst one (reached
  at 60 days late): ``100 - 20 * overdue - 40 * min(days_late, 60) / 60``.
- ``success_plan``: the mean over the success plan's outcomes that have a verdict on D (see
  :mod:`bot.health.outcomes`): on track 100; achieved 100 (when achieved in the PLAN_DAYS days ending on D,
  or reached on D); missed 0 (when due in the PLAN_DAYS days ending on D, or given up before its due
  date); at risk the smaller of ``made / expected`` (the progress made from the baseline against the
  progress the line from baseline to target expects by D) and ``projected / needed`` (the progress the
  recent pace makes by the due date against the whole way to the target), times 100, so an outcome on
  its line that the pace cannot carry to the target scores no more than the pace gets it; 50 without a
  baseline (no line).
  Outcomes without data, manual ones awaiting a person, and older verdicts do not count; with none
  left the component has no data.

A new component is one more entry in :data:`COMPONENTS` (name, label, default weight, scoring function;
and the usage metrics it reads, if any): configuration, storage and display pick it up from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from bot.format import day_text
from bot.health.inputs import (
    PLAN_DAYS,
    RECENT_DAYS,
    SUPPORT_DAYS,
    SURVEY_DAYS,
    TREND_OFFSET_DAYS,
    AccountInputs,
)
from bot.health.measures import (
    AT_MOST,
    METRICS,
    USAGE_OUTCOME_METRICS,
    mean_answer,
    nps_value,
    satisfied_percent,
)
from bot.health.outcomes import OutcomeState, Progress, evaluate
from storage.models import SurveyKind


@dataclass(frozen=True, slots=True)
class Reading:
    """A component's verdict: a score 0..100 with its reason, or ``score=None`` and why there is no data."""

    score: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class ComponentScore:
    """One component of a result. ``weight`` is the configured weight (before renormalisation)."""

    name: str
    score: float | None
    weight: float
    reason: str

    @property
    def label(self) -> str:
        component = COMPONENTS_BY_NAME.get(self.name)
        return component.label if component else self.name.replace("_", " ")

    @property
    def has_data(self) -> bool:
        return self.score is not None


ScoreFn = Callable[[AccountInputs], Reading]


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    label: str  # how people call it: "NPS", "license utilisation"
    default_weight: float
    score: ScoreFn
    metrics: frozenset[str] = frozenset()  # usage metrics it reads, so the input query fetches them


def clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    return max(low, min(high, value))


def _pct(ratio: float) -> int:
    return round(ratio * 100)


def _plural(n: int | float, word: str) -> str:
    shown = int(n) if float(n).is_integer() else n
    return f"{shown} {word}" if n == 1 else f"{shown} {word}s"


def _days_late(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def license_utilisation(inputs: AccountInputs) -> Reading:
    active = inputs.metric("active_users").recent_mean
    seats = inputs.metric("licensed_seats").latest
    if seats is None or seats <= 0:
        return Reading(None, "no licensed seat count")
    if active is None:
        return Reading(None, f"no active user count in the last {RECENT_DAYS} days")
    ratio = active / seats
    return Reading(clamp(100 * min(ratio, 0.8) / 0.8), f"{_pct(ratio)}% of licensed seats active")


def usage_trend(inputs: AccountInputs) -> Reading:
    window = inputs.metric("active_users")
    if window.recent_mean is None:
        return Reading(None, f"no active user count in the last {RECENT_DAYS} days")
    if window.prior_mean is None or window.prior_mean <= 0:
        return Reading(None, f"no active users {TREND_OFFSET_DAYS} days ago to compare with")
    change = (window.recent_mean - window.prior_mean) / window.prior_mean
    score = 80 + 200 * change if change >= 0 else 80 + 160 * change
    shown = _pct(abs(change))
    if shown == 0:
        reason = f"active users steady over {TREND_OFFSET_DAYS} days"
    else:
        direction = "up" if change > 0 else "down"
        reason = f"active users {direction} {shown}% in {TREND_OFFSET_DAYS} days"
    return Reading(clamp(score), reason)


def feature_adoption(inputs: AccountInputs) -> Reading:
    adopted = inputs.metric("features_adopted").latest
    available = inputs.metric("features_available").latest
    if adopted is None or available is None or available <= 0:
        return Reading(None, "no feature adoption data")
    ratio = adopted / available
    return Reading(
        clamp(100 * min(ratio, 0.75) / 0.75),
        f"{adopted:g} of {available:g} features adopted ({_pct(ratio)}%)",
    )


def nps(inputs: AccountInputs) -> Reading:
    answers = inputs.answers(SurveyKind.NPS.value)
    value = nps_value(answers)
    if value is None:
        return Reading(None, f"no NPS answers in {SURVEY_DAYS} days")
    total = sum(answers.values())
    detractors = sum(n for s, n in answers.items() if s <= 6)
    shown = round(value)
    summary = f"NPS {shown:+d}" if shown else "NPS 0"
    summary += f" from {_plural(total, 'answer')}"
    if detractors:
        reason = f"{_plural(detractors, 'detractor')} in {SURVEY_DAYS} days ({summary})"
    else:
        reason = f"{summary} in {SURVEY_DAYS} days"
    return Reading(clamp((value + 100) / 2), reason)


def csat(inputs: AccountInputs) -> Reading:
    answers = inputs.answers(SurveyKind.CSAT.value)
    percent = satisfied_percent(answers)
    if percent is None:
        return Reading(None, f"no CSAT answers in {SURVEY_DAYS} days")
    total = sum(answers.values())
    return Reading(
        clamp(percent),
        f"{round(percent)}% satisfied (4-5) of {_plural(total, 'CSAT answer')} in {SURVEY_DAYS} days",
    )


def ces(inputs: AccountInputs) -> Reading:
    answers = inputs.answers(SurveyKind.CES.value)
    mean = mean_answer(answers)
    if mean is None:
        return Reading(None, f"no CES answers in {SURVEY_DAYS} days")
    total = sum(answers.values())
    effort = "low" if mean <= 3 else "high" if mean >= 5 else "moderate"
    answered = _plural(total, "CES answer")
    reason = f"customer effort {mean:.1f} of 7 ({effort}) from {answered} in {SURVEY_DAYS} days"
    return Reading(clamp(100 * (7 - mean) / 6), reason)


def support_load(inputs: AccountInputs) -> Reading:
    """Open tickets need the seat count to be compared with; escalations count on their own."""
    open_tickets = inputs.metric("open_tickets").latest
    seats = inputs.metric("licensed_seats").latest
    escalations = inputs.metric("escalations").total_30d
    tickets_known = open_tickets is not None and seats is not None and seats > 0
    if not tickets_known and escalations is None:
        return Reading(None, "no ticket or escalation data")
    parts: list[str] = []
    penalty = 0.0
    if open_tickets is not None and seats is not None and seats > 0:
        per_100 = 100 * open_tickets / seats
        penalty += 10 * per_100
        parts.append(f"{_plural(open_tickets, 'open ticket')} ({per_100:.1f} per 100 seats)")
    if escalations is not None:
        penalty += 15 * escalations
        parts.append(f"{_plural(escalations, 'escalation')} in {SUPPORT_DAYS} days")
    return Reading(clamp(100 - penalty), ", ".join(parts))


def engagement_recency(inputs: AccountInputs) -> Reading:
    if inputs.last_follow_up is None:
        return Reading(None, "no follow-up ever logged")
    days = max(0, (inputs.day - inputs.last_follow_up).days)
    score = clamp(100 - max(0, days - 15) * 100 / 60)
    if days > 15:
        reason = f"no follow-up logged in {days} days"
    elif days == 0:
        reason = "follow-up logged today"
    else:
        reason = f"last follow-up {_days_late(days)} ago"
    return Reading(score, reason)


def milestone_progress(inputs: AccountInputs) -> Reading:
    status = inputs.milestones
    if status.total == 0:
        return Reading(None, "no milestones planned")
    if status.overdue == 0:
        return Reading(100.0, f"no overdue milestones (of {status.total})")
    lateness = min(status.worst_days_late, 60)
    score = clamp(100 - 20 * status.overdue - 40 * lateness / 60)
    reason = f"{status.worst_name or 'a milestone'} overdue {_days_late(status.worst_days_late)}"
    if status.overdue > 1:
        reason += f", {status.overdue - 1} more overdue"
    return Reading(score, reason)


def _outcome_score(state: OutcomeState, day: date) -> float | None:
    """One outcome's share of the success plan score on ``day``; None when it does not count."""
    outcome = state.outcome
    recent = day - timedelta(days=PLAN_DAYS - 1)
    if state.progress is Progress.ON_TRACK:
        return 100.0
    if state.progress is Progress.ACHIEVED:
        when = outcome.achieved_at.date() if outcome.achieved_at else None
        return 100.0 if when is None or when >= recent else None
    if state.progress is Progress.MISSED:
        return 0.0 if outcome.due_date >= recent else None
    if state.progress is Progress.AT_RISK:
        return _at_risk_score(state)
    return None  # no data, or awaiting a person


def _at_risk_score(state: OutcomeState) -> float:
    """An outcome at risk: the smaller share of the line's progress made, and of the way the recent pace
    gets by the due date (see the module docstring)."""
    outcome = state.outcome
    if outcome.baseline is None or outcome.target is None or state.current is None:
        return 50.0
    sign = -1.0 if outcome.comparison == AT_MOST else 1.0
    needed = sign * (outcome.target - outcome.baseline)
    if needed <= 0:  # the baseline met the target and the value slipped since
        return 0.0
    shares: list[float] = []
    if state.expected is not None and (expected_gain := sign * (state.expected - outcome.baseline)) > 0:
        shares.append(sign * (state.current - outcome.baseline) / expected_gain)
    if state.projected is not None:
        shares.append(sign * (state.projected - outcome.baseline) / needed)
    return clamp(100 * min(shares)) if shares else 0.0


def _behind(state: OutcomeState) -> str:
    """ "“200 weekly active users” behind: 120, the line says 150 by today", or "… at risk: 150, at the
    last 30 days' pace: 175 by the due date" for one on its line that its pace cannot carry."""
    outcome = state.outcome
    title = f"“{outcome.title}”"
    if state.progress is Progress.MISSED:
        return f"{title} missed (due {day_text(outcome.due_date)})"
    spec = METRICS.get(outcome.metric or "")
    if spec is None or state.current is None:
        return f"{title} behind"
    now = spec.format(state.current)
    if state.expected is not None and state.behind:
        return f"{title} behind: {now}, the line says {spec.format(state.expected)} by today"
    if state.projected is not None and state.notes:
        return f"{title} at risk: {now}, {'; '.join(state.notes)}"
    return f"{title} behind: {now}, due {day_text(outcome.due_date)}"


def success_plan(inputs: AccountInputs) -> Reading:
    scored: list[tuple[float, OutcomeState]] = []
    for outcome in inputs.outcomes:
        state = evaluate(outcome, inputs)
        score = _outcome_score(state, inputs.day)
        if score is not None:
            scored.append((score, state))
    if not scored:
        return Reading(None, "no success plan outcomes due")
    mean = sum(score for score, _ in scored) / len(scored)
    short = sorted((s for s in scored if s[0] < 100), key=lambda s: (s[0], s[1].outcome.due_date))
    if not short:
        return Reading(100.0, f"{_plural(len(scored), 'outcome')} on track or achieved")
    reason = _behind(short[0][1])
    if len(short) > 1:
        reason += f", {len(short) - 1} more at risk or missed"
    return Reading(clamp(mean), reason)


COMPONENTS: tuple[Component, ...] = (
    Component(
        "license_utilisation",
        "license utilisation",
        20,
        license_utilisation,
        frozenset({"active_users", "licensed_seats"}),
    ),
    Component("usage_trend", "usage trend", 15, usage_trend, frozenset({"active_users"})),
    Component(
        "feature_adoption",
        "feature adoption",
        15,
        feature_adoption,
        frozenset({"features_adopted", "features_available"}),
    ),
    Component("nps", "NPS", 10, nps),
    Component("csat", "CSAT", 10, csat),
    Component("ces", "CES", 5, ces),
    Component(
        "support_load",
        "support load",
        10,
        support_load,
        frozenset({"open_tickets", "escalations", "licensed_seats"}),
    ),
    Component("engagement_recency", "engagement recency", 10, engagement_recency),
    Component("milestone_progress", "milestone progress", 10, milestone_progress),
    Component("success_plan", "success plan", 10, success_plan, USAGE_OUTCOME_METRICS),
)
COMPONENTS_BY_NAME: Mapping[str, Component] = MappingProxyType({c.name: c for c in COMPONENTS})
COMPONENT_NAMES: tuple[str, ...] = tuple(c.name for c in COMPONENTS)
USAGE_METRICS: frozenset[str] = frozenset().union(*(c.metrics for c in COMPONENTS))
