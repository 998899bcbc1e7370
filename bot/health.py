"""The health engine: one account's inputs in, a :class:`HealthResult` out. Pure functions, no I/O.

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
  :mod:`bot.outcomes`): on track 100; achieved 100 (when achieved in the PLAN_DAYS days ending on D,
  or reached on D); missed 0 (when due in the PLAN_DAYS days ending on D, or given up before its due
  date); at risk ``100 * made / expected``, the progress made from the baseline against the progress
  the line from baseline to target expects by D (50 without a baseline, where there is no line).
  Outcomes without data, manual ones awaiting a person, and older verdicts do not count; with none
  left the component has no data.

A new component is one more entry in :data:`COMPONENTS` (name, label, default weight, scoring function;
and the usage metrics it reads, if any): configuration, storage and display pick it up from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.format import day_text
from bot.outcomes import (
    AT_MOST,
    METRICS,
    USAGE_OUTCOME_METRICS,
    OutcomeInput,
    OutcomeState,
    Progress,
    evaluate,
    mean_answer,
    nps_value,
    satisfied_percent,
)
from storage.models import Band, SurveyKind

if TYPE_CHECKING:
    from bot.health_model import HealthModel

# Day windows, all ending on (and including) the day the health is computed for.
RECENT_DAYS = 7  # "current" active users: the mean of this many days
TREND_OFFSET_DAYS = 30  # the usage trend compares with the same window ending this many days earlier
SUPPORT_DAYS = 30  # escalations are summed over this many days
SURVEY_DAYS = 90  # NPS and CSAT answers count for this many days
PLAN_DAYS = 90  # achieved and missed outcomes count in the success plan score for this many days
# A usage metric's latest value is looked for this far back (long enough to cover the trend window).
USAGE_LOOKBACK_DAYS = TREND_OFFSET_DAYS + RECENT_DAYS

# Components scoring below this are candidates to be named as drivers of the score.
DRIVER_BELOW = 70.0
MAX_DRIVERS = 3

# ---------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class MetricWindow:
    """What the engine knows of one usage metric of one account, as of day D."""

    latest: float | None = None  # the value on the most recent day with data (within the lookback)
    recent_mean: float | None = None  # mean over the RECENT_DAYS days ending on D
    prior_mean: float | None = None  # mean over the RECENT_DAYS days ending TREND_OFFSET_DAYS before D
    total_30d: float | None = None  # sum over the SUPPORT_DAYS days ending on D


@dataclass(frozen=True, slots=True)
class MilestoneStatus:
    """The account's milestones as of day D: how many, how many overdue, and the worst overdue one."""

    total: int = 0
    overdue: int = 0
    worst_name: str | None = None
    worst_days_late: int = 0


def _no_usage() -> Mapping[str, MetricWindow]:
    return MappingProxyType({})


