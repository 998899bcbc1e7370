"""What the health engine reads about one account as of a day: plain, immutable values, no I/O.

The loaders (:mod:`bot.health.load`) fill these from the database; the scoring components, the outcome
verdicts and the engine only read them. The day windows below are shared by all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

# Day windows, all ending on (and including) the day the health is computed for.
RECENT_DAYS = 7  # "current" active users: the mean of this many days
TREND_OFFSET_DAYS = 30  # the usage trend compares with the same window ending this many days earlier
SUPPORT_DAYS = 30  # escalations are summed over this many days
SURVEY_DAYS = 90  # NPS and CSAT answers count for this many days
PLAN_DAYS = 90  # achieved and missed outcomes count in the success plan score for this many days
# A usage metric's latest value is looked for this far back (long enough to cover the trend window).
USAGE_LOOKBACK_DAYS = TREND_OFFSET_DAYS + RECENT_DAYS
# The recent pace of a usage metric (how fast it moves, per day) is measured over this many days.
PACE_DAYS = TREND_OFFSET_DAYS


@dataclass(frozen=True, slots=True)
class MetricWindow:
    """What the engine knows of one usage metric of one account, as of day D."""

    latest: float | None = None  # the value on the most recent day with data (within the lookback)
    recent_mean: float | None = None  # mean over the RECENT_DAYS days ending on D
    prior_mean: float | None = None  # mean over the RECENT_DAYS days ending TREND_OFFSET_DAYS before D
    total_30d: float | None = None  # sum over the SUPPORT_DAYS days ending on D
    # The least-squares change per day over the PACE_DAYS days ending on D (see bot.health.measures,
    # recent_pace): ``slope`` fits the days that have a value; ``count_slope`` fits every day from the
    # first one with a value, a day without one counting as 0 (for counts per day, such as escalations).
    # None with fewer than two days to fit. ``pace_days``: the days from that first day to D.
    slope: float | None = None
    count_slope: float | None = None
    pace_days: int = 0


def least_squares_slope(n: float, sum_x: float, sum_xx: float, sum_y: float, sum_xy: float) -> float | None:
    """The slope of the least-squares line through ``n`` points (x, y) given by their sums; None when
    the points do not tell one (fewer than two, or all on the same x)."""
    spread = n * sum_xx - sum_x * sum_x
    if n < 2 or spread <= 0:
        return None
    return (n * sum_xy - sum_x * sum_y) / spread


def every_day_sums(span: int) -> tuple[int, float, float]:
    """``n``, the sum of x and the sum of x squared for the ``span`` days ending on D, x = -(span-1)..0."""
    k = span - 1
    return span, -k * (k + 1) / 2, k * (k + 1) * (2 * k + 1) / 6


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
class OutcomeInput:
    """One Outcome row as the engine needs it."""

    id: int
    title: str
    metric: str | None
    comparison: str
    target: float | None
    baseline: float | None
    start_date: date
    due_date: date
    status: str
    achieved_at: datetime | None
    achieved_value: float | None
    customer_owner: str | None = None

    @property
    def manual(self) -> bool:
        return self.metric is None


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
