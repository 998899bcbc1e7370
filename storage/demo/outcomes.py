"""Success plans of demo accounts: one to three desired outcomes for about half of the live accounts.

Measurable outcomes are on ``active_users`` (weekly active users: the mean of 7 days), ``features_adopted``,
``open_tickets`` (at most) and ``nps`` (the NPS of the 90 days up to a day). Each starts on a day inside
the usage history, with ``baseline`` the metric's value on that day, and aims at a target by its due date.
The target is chosen from what the account's numbers did since, so each outcome tells the story it was
planned for:

- *achieved*: the metric crossed the target before today; ``achieved_at`` is the day it did, and
  ``demonstrated_at`` is set, as if the owner had been sent the summary then (loading the demo sends
  nothing);
- *on track*: better than the baseline, ahead of the straight line from baseline to target, not there
  yet, and the recent pace reaches the target by the due date;
- *at risk*: behind that line (flat or worse, or improving too slowly), the recent pace not enough either.

The outcome is judged as the success plan engine judges it (10% tolerance of ``|target - baseline|``;
for usage metrics the recent pace, the least-squares slope of the daily values of the last 30 days,
carried on to the due date, must reach the target for an outcome on its line to be on track, and may
rescue one behind it), and an intended story that the numbers cannot tell falls back to a manual
outcome. Manual outcomes (no metric)
are open with a due date ahead, or achieved and marked by the owner.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from storage.demo import vocabulary as words
from storage.demo.portfolio import SHOWCASE, DemoAccount, Trajectory, rng_for
from storage.demo.surveys import DemoSurvey
from storage.demo.usage import DailyUsage
from storage.models import OutcomeComparison, OutcomeStatus, SurveyKind

PLAN_SHARE: Final = 0.5  # accounts (besides the showcase ones) with a success plan
START_DAYS_AGO: Final = (25, 80)  # outcomes were defined this many days ago ...
DUE_IN_DAYS: Final = (30, 160)  # ... and are due this many days ahead
LINE_TOLERANCE: Final = 0.1
PACE_DAYS: Final = 30
RECENT_DAYS: Final = 7
NPS_DAYS: Final = 90
MIN_NPS_ANSWERS: Final = 3
MIN_TARGET: Final = {
    "open_tickets": 1.0,
    "features_adopted": 1.0,
    "active_users": 1.0,
}  # "at most 0 tickets" reads oddly

AT_LEAST, AT_MOST = OutcomeComparison.AT_LEAST, OutcomeComparison.AT_MOST
METRIC_COMPARISON: Final = {
    "active_users": AT_LEAST,
    "features_adopted": AT_LEAST,
    "nps": AT_LEAST,
    "open_tickets": AT_MOST,
}


class Story(enum.StrEnum):
    ACHIEVED = "achieved"
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    MANUAL_OPEN = "manual open"
    MANUAL_ACHIEVED = "manual achieved"


# How likely each story is for an outcome of an account on each trajectory.
_STORIES: Final = {
    Trajectory.HEALTHY: {
        Story.ACHIEVED: 0.3,
        Story.ON_TRACK: 0.3,
        Story.AT_RISK: 0.1,
        Story.MANUAL_OPEN: 0.15,
        Story.MANUAL_ACHIEVED: 0.15,
    },
    Trajectory.DECLINING: {Story.AT_RISK: 0.65, Story.MANUAL_OPEN: 0.25, Story.ACHIEVED: 0.1},
    Trajectory.RECOVERING: {
        Story.ON_TRACK: 0.35,
        Story.ACHIEVED: 0.2,
        Story.AT_RISK: 0.25,
        Story.MANUAL_OPEN: 0.2,
    },
    Trajectory.ONBOARDING: {Story.ON_TRACK: 0.45, Story.ACHIEVED: 0.2, Story.MANUAL_OPEN: 0.35},
}


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    title: str
    metric: str | None
    comparison: OutcomeComparison
    target: float | None
    baseline: float | None
    start_date: date
    due_date: date
    customer_owner: str
    status: OutcomeStatus
    story: Story
    achieved_at: datetime | None = None
    achieved_value: float | None = None
    marked_by_owner: bool = False  # a manual outcome the owner CSM marked achieved
    demonstrated_at: datetime | None = None


# -------------------------------------------------------------------------------------- metric values


class _Values:
    """The value of each metric of one account on each day of its history (see the module docstring)."""

    def __init__(self, usage: Sequence[DailyUsage], surveys: Sequence[DemoSurvey]) -> None:
        self.usage = list(usage)
        self.index = {daily.day: i for i, daily in enumerate(self.usage)}
        self.nps_answers = [(a.submitted_at.date(), a.score) for a in surveys if a.kind is SurveyKind.NPS]

    @property
    def days(self) -> list[date]:
        return [daily.day for daily in self.usage]

    def on(self, metric: str, day: date, *, min_answers: int = MIN_NPS_ANSWERS) -> float | None:
        """None for NPS over fewer than ``min_answers`` answers: too few to set a target by."""
        if metric == "nps":
            scores = [s for d, s in self.nps_answers if day - timedelta(days=NPS_DAYS) < d <= day]
            if not scores or len(scores) < min_answers:
                return None
            return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)
        i = self.index.get(day)
        if i is None:
            return None
        if metric == "active_users":
            window = self.usage[max(0, i - RECENT_DAYS + 1) : i + 1]
            return sum(d.active_users for d in window) / len(window)
        value: float = getattr(self.usage[i], metric)
        return value


# ------------------------------------------------------------------------------------------- judging


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The slope of the least-squares line through ``points`` (x, y); None for fewer than two x."""
    n = len(points)
    sum_x, sum_y = sum(x for x, _ in points), sum(y for _, y in points)
    spread = n * sum(x * x for x, _ in points) - sum_x * sum_x
    if n < 2 or spread <= 0:
        return None
    return (n * sum(x * y for x, y in points) - sum_x * sum_y) / spread


