"""The metrics a success-plan outcome can be measured on, how their values read, and their value on a
day (``current_value``, ``recent_pace``). Pure, no I/O.

- ``active_users``: the mean of the 7 days ending on D ("weekly active users");
- ``escalations``: the sum of the 30 days ending on D (the data is a count per day, so the latest
  day alone says little);
- the other usage metrics: the latest value (within the health engine's lookback);
- ``nps``: the NPS of the answers in the 90 days ending on D (-100..100); ``csat``: the share of
  answers of 4 or 5 in percent (0..100); ``ces``: the mean answer (1..7, lower effort is better).

The *recent pace* of a metric (:func:`recent_pace`) is how much that value moves per day, from the last
PACE_DAYS (30) days of data, or from the days there are when the data starts later. It is the slope of
the least-squares line through the daily values, not the difference between the first and the last
day: daily usage swings (weekends, holidays, a one-off import), and a single odd day at either end
of the window would swing a first/last difference with it, while a fitted line weighs every day alike
and needs no value on any particular day (gaps are fine). Per metric:

- ``active_users``: the slope of the daily values (the 7-day mean moves as they do);
- ``escalations``: its value is a 30-day total of counts per day, so its pace is 30 times the slope of
  the daily counts, a day without a row counting as none;
- the other usage metrics: the slope of their daily values;
- survey metrics have no pace: answers come a few at a time and the 90-day score moves in steps when
  one arrives or falls out of the window, so a per-day pace drawn from them would be noise.

A usage metric with fewer than two days of data in the window has *no history yet*: no pace.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bot.health.inputs import PACE_DAYS as PACE_DAYS  # the pace's window, defined with the others
from bot.health.inputs import SUPPORT_DAYS, AccountInputs
from storage.models import OutcomeComparison, SurveyKind

AT_LEAST = OutcomeComparison.AT_LEAST.value
AT_MOST = OutcomeComparison.AT_MOST.value


class Style(enum.StrEnum):
    """How a metric's values read."""

    COUNT = "count"  # "212"
    NPS = "nps"  # "NPS +34"
    PERCENT_SATISFIED = "percent_satisfied"  # "82% satisfied"
    EFFORT = "effort"  # "CES 2.4"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric an outcome can be measured on. ``low``/``high`` bound the values a target may take."""

    name: str  # "active_users"
    label: str  # "weekly active users"
    comparison: str  # the default OutcomeComparison value for it
    style: Style = Style.COUNT
    low: float | None = 0.0
    high: float | None = None

    def format(self, value: float) -> str:
        """The value alone: "212", "NPS +34", "82% satisfied", "CES 2.4"."""
        if self.style is Style.NPS:
            shown = round(value)
            return f"NPS {shown:+d}" if shown else "NPS 0"
        if self.style is Style.PERCENT_SATISFIED:
            return f"{round(value)}% satisfied"
        if self.style is Style.EFFORT:
            return f"CES {value:.1f}"
        return _count(value)

    def describe(self, value: float) -> str:
        """The value with what it counts: "212 weekly active users", "NPS +34"."""
        shown = self.format(value)
        return f"{shown} {self.label}" if self.style is Style.COUNT else shown

    def target_text(self, target: float, comparison: str) -> str:
        """ "200", "5 or less", "NPS +30", "CES 2.5 or less": the target as it reads after "target"."""
        shown = self.format(target)
        if comparison == AT_MOST:
            return f"{shown} or less"
        return f"{shown} or more" if self.comparison == AT_MOST else shown

    def allows(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


def _count(value: float) -> str:
    if abs(value) >= 100 or abs(value - round(value)) < 0.05:
        return f"{round(value):,}"
    return f"{value:,.1f}"


METRICS: Mapping[str, MetricSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            MetricSpec("active_users", "weekly active users", AT_LEAST),
            MetricSpec("licensed_seats", "licensed seats", AT_LEAST),
            MetricSpec("features_adopted", "features adopted", AT_LEAST),
            MetricSpec("features_available", "features available", AT_LEAST),
            MetricSpec("open_tickets", "open tickets", AT_MOST),
            MetricSpec("escalations", "escalations in 30 days", AT_MOST),
            MetricSpec(SurveyKind.NPS.value, "NPS", AT_LEAST, Style.NPS, -100.0, 100.0),
            MetricSpec(SurveyKind.CSAT.value, "CSAT", AT_LEAST, Style.PERCENT_SATISFIED, 0.0, 100.0),
            MetricSpec(SurveyKind.CES.value, "CES", AT_MOST, Style.EFFORT, 1.0, 7.0),
        )
    }
)
SURVEY_METRICS: frozenset[str] = frozenset(k.value for k in SurveyKind)
USAGE_OUTCOME_METRICS: frozenset[str] = frozenset(METRICS) - SURVEY_METRICS


# ------------------------------------------------------------------------------------ survey arithmetic


def nps_value(answers: Mapping[int, int]) -> float | None:
    """% promoters (9-10) minus % detractors (0-6), -100..100; None without answers."""
    total = sum(answers.values())
    if total == 0:
        return None
    promoters = sum(n for s, n in answers.items() if s >= 9)
    detractors = sum(n for s, n in answers.items() if s <= 6)
    return 100 * (promoters - detractors) / total


def satisfied_percent(answers: Mapping[int, int]) -> float | None:
    """Share of CSAT answers of 4 or 5, in percent; None without answers."""
    total = sum(answers.values())
    if total == 0:
        return None
    return 100 * sum(n for s, n in answers.items() if s >= 4) / total


def mean_answer(answers: Mapping[int, int]) -> float | None:
    """The mean score (CES effort); None without answers."""
    total = sum(answers.values())
    if total == 0:
        return None
    return sum(score * n for score, n in answers.items()) / total


_SURVEY_VALUE = {
    SurveyKind.NPS.value: nps_value,
    SurveyKind.CSAT.value: satisfied_percent,
    SurveyKind.CES.value: mean_answer,
}


def current_value(inputs: AccountInputs, metric: str) -> float | None:
    """The metric's value as of ``inputs.day`` (see the module docstring); None without data."""
    if metric in _SURVEY_VALUE:
        return _SURVEY_VALUE[metric](inputs.answers(metric))
    if metric not in METRICS:
        return None
    window = inputs.metric(metric)
    if metric == "active_users":
        return window.recent_mean
    if metric == "escalations":
        return window.total_30d
    return window.latest


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast a metric's value moves: ``per_day``, measured over the last ``days`` days."""

    per_day: float
    days: int

    @property
    def window(self) -> str:
        """ "the last 30 days' pace" reads as the window it was measured over."""
        return f"the last {min(self.days, PACE_DAYS)} days' pace"


def recent_pace(inputs: AccountInputs, metric: str) -> Pace | None:
    """The change per day of :func:`current_value` over the last PACE_DAYS days (see the module
    docstring); None for survey metrics and for a usage metric with no history yet."""
    if metric not in USAGE_OUTCOME_METRICS:  # survey metrics never have one
        return None
    window = inputs.metric(metric)
    slope = window.count_slope if metric == "escalations" else window.slope
    if slope is None:
        return None
    per_day = slope * SUPPORT_DAYS if metric == "escalations" else slope
    return Pace(per_day=per_day, days=window.pace_days)