def _no_surveys() -> Mapping[str, Mapping[int, int]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AccountInputs:
    """Everything the engine reads about one account as of ``day``; nothing after ``day`` may be in it.

    ``surveys`` maps a survey kind ("nps", "csat", "ces") to a histogram of answers in the SURVEY_DAYS
    days ending on ``day``: answer score -> number of answers. ``outcomes`` are the account's success
    plan outcomes defined by ``day`` (start date on or before it), whatever their status.
    """

    account_id: int
    day: date
    segment: str | None = None
    usage: Mapping[str, MetricWindow] = field(default_factory=_no_usage)
    surveys: Mapping[str, Mapping[int, int]] = field(default_factory=_no_surveys)
    last_follow_up: date | None = None
    milestones: MilestoneStatus = MilestoneStatus()
    outcomes: tuple[OutcomeInput, ...] = ()

    def metric(self, name: str) -> MetricWindow:
        return self.usage.get(name) or MetricWindow()

    def answers(self, kind: str) -> Mapping[int, int]:
        return self.surveys.get(kind) or {}


# --------------------------------------------------------------------------------------------- results


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


@dataclass(frozen=True, slots=True)
class HealthResult:
    score: float | None  # 0..100, one decimal; None when there was too little data
    band: Band
    confidence: float  # share of the weight whose component had data, 0..1
    components: tuple[ComponentScore, ...]
    reason: str | None = None  # set when the score is None: what was missing

    def component(self, name: str) -> ComponentScore | None:
        return next((c for c in self.components if c.name == name), None)


# ------------------------------------------------------------------------------------------ components

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
        if state.expected is None or outcome.baseline is None or state.current is None:
            return 50.0
        sign = -1.0 if outcome.comparison == AT_MOST else 1.0
        expected_gain = sign * (state.expected - outcome.baseline)
        if expected_gain <= 0:
            return 0.0
        return clamp(100 * sign * (state.current - outcome.baseline) / expected_gain)
    return None  # no data, or awaiting a person


def _behind(state: OutcomeState) -> str:
    """ "“200 weekly active users” behind: 120, the line says 150 by today"."""
    outcome = state.outcome
    title = f"“{outcome.title}”"
    if state.progress is Progress.MISSED:
        return f"{title} missed (due {day_text(outcome.due_date)})"
    spec = METRICS.get(outcome.metric or "")
    if spec is None or state.current is None:
        return f"{title} behind"
    now = spec.format(state.current)
    if state.expected is not None:
        return f"{title} behind: {now}, the line says {spec.format(state.expected)} by today"
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


# ---------------------------------------------------------------------------------------------- engine


def _label_list(labels: Sequence[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def not_enough_data_reason(components: Sequence[ComponentScore]) -> str:
    """ "not enough data: only NPS available", from the components of an unscored result."""
    available = [c.label for c in components if c.has_data]
    if not available:
        return "not enough data: no component has data"
    return f"not enough data: only {_label_list(available)} available"


def band_for(score: float | None, green: float, yellow: float) -> Band:
    if score is None:
        return Band.UNKNOWN
    if score >= green:
        return Band.GREEN
    if score >= yellow:
        return Band.YELLOW
    return Band.RED


def compute_health(inputs: AccountInputs, model: HealthModel) -> HealthResult:
    """Score one account with the weights and thresholds of its segment."""
    profile = model.profile_for(inputs.segment)
    components: list[ComponentScore] = []
    total_weight = 0.0
    weight_with_data = 0.0
    weighted_sum = 0.0
    for component in COMPONENTS:
        weight = profile.weights.get(component.name, 0.0)
        if weight <= 0:
            continue  # switched off for this segment
        reading = component.score(inputs)
        shown = None if reading.score is None else round(reading.score, 1)
        components.append(ComponentScore(component.name, shown, weight, reading.reason))
        total_weight += weight
        if reading.score is not None:  # the mean uses unrounded scores; only what is shown is rounded
            weight_with_data += weight
            weighted_sum += weight * reading.score
    confidence = round(weight_with_data / total_weight, 3) if total_weight else 0.0
    scored = sum(1 for c in components if c.has_data)
    if scored == 0 or scored < model.min_components or confidence < model.min_confidence:
        return HealthResult(
            None, Band.UNKNOWN, confidence, tuple(components), not_enough_data_reason(components)
        )
    score = round(weighted_sum / weight_with_data, 1)
    return HealthResult(score, band_for(score, profile.green, profile.yellow), confidence, tuple(components))


# --------------------------------------------------------------------------------------------- drivers


def _position(name: str) -> int:
    return COMPONENT_NAMES.index(name) if name in COMPONENTS_BY_NAME else len(COMPONENT_NAMES)


@dataclass(frozen=True, slots=True)
class Driver:
    """A component pulling the score down; ``impact`` is the points of the overall score it costs."""

    name: str
    label: str
    score: float
    impact: float
    reason: str


def drivers(
    components: Sequence[ComponentScore], *, below: float = DRIVER_BELOW, limit: int = MAX_DRIVERS
) -> tuple[Driver, ...]:
    """The components that pull the score down most: weight x (100 - score), biggest first.

    Only components with data scoring below ``below`` count. Impact is expressed in points of the
    overall score (weights renormalised over the components with data), so the impacts of all
    components add up to 100 minus the score.
    """
    with_data = [c for c in components if c.score is not None and c.weight > 0]
    total = sum(c.weight for c in with_data)
    if total <= 0:
        return ()
    found = [
        Driver(c.name, c.label, c.score, round(c.weight * (100 - c.score) / total, 1), c.reason)
        for c in with_data
        if c.score is not None and c.score < below
    ]
    found.sort(key=lambda d: (-d.impact, d.score, _position(d.name)))
    return tuple(found[:limit])


__all__ = [
    "COMPONENTS",
    "COMPONENTS_BY_NAME",
    "COMPONENT_NAMES",
    "AccountInputs",
    "Component",
    "ComponentScore",
    "Driver",
    "HealthResult",
    "MetricWindow",
    "MilestoneStatus",
    "Reading",
    "band_for",
    "compute_health",
    "drivers",
    "not_enough_data_reason",
    "success_plan",
]