def _reached(value: float, target: float, comparison: OutcomeComparison) -> bool:
    return value <= target if comparison is AT_MOST else value >= target


def judge(
    *,
    baseline: float,
    current: float,
    target: float,
    comparison: OutcomeComparison,
    start: date,
    due: date,
    today: date,
    pace: float | None,
) -> Story:
    """ACHIEVED, ON_TRACK or AT_RISK on ``today``, as the success plan engine judges an open outcome."""
    if _reached(current, target, comparison):
        return Story.ACHIEVED
    sign = -1.0 if comparison is AT_MOST else 1.0
    if _reached(baseline, target, comparison):
        expected = target
    else:
        share = min(1.0, max(0.0, (today - start).days / max(1, (due - start).days)))
        expected = baseline + (target - baseline) * share
    on_line = sign * (current - expected) >= -LINE_TOLERANCE * abs(target - baseline)
    if pace is None:
        return Story.ON_TRACK if on_line else Story.AT_RISK
    projected = max(0.0, current + pace * (due - today).days)  # usage metrics do not go below 0
    return Story.ON_TRACK if _reached(projected, target, comparison) else Story.AT_RISK


# ------------------------------------------------------------------------------------------- planning


def _nice(value: float, metric: str, towards: Callable[[float], float]) -> float:
    """A target people would write: whole numbers, multiples of 5 for larger ones."""
    step = 5 if metric == "nps" or abs(value) >= 50 else 1
    return float(towards(value / step) * step)


@dataclass(slots=True)
class _Planner:
    account: DemoAccount
    today: date
    rng: random.Random
    values: _Values

    def title(self, metric: str, target: float) -> str:
        match metric:
            case "active_users":
                return f"{target:g} weekly active users"
            case "features_adopted":
                return f"Adopt {target:g} of {self.account.features_available} features"
            case "open_tickets":
                return f"At most {target:g} open support tickets"
            case _:
                return f"NPS of {target:+g} or better"

    def pace(self, metric: str) -> float | None:
        """Change per day: the least-squares slope of the daily values of the last PACE_DAYS days (usage
        metrics; NPS has no pace)."""
        if metric == "nps":
            return None
        points = [
            ((d.day - self.today).days, float(getattr(d, metric)))
            for d in self.values.usage
            if self.today - timedelta(days=PACE_DAYS - 1) <= d.day <= self.today
        ]
        return slope(points)

    def measurable(self, story: Story, metric: str, owner: str) -> DemoOutcome | None:
        """An outcome on ``metric`` telling ``story``, or None when this account's numbers cannot."""
        comparison = METRIC_COMPARISON[metric]
        start = self.today - timedelta(days=self.rng.randint(*START_DAYS_AGO))
        baseline, current = self.values.on(metric, start), self.values.on(metric, self.today)
        if baseline is None or current is None:
            return None
        sign = -1.0 if comparison is AT_MOST else 1.0
        gained = sign * (current - baseline)
        due = self.today + timedelta(days=self.rng.randint(*DUE_IN_DAYS))
        share = (self.today - start).days / (due - start).days
        # Round away from the baseline for open outcomes (a little more ambitious), towards it when achieved.
        away = math.ceil if sign > 0 else math.floor
        towards = math.floor if sign > 0 else math.ceil
        if story is Story.ACHIEVED:
            if gained <= 0:
                return None
            target = _nice(baseline + (current - baseline) * self.rng.uniform(0.5, 0.9), metric, towards)
            return self.achieved(metric, comparison, baseline, target, start, owner)
        if story is Story.ON_TRACK:
            if gained <= 0:
                return None
            progress = self.rng.uniform(max(share + 0.05, 0.3), 0.85)
            target = _nice(baseline + (current - baseline) / progress, metric, away)
        else:
            progress = self.rng.uniform(0.0, max(0.0, share - 0.35)) if gained > 0 else 0.0
            if gained > 0 and progress > 0.05:
                target = _nice(baseline + (current - baseline) / progress, metric, away)
            else:
                lift = max(abs(baseline) * self.rng.uniform(0.2, 0.45), 10.0 if metric == "nps" else 2.0)
                if sign > 0:
                    target = _nice(max(current, baseline) + lift, metric, away)
                else:
                    target = _nice(min(current, baseline) - lift, metric, away)
        if target < MIN_TARGET.get(metric, -math.inf):
            return None
        verdict = judge(
            baseline=baseline,
            current=current,
            target=target,
            comparison=comparison,
            start=start,
            due=due,
            today=self.today,
            pace=self.pace(metric),
        )
        if verdict is not story or self.reached_since(metric, target, comparison, start):
            return None
        return DemoOutcome(
            title=self.title(metric, target),
            metric=metric,
            comparison=comparison,
            target=target,
            baseline=round(baseline, 2),
            start_date=start,
            due_date=due,
            customer_owner=owner,
            status=OutcomeStatus.OPEN,
            story=story,
        )

    def reached_since(self, metric: str, target: float, comparison: OutcomeComparison, start: date) -> bool:
        """Whether the metric met ``target`` on any day from ``start`` to today (an open outcome must not
        have, or recomputing a past day would find it achieved)."""
        for day in self.values.days:
            value = self.values.on(metric, day, min_answers=1) if day >= start else None
            if value is not None and _reached(value, target, comparison):
                return True
        return False

    def achieved(
        self,
        metric: str,
        comparison: OutcomeComparison,
        baseline: float,
        target: float,
        start: date,
        owner: str,
    ) -> DemoOutcome | None:
        """Achieved on the first day after ``start`` (and before today) the value reached ``target``."""
        if _reached(baseline, target, comparison):
            return None
        yesterday = self.today - timedelta(days=1)
        for day in self.values.days:
            if not start < day <= yesterday:
                continue
            value = self.values.on(metric, day)
            if value is not None and _reached(value, target, comparison):
                at = datetime.combine(day, time(23, 0), tzinfo=UTC)
                return DemoOutcome(
                    title=self.title(metric, target),
                    metric=metric,
                    comparison=comparison,
                    target=target,
                    baseline=round(baseline, 2),
                    start_date=start,
                    due_date=day + timedelta(days=self.rng.randint(10, 120)),
                    customer_owner=owner,
                    status=OutcomeStatus.ACHIEVED,
                    story=Story.ACHIEVED,
                    achieved_at=at,
                    achieved_value=round(value, 2),
                    demonstrated_at=at + timedelta(minutes=30),
                )
        return None

    def manual(self, story: Story, title: str, owner: str) -> DemoOutcome:
        start = self.today - timedelta(days=self.rng.randint(*START_DAYS_AGO))
        if story is Story.MANUAL_ACHIEVED:
            day = start + timedelta(days=self.rng.randint(5, (self.today - start).days - 1))
            at = datetime.combine(day, time(self.rng.randint(13, 18), self.rng.randint(0, 59)), tzinfo=UTC)
            return DemoOutcome(
                title=title,
                metric=None,
                comparison=AT_LEAST,
                target=None,
                baseline=None,
                start_date=start,
                due_date=day + timedelta(days=self.rng.randint(0, 60)),
                customer_owner=owner,
                status=OutcomeStatus.ACHIEVED,
                story=story,
                achieved_at=at,
                marked_by_owner=True,
                demonstrated_at=at + timedelta(minutes=5),
            )
        return DemoOutcome(
            title=title,
            metric=None,
            comparison=AT_LEAST,
            target=None,
            baseline=None,
            start_date=start,
            due_date=self.today + timedelta(days=self.rng.randint(*DUE_IN_DAYS)),
            customer_owner=owner,
            status=OutcomeStatus.OPEN,
            story=Story.MANUAL_OPEN,
        )


def _has_plan(account: DemoAccount, rng: random.Random) -> bool:
    if account.trajectory is Trajectory.CHURNED:
        return False
    return account.index < len(SHOWCASE) or rng.random() < PLAN_SHARE


def success_plan(
    account: DemoAccount,
    *,
    today: date,
    seed: int,
    usage: Sequence[DailyUsage],
    surveys: Sequence[DemoSurvey],
) -> list[DemoOutcome]:
    """The account's desired outcomes (none for about half of the accounts); titles are unique."""
    rng = rng_for(seed, account.external_id, "success-plan")
    if not _has_plan(account, rng) or not usage or usage[-1].day != today:
        return []
    planner = _Planner(account, today, rng, _Values(usage, surveys))
    stories = _STORIES[account.trajectory]
    manual_titles = rng.sample(words.MANUAL_OUTCOMES, 3)
    metrics = list(METRIC_COMPARISON)
    rng.shuffle(metrics)
    outcomes: list[DemoOutcome] = []
    for _ in range(rng.randint(1, 3)):
        story = rng.choices(list(stories), list(stories.values()))[0]
        contact = rng.choice(account.contacts)
        owner = f"{contact.first_name} ({rng.choice(words.CUSTOMER_OWNER_ROLES)})"
        made = None
        if story in (Story.ACHIEVED, Story.ON_TRACK, Story.AT_RISK):
            for metric in list(metrics):
                made = planner.measurable(story, metric, owner)
                if made is not None:
                    metrics.remove(metric)
                    break
        if made is None:  # the numbers cannot tell that story: a manual outcome (achieved ones stay achieved)
            achieved = story in (Story.ACHIEVED, Story.MANUAL_ACHIEVED)
            manual_story = Story.MANUAL_ACHIEVED if achieved else Story.MANUAL_OPEN
            made = planner.manual(manual_story, manual_titles.pop(), owner)
        outcomes.append(made)
    return outcomes
