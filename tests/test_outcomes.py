"""Outcome progress (pure arithmetic), the success plan health component, and reading plans as of a day."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from bot.health.components import USAGE_METRICS, success_plan
from bot.health.engine import compute_health, drivers
from bot.health.inputs import TREND_OFFSET_DAYS, AccountInputs, MetricWindow, OutcomeInput
from bot.health.load import Accounts, load_inputs
from bot.health.measures import METRICS, PACE_DAYS, Pace, current_value, recent_pace
from bot.health.model import HealthModel
from bot.health.outcomes import Progress, evaluate, outcome_input, plan_order, project
from bot.success.plan_text import outcome_text
from bot.success.plans import account_plan, plans_for_accounts, value_now
from handlers.plans_card import plan_reply
from storage.db import Database
from storage.models import Account, Outcome, SurveyResponse, UsageMetric

D = date(2026, 3, 31)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def outcome(
    metric: str | None = "active_users",
    target: float | None = 200,
    *,
    baseline: float | None = 100,
    started: int = 50,
    due_in: int = 50,
    comparison: str = "at_least",
    status: str = "open",
    achieved_at: datetime | None = None,
    title: str = "200 weekly active users",
    number: int = 1,
) -> OutcomeInput:
    """An outcome started ``started`` days before D and due ``due_in`` days after D."""
    return OutcomeInput(
        id=number,
        title=title,
        metric=metric,
        comparison=comparison,
        target=target,
        baseline=baseline,
        start_date=D - timedelta(days=started),
        due_date=D + timedelta(days=due_in),
        status=status,
        achieved_at=achieved_at,
        achieved_value=None,
    )


def account(
    *,
    active: float | None = None,
    prior: float | None = None,
    pace: float | None = None,
    usage: dict[str, MetricWindow] | None = None,
    surveys: dict[str, dict[int, int]] | None = None,
    outcomes: tuple[OutcomeInput, ...] = (),
    day: date = D,
) -> AccountInputs:
    """``pace``: active users' change per day over the last 30 days (None: no history to fit)."""
    windows = dict(usage or {})
    if active is not None:
        windows["active_users"] = MetricWindow(
            latest=active,
            recent_mean=active,
            prior_mean=prior,
            slope=pace,
            pace_days=30 if pace is not None else 0,
        )
    return AccountInputs(account_id=1, day=day, usage=windows, surveys=surveys or {}, outcomes=outcomes)


def trend(latest: float, per_day: float, days: int = 30) -> MetricWindow:
    """A usage metric at ``latest`` that moved ``per_day`` over the last ``days`` days."""
    return MetricWindow(latest=latest, recent_mean=latest, slope=per_day, count_slope=per_day, pace_days=days)


# -------------------------------------------------------------------------------------------- metrics


def test_metrics_cover_what_the_health_model_reads() -> None:
    assert set(METRICS) == USAGE_METRICS | {"nps", "csat", "ces"}
    assert PACE_DAYS == TREND_OFFSET_DAYS  # MetricWindow.prior_mean is that far back
    lower_is_better = {name for name, spec in METRICS.items() if spec.comparison == "at_most"}
    assert lower_is_better == {"open_tickets", "escalations", "ces"}


@pytest.mark.parametrize(
    ("metric", "value", "shown", "described"),
    [
        ("active_users", 212.4, "212", "212 weekly active users"),
        ("active_users", 66.43, "66.4", "66.4 weekly active users"),
        ("active_users", 1234, "1,234", "1,234 weekly active users"),
        ("nps", 34.2, "NPS +34", "NPS +34"),
        ("nps", -12, "NPS -12", "NPS -12"),
        ("nps", 0.3, "NPS 0", "NPS 0"),
        ("csat", 82.0, "82% satisfied", "82% satisfied"),
        ("ces", 2.44, "CES 2.4", "CES 2.4"),
    ],
)
def test_metric_values_read_as_a_csm_says_them(metric: str, value: float, shown: str, described: str) -> None:
    assert METRICS[metric].format(value) == shown
    assert METRICS[metric].describe(value) == described


def test_current_values() -> None:
    inputs = account(
        usage={
            "active_users": MetricWindow(latest=300, recent_mean=212, prior_mean=150),
            "features_adopted": MetricWindow(latest=7, recent_mean=6),
            "escalations": MetricWindow(latest=0, total_30d=3),
        },
        surveys={"nps": {10: 2, 9: 1, 7: 1, 3: 1}, "csat": {5: 3, 4: 3, 3: 1, 1: 1}, "ces": {2: 3, 4: 1}},
    )
    assert current_value(inputs, "active_users") == 212  # the 7-day mean, not the latest day
    assert current_value(inputs, "features_adopted") == 7  # the latest value
    assert current_value(inputs, "escalations") == 3  # a count per day: the 30-day sum
    assert current_value(inputs, "nps") == pytest.approx(40.0)
    assert current_value(inputs, "csat") == pytest.approx(75.0)
    assert current_value(inputs, "ces") == pytest.approx(2.5)
    assert current_value(inputs, "licensed_seats") is None
    assert current_value(account(), "nps") is None
    assert current_value(inputs, "page_views") is None


# ------------------------------------------------------------------------------------------- progress


@pytest.mark.parametrize(
    ("active", "progress", "fraction"),
    [
        (150, Progress.ON_TRACK, 0.5),  # on the line: half way in time, half way in value
        (141, Progress.ON_TRACK, 0.41),  # 9 behind: within the tolerance of 10% of 100
        (139, Progress.AT_RISK, 0.39),  # 11 behind
        (90, Progress.AT_RISK, 0.0),  # below the baseline
        (200, Progress.ACHIEVED, 1.0),
        (230, Progress.ACHIEVED, 1.0),
    ],
)
def test_at_least_against_the_line(active: float, progress: Progress, fraction: float) -> None:
    state = evaluate(outcome(), account(active=active))
    assert state.progress is progress
    assert state.current == active
    assert state.expected == 150  # 100 on the start day, 200 on the due day, half way today
    assert state.fraction == pytest.approx(fraction)


def test_at_most_against_the_line() -> None:
    tickets = outcome("open_tickets", 5, baseline=25, comparison="at_most", title="At most 5 open tickets")

    def state(value: float) -> Any:
        return evaluate(tickets, account(usage={"open_tickets": MetricWindow(latest=value)}))

    assert state(15).expected == 15  # the line goes down from 25 to 5
    assert (state(15).progress, state(15).fraction) == (Progress.ON_TRACK, 0.5)
    assert state(17).progress is Progress.ON_TRACK  # 2 behind: within 10% of 20
    assert (state(18).progress, state(18).fraction) == (Progress.AT_RISK, pytest.approx(0.35))
    assert (state(5).progress, state(5).fraction) == (Progress.ACHIEVED, 1.0)
    assert state(4).reason == "4 open tickets, target 5 or less: achieved"


def test_reasons() -> None:
    behind = evaluate(outcome(), account(active=120))
    assert behind.reason == (
        "120 weekly active users, the line says 150 by today, target 200 by Wed 20 May 2026: at risk"
    )
    on_line = evaluate(outcome(), account(active=160))
    assert on_line.reason == (
        "160 weekly active users, the line says 150 by today, target 200 by Wed 20 May 2026: on track"
    )
    assert evaluate(outcome(), account(active=212)).reason == "212 weekly active users, target 200: achieved"
    no_data = evaluate(outcome(), account())
    assert (
        no_data.reason == "no weekly active users data as of Tue 31 Mar 2026, target 200 by Wed 20 May 2026"
    )


def test_past_the_due_date_unreached_is_missed() -> None:
    late = outcome(started=100, due_in=-1)
    state = evaluate(late, account(active=180))
    assert (state.progress, state.expected, state.fraction) == (Progress.MISSED, 200, pytest.approx(0.8))
    assert state.reason == "180 weekly active users, target 200 by Mon 30 Mar 2026: missed"
    assert evaluate(late, account(active=200)).progress is Progress.ACHIEVED  # reached counts even late
    due_today = outcome(started=100, due_in=0)
    assert evaluate(due_today, account(active=180)).progress is Progress.AT_RISK  # still today to go


def test_no_current_value_is_no_data() -> None:
    state = evaluate(outcome(), account(usage={"licensed_seats": MetricWindow(latest=300)}))
    assert (state.progress, state.current, state.fraction) == (Progress.NO_DATA, None, None)
    assert state.expected == 150
    nps = evaluate(outcome("nps", 30, baseline=10), account(surveys={"csat": {5: 1}}))
    assert nps.progress is Progress.NO_DATA


def test_survey_metrics() -> None:
    answers = {"nps": {10: 2, 9: 1, 7: 1, 3: 1}, "ces": {2: 3, 4: 1}}
    nps = evaluate(outcome("nps", 50, baseline=0, title="NPS 50"), account(surveys=answers))
    # +40 with the line at +25: on track, 80% of the way.
    assert (nps.progress, nps.current, nps.fraction) == (Progress.ON_TRACK, 40, pytest.approx(0.8))
    assert nps.reason.startswith("NPS +40, the line says NPS +25 by today, target NPS +50 by ")
    # Lower effort is better: the default comparison for CES is at_most.
    effort = outcome("ces", 2.0, baseline=4.0, comparison=METRICS["ces"].comparison, title="Easy")
    ces = evaluate(effort, account(surveys=answers))
    assert (ces.progress, ces.expected, ces.fraction) == (Progress.ON_TRACK, 3.0, pytest.approx(0.75))
    assert ces.reason.startswith("CES 2.5, the line says CES 3.0 by today, target CES 2.0 or less by ")
    easy = evaluate(replace(effort, target=2.5), account(surveys=answers))
    assert easy.progress is Progress.ACHIEVED


def test_without_a_baseline_or_a_pace_there_is_no_verdict_until_time_runs_short() -> None:
    early = evaluate(outcome(baseline=None, started=40, due_in=60), account(active=120))
    assert (early.progress, early.expected, early.fraction) == (Progress.NO_DATA, None, None)
    assert early.current == 120
    assert (
        early.reason == "120 weekly active users, target 200 by Sat 30 May 2026: no history yet: no verdict"
    )
    assert early.notes == ("no history yet: no verdict",)
    late = evaluate(outcome(baseline=None, started=60, due_in=40), account(active=120))
    assert late.progress is Progress.AT_RISK
    assert late.reason.endswith("over half the time gone: at risk")
    assert evaluate(outcome(baseline=None), account(active=201)).progress is Progress.ACHIEVED


def test_the_recent_pace_counts_where_it_is_known() -> None:
    # 120 is behind the line (150), but +1 a day carried on for 50 days reaches 170 only...
    slow = evaluate(outcome(), account(active=120, pace=1))
    assert (slow.progress, slow.projected) == (Progress.AT_RISK, 170)
    assert slow.reason == (
        "120 weekly active users, the line says 150 by today, "
        "at the last 30 days' pace: 170 by the due date, target 200 by Wed 20 May 2026: at risk"
    )
    assert slow.notes == (
        "behind the line to the target: 150 weekly active users by today",
        "at the last 30 days' pace: 170 by the due date",
    )
    # ... while +2 a day reaches 220 by the due date: catching up.
    catching_up = evaluate(outcome(), account(active=120, pace=2))
    assert (catching_up.progress, catching_up.projected, catching_up.notes) == (Progress.ON_TRACK, 220, ())
    assert catching_up.reason == (
        "120 weekly active users (the line says 150), at the last 30 days' pace: 220 by the due date, "
        "target 200 by Wed 20 May 2026: on track"
    )
    # Without a baseline the pace decides, whatever the time.
    no_line = outcome(baseline=None, started=80, due_in=20)
    assert evaluate(no_line, account(active=120, pace=4)).progress is Progress.ON_TRACK
    early = outcome(baseline=None, started=10, due_in=90)
    assert evaluate(early, account(active=120, pace=-0.3)).progress is Progress.AT_RISK


# ----------------------------------------------------------------------------------------- projection


def test_an_outcome_defined_today_on_a_falling_metric_is_at_risk() -> None:
    """The issue's case: 200 active users due in 30 days, defined today on an account whose active users
    fell 86% in the last 30 days (to 9.7). Today's value sits on the line from the baseline, which says
    nothing: at the last 30 days' pace it is 0 by the due date."""
    fresh = outcome(baseline=9.7, started=0, due_in=30, title="200 active users")
    state = evaluate(fresh, account(active=9.7, prior=69.3, pace=-2.0))
    assert (state.progress, state.expected, state.projected) == (Progress.AT_RISK, 9.7, 0.0)  # not -50
    assert state.notes == ("at the last 30 days' pace: 0 by the due date",)
    assert state.reason == (
        "9.7 weekly active users, at the last 30 days' pace: 0 by the due date, "
        "target 200 by Thu 30 Apr 2026: at risk"
    )
    card = outcome_text(state, D)
    assert "· at risk\n" in card and card.endswith("_at the last 30 days' pace: 0 by the due date_")
    reading = success_plan(account(active=9.7, prior=69.3, pace=-2.0, outcomes=(fresh,)))
    assert reading.score == 0.0  # the pace makes no progress at all towards 200
    assert reading.reason == "“200 active users” at risk: 9.7, at the last 30 days' pace: 0 by the due date"


def test_on_the_line_but_the_pace_falls_short_is_at_risk() -> None:
    # 150 is on the line (150), but +0.5 a day for the 50 days left makes 175, not 200.
    state = evaluate(outcome(), account(active=150, pace=0.5))
    assert (state.progress, state.projected, state.fraction) == (Progress.AT_RISK, 175, 0.5)
    assert state.reason == (
        "150 weekly active users, the line says 150 by today "
        "but at the last 30 days' pace: 175 by the due date, target 200 by Wed 20 May 2026: at risk"
    )
    assert state.notes == ("at the last 30 days' pace: 175 by the due date",)
    # Its share of the success plan score is what the pace gets done: 75 of the 100 to go.
    assert success_plan(account(active=150, pace=0.5, outcomes=(outcome(),))).score == pytest.approx(75.0)
    # The line's pace (+1 a day) lands on the target exactly: on track.
    assert evaluate(outcome(), account(active=150, pace=1.0)).progress is Progress.ON_TRACK
    assert evaluate(outcome(), account(active=150)).progress is Progress.ON_TRACK  # no pace: the line alone


def test_at_most_targets_project_downwards_and_stop_at_zero() -> None:
    tickets = outcome("open_tickets", 5, baseline=25, comparison="at_most", title="At most 5 open tickets")

    def state(per_day: float) -> Any:
        return evaluate(tickets, account(usage={"open_tickets": trend(15, per_day)}))

    rising = state(0.1)  # on the line (15) but going up: 20 by the due date
    assert (rising.progress, rising.projected) == (Progress.AT_RISK, pytest.approx(20))
    assert rising.notes == ("at the last 30 days' pace: 20 by the due date",)
    assert (state(-0.2).progress, state(-0.2).projected) == (Progress.ON_TRACK, pytest.approx(5))
    falling = state(-2.0)  # 15 - 100 would be -85: tickets stop at 0
    assert (falling.progress, falling.projected) == (Progress.ON_TRACK, 0.0)
    # Behind the line (20 where it says 15): falling fast enough catches up, too slowly does not.
    catching_up = evaluate(tickets, account(usage={"open_tickets": trend(20, -0.4)}))
    assert (catching_up.progress, catching_up.projected) == (Progress.ON_TRACK, pytest.approx(0.0))
    behind = evaluate(tickets, account(usage={"open_tickets": trend(20, -0.1)}))
    assert (behind.progress, behind.projected) == (Progress.AT_RISK, pytest.approx(15))
    assert behind.notes == (
        "behind the line to the target: 15 open tickets by today",
        "at the last 30 days' pace: 15 by the due date",
    )


def test_a_flat_metric_short_of_its_target_is_at_risk() -> None:
    on_line = evaluate(outcome(), account(active=150, pace=0.0))  # on the line, but not moving
    assert (on_line.progress, on_line.projected) == (Progress.AT_RISK, 150)
    assert on_line.notes == ("at the last 30 days' pace: 150 by the due date",)
    today = evaluate(outcome(baseline=150, started=0), account(active=150, pace=0.0))
    assert (today.progress, today.projected) == (Progress.AT_RISK, 150)
    assert evaluate(outcome(target=150), account(active=150, pace=0.0)).progress is Progress.ACHIEVED
    tickets = outcome("open_tickets", 5, baseline=9, comparison="at_most", started=0, due_in=30)
    flat = evaluate(tickets, account(usage={"open_tickets": trend(9, 0.0)}))
    assert (flat.progress, flat.projected) == (Progress.AT_RISK, 9)


def test_no_history_yet_gives_no_verdict() -> None:
    # Defined today, and the metric has fewer than two days of data: nothing to judge by.
    fresh = outcome(baseline=120, started=0, due_in=30)
    state = evaluate(fresh, account(active=120))
    assert (state.progress, state.current, state.projected) == (Progress.NO_DATA, 120, None)
    assert state.notes == ("no history yet: no verdict",)
    assert (
        state.reason == "120 weekly active users, target 200 by Thu 30 Apr 2026: no history yet: no verdict"
    )
    card = outcome_text(state, D)
    assert "· no verdict yet\n" in card and card.endswith("_no history yet: no verdict_")
    assert plan_reply(1, "Acme", [state], D).summary == "Acme success plan: 1 outcome: 1 no verdict yet"
    assert success_plan(account(active=120, outcomes=(fresh,))).score is None  # no verdict, no score
    # A survey metric never has a pace: the line decides from the day after the start day.
    nps = outcome("nps", 50, baseline=40, started=0, due_in=30, title="NPS 50")
    answers = {"nps": {10: 2, 9: 1, 7: 1, 3: 1}}  # +40
    assert evaluate(nps, account(surveys=answers)).progress is Progress.NO_DATA
    tomorrow = account(surveys=answers, day=D + timedelta(days=1))
    assert evaluate(nps, tomorrow).progress is Progress.ON_TRACK


def test_the_pace_of_each_metric() -> None:
    inputs = account(
        usage={
            "active_users": MetricWindow(recent_mean=100, slope=1.5, count_slope=0.2, pace_days=30),
            "features_adopted": MetricWindow(latest=6, slope=0.1, pace_days=12),
            "escalations": MetricWindow(total_30d=6, slope=0.0, count_slope=-0.01, pace_days=30),
            "open_tickets": MetricWindow(latest=3, pace_days=1),  # one day of data: no slope
        },
        surveys={"nps": {10: 3}},
    )
    assert recent_pace(inputs, "active_users") == Pace(1.5, 30)
    assert recent_pace(inputs, "features_adopted") == Pace(0.1, 12)
    # A 30-day total of counts per day moves 30 times as fast as the daily counts.
    escalations = recent_pace(inputs, "escalations")
    assert escalations is not None and escalations.per_day == pytest.approx(-0.3)
    assert recent_pace(inputs, "open_tickets") is None
    assert recent_pace(inputs, "licensed_seats") is None
    assert recent_pace(inputs, "nps") is None  # survey metrics have no pace
    assert Pace(0.1, 12).window == "the last 12 days' pace"


def test_a_shorter_history_says_so() -> None:
    adopt = outcome("features_adopted", 10, baseline=2, started=0, due_in=20, title="Adopt 10 features")
    state = evaluate(adopt, account(usage={"features_adopted": trend(2, 0.25, days=12)}))
    assert (state.progress, state.projected) == (Progress.AT_RISK, 7)
    assert state.notes == ("at the last 12 days' pace: 7 by the due date",)


def test_projections_stay_within_the_metric_bounds() -> None:
    assert project(METRICS["active_users"], 10, Pace(-1, 30), 30) == 0
    assert project(METRICS["csat"], 90, Pace(1, 30), 30) == 100
    assert project(METRICS["ces"], 2, Pace(-1, 30), 30) == 1
    assert project(METRICS["active_users"], 10, Pace(1, 30), -5) == 10  # past the due date: no days left


def test_a_baseline_that_already_met_the_target_draws_a_flat_line() -> None:
    slipped = evaluate(outcome(baseline=220), account(active=190))
    assert (slipped.progress, slipped.expected, slipped.fraction) == (Progress.AT_RISK, 200, 0.0)


def test_stored_status_as_of_the_day() -> None:
    achieved = outcome(status="achieved", achieved_at=at(D - timedelta(days=3)))
    state = evaluate(achieved, account(active=180))  # dipped since: still achieved
    assert (state.progress, state.fraction, state.current) == (Progress.ACHIEVED, 1.0, 180)
    not_yet = outcome(status="achieved", achieved_at=at(D + timedelta(days=1), 0))
    assert evaluate(not_yet, account(active=120)).progress is Progress.AT_RISK  # still open on D
    missed = evaluate(outcome(status="missed"), account(active=150))
    assert missed.progress is Progress.MISSED


def test_manual_outcomes() -> None:
    manual = outcome(None, None, baseline=None, title="Go live in Germany")
    awaiting = evaluate(manual, account(active=150))
    assert (awaiting.progress, awaiting.current, awaiting.fraction) == (Progress.AWAITING, None, None)
    assert awaiting.reason == "to be marked achieved by Wed 20 May 2026"
    overdue = evaluate(replace(manual, due_date=D - timedelta(days=1)), account())
    assert (overdue.progress, overdue.reason) == (Progress.MISSED, "due Mon 30 Mar 2026, not marked achieved")
    done = evaluate(replace(manual, status="achieved", achieved_at=at(D - timedelta(days=2))), account())
    assert (done.progress, done.fraction, done.reason) == (
        Progress.ACHIEVED,
        1.0,
        "marked achieved on Sun 29 Mar 2026",
    )
    assert evaluate(replace(manual, status="missed"), account()).progress is Progress.MISSED


def test_plan_order() -> None:
    inputs = account(active=120)
    states = [
        evaluate(outcome(title="missed", status="missed", due_in=1), inputs),
        evaluate(outcome(title="achieved", target=100, due_in=2), inputs),
        evaluate(outcome(None, None, baseline=None, title="awaiting", due_in=3), inputs),
        evaluate(outcome(title="no verdict", baseline=None, started=1, due_in=4), inputs),
        evaluate(outcome(title="at risk later", due_in=90), inputs),
        evaluate(outcome(title="at risk", due_in=50), inputs),
    ]
    assert [s.outcome.title for s in plan_order(states)] == [
        "at risk",
        "at risk later",
        "awaiting",
        "no verdict",
        "achieved",
        "missed",
    ]


# ------------------------------------------------------------------------------- health component


def test_success_plan_component() -> None:
    behind = outcome(number=1)  # 120 where the line says 150: 20 of the 50 expected -> 40
    on_track = outcome(number=2, title="Adopt 8 features", metric="features_adopted", target=8, baseline=2)
    inputs = account(active=120, usage={"features_adopted": MetricWindow(latest=6)})
    reading = success_plan(replace(inputs, outcomes=(behind, on_track)))
    assert reading.score == pytest.approx(70.0)  # (40 + 100) / 2
    assert reading.reason == "“200 weekly active users” behind: 120, the line says 150 by today"
    missed = outcome(number=3, title="Old", status="missed", started=120, due_in=-30)
    worse = success_plan(replace(inputs, outcomes=(behind, on_track, missed)))
    assert worse.score == pytest.approx(140 / 3)
    assert worse.reason == "“Old” missed (due Sun 01 Mar 2026), 1 more at risk or missed"


def test_success_plan_counts_only_recent_verdicts() -> None:
    old_miss = outcome(status="missed", started=200, due_in=-90)  # due 90 days before D: too old
    old_win = outcome(status="achieved", achieved_at=at(D - timedelta(days=90)))
    awaiting = outcome(None, None, baseline=None)
    no_data = outcome("nps", 30)
    inputs = account(active=120, outcomes=(old_miss, old_win, awaiting, no_data))
    assert success_plan(inputs).score is None
    assert success_plan(inputs).reason == "no success plan outcomes due"
    recent = (replace(old_miss, due_date=D - timedelta(days=89)), replace(old_win, achieved_at=at(D, 0)))
    counted = success_plan(replace(inputs, outcomes=recent))
    assert counted.score == pytest.approx(50.0)
    given_up = success_plan(replace(inputs, outcomes=(outcome(status="missed"),)))  # due later: counts
    assert given_up.score == 0.0


def test_at_risk_without_a_line_scores_half() -> None:
    late = outcome(baseline=None, started=60, due_in=40)
    assert success_plan(account(active=120, outcomes=(late,))).score == 50.0
    reason = success_plan(account(active=120, outcomes=(late,))).reason
    assert reason == "“200 weekly active users” behind: 120, due Sun 10 May 2026"


def test_success_plan_appears_among_drivers() -> None:
    missed = outcome(status="missed", title="Rollout to all teams")
    inputs = account(
        active=160,
        prior=150,
        usage={"licensed_seats": MetricWindow(latest=200)},
        outcomes=(missed,),
    )
    result = compute_health(inputs, HealthModel())
    component = result.component("success_plan")
    assert component is not None and component.score == 0.0
    assert component.reason == "“Rollout to all teams” missed (due Wed 20 May 2026)"
    found = drivers(result.components)
    assert found[0].name == "success_plan"
    assert (found[0].label, found[0].reason) == ("success plan", component.reason)


# ------------------------------------------------------------------------------------------- database


async def add_account(db: Database, external_id: str) -> int:
    async with db.transaction() as s:
        row = Account(external_id=external_id, name=external_id, name_key=external_id.lower())
        s.add(row)
        await s.flush()
        return row.id


async def add_outcome(db: Database, account_id: int, title: str, **fields: Any) -> int:
    values: dict[str, Any] = {"start_date": D - timedelta(days=50), "due_date": D + timedelta(days=50)}
    values |= fields
    async with db.transaction() as s:
        row = Outcome(account_id=account_id, title=title, **values)
        s.add(row)
        await s.flush()
        return row.id


async def seed_plan(db: Database) -> tuple[int, int]:
    """An account with a plan of every kind, and one without a plan."""
    planned = await add_account(db, "P1")
    bare = await add_account(db, "P2")
    async with db.transaction() as s:
        s.add_all(
            UsageMetric(account_id=planned, day=D - timedelta(days=n), metric="active_users", value=120)
            for n in range(7)
        )
        s.add(UsageMetric(account_id=planned, day=D + timedelta(days=1), metric="active_users", value=999))
        s.add(SurveyResponse(account_id=planned, kind="nps", score=10, submitted_at=at(D), natural_key="n1"))
    await add_outcome(db, planned, "200 weekly active users", metric="active_users", target=200, baseline=100)
    await add_outcome(db, planned, "Go live", due_date=D + timedelta(days=5))
    await add_outcome(db, planned, "NPS 50", metric="nps", target=50, baseline=0)
    await add_outcome(db, planned, "Old", status="missed", due_date=D - timedelta(days=10))
    # Marked achieved the day after D: still open (and at risk) on D.
    await add_outcome(
        db,
        planned,
        "150 weekly active users",
        metric="active_users",
        target=150,
        baseline=100,
        due_date=D + timedelta(days=20),
        status="achieved",
        achieved_at=at(D + timedelta(days=1)),
    )
    # Defined after D: not part of the plan on D.
    await add_outcome(db, planned, "Tomorrow", start_date=D + timedelta(days=1))
    return planned, bare


async def test_load_inputs_reads_outcomes_as_of_the_day(db: Database) -> None:
    planned, bare = await seed_plan(db)
    async with db.sessions() as s:
        on_d = await load_inputs(s, D, Accounts.of([planned, bare]))
        later = await load_inputs(s, D + timedelta(days=1), Accounts.of([planned]))
    titles = [o.title for o in on_d[0].outcomes]
    assert titles == ["Old", "Go live", "150 weekly active users", "200 weekly active users", "NPS 50"]
    assert on_d[1].outcomes == ()
    assert "Tomorrow" in [o.title for o in later[0].outcomes]
    achieved = next(o for o in on_d[0].outcomes if o.title == "150 weekly active users")
    assert achieved.achieved_at == at(D + timedelta(days=1))
    assert (achieved.baseline, achieved.target, achieved.comparison) == (100, 150, "at_least")
    async with db.sessions() as s:
        row = await s.get(Outcome, achieved.id)
        assert row is not None and outcome_input(row) == achieved


async def test_account_plan_in_order(db: Database) -> None:
    planned, bare = await seed_plan(db)
    async with db.sessions() as s:
        plan = await account_plan(s, planned, D)
        plans = await plans_for_accounts(s, [bare, planned, 999_999], D)
        later = await account_plan(s, planned, D + timedelta(days=1))
    assert [(st.outcome.title, st.progress) for st in plan] == [
        ("150 weekly active users", Progress.AT_RISK),  # the line says 136 on D: more than 5 behind
        ("200 weekly active users", Progress.AT_RISK),
        ("Go live", Progress.AWAITING),
        ("NPS 50", Progress.ACHIEVED),  # +100 from one promoter: reached, for the caller to persist
        ("Old", Progress.MISSED),
    ]
    assert plan[1].current == 120 and plan[1].expected == 150  # the 999 after D is not read
    assert set(plans) == {planned, bare}
    assert plans[bare] == [] and plans[planned] == plan
    assert "Tomorrow" in [st.outcome.title for st in later]
    assert next(st for st in later if st.outcome.title == "150 weekly active users").progress is (
        Progress.ACHIEVED
    )


async def test_value_now_is_the_baseline_of_a_new_outcome(db: Database) -> None:
    planned, bare = await seed_plan(db)
    async with db.sessions() as s:
        assert await value_now(s, planned, "active_users", D) == 120
        assert await value_now(s, planned, "nps", D) == 100
        assert await value_now(s, planned, "csat", D) is None
        assert await value_now(s, bare, "active_users", D) is None
        assert await value_now(s, 999_999, "active_users", D) is None


async def add_usage(db: Database, account_id: int, metric: str, values: dict[int, float]) -> None:
    """``values``: days before D -> value."""
    async with db.transaction() as s:
        s.add_all(
            UsageMetric(account_id=account_id, day=D - timedelta(days=n), metric=metric, value=v)
            for n, v in values.items()
        )


async def test_load_inputs_fits_the_recent_pace(db: Database) -> None:
    account_id = await add_account(db, "PACE")
    # +2 a day over the whole window, and the days before it (which the pace does not read) flat.
    await add_usage(db, account_id, "active_users", {n: 200 - 2 * n for n in range(30)} | {40: 500})
    # With gaps: every third day only, still on a line of -0.5 a day.
    await add_usage(db, account_id, "open_tickets", {n: 20 + 0.5 * n for n in range(0, 30, 3)})
    # Counts per day, a row only on days with escalations: 3 twenty days ago, 1 five days ago.
    await add_usage(db, account_id, "escalations", {20: 3, 5: 1})
    await add_usage(db, account_id, "licensed_seats", {0: 300})  # one day: no history yet
    await add_usage(db, account_id, "features_adopted", {10: 4, 0: 6})  # started 10 days ago
    async with db.sessions() as s:
        (inputs,) = await load_inputs(s, D, Accounts.of([account_id]))
    active = inputs.metric("active_users")
    assert (active.slope, active.pace_days) == (pytest.approx(2.0), 30)
    assert inputs.metric("open_tickets").slope == pytest.approx(-0.5)
    escalations = inputs.metric("escalations")
    assert escalations.pace_days == 21
    # Every day from the first one counts, days without a row as 0: -525 / 16170 a day, so the 30-day
    # total (4) falls by 30 times that, about 1 a day.
    assert escalations.count_slope == pytest.approx(-525 / 16170)
    pace = recent_pace(inputs, "escalations")
    assert pace is not None and pace.per_day == pytest.approx(-30 * 525 / 16170)
    seats = inputs.metric("licensed_seats")
    assert (seats.slope, seats.count_slope, seats.pace_days) == (None, None, 1)
    assert recent_pace(inputs, "licensed_seats") is None
    adopted = inputs.metric("features_adopted")
    assert (adopted.slope, adopted.pace_days) == (pytest.approx(0.2), 11)
    assert recent_pace(inputs, "features_adopted") == Pace(pytest.approx(0.2), 11)  # type: ignore[arg-type]


async def test_an_outcome_defined_today_on_a_falling_account(db: Database) -> None:
    """The issue's case end to end: active users fell 86% in 30 days; the outcome defined today takes
    today's value as its baseline and is at risk from its first day, and the plan says why."""
    account_id = await add_account(db, "FALL")
    await add_usage(db, account_id, "active_users", {n: 3.7 + 2 * n for n in range(37)})
    async with db.sessions() as s:
        baseline = await value_now(s, account_id, "active_users", D)
    assert baseline == pytest.approx(9.7)  # the 7-day mean, down 86% from 69.7 thirty days before
    await add_outcome(
        db,
        account_id,
        "200 active users",
        metric="active_users",
        target=200,
        baseline=baseline,
        start_date=D,
        due_date=D + timedelta(days=30),
    )
    async with db.sessions() as s:
        (state,) = await account_plan(s, account_id, D)
        (inputs,) = await load_inputs(s, D, Accounts.of([account_id]))
    assert (state.progress, state.projected) == (Progress.AT_RISK, 0.0)
    assert state.notes == ("at the last 30 days' pace: 0 by the due date",)
    assert outcome_text(state, D).endswith("_at the last 30 days' pace: 0 by the due date_")
    health = compute_health(inputs, HealthModel()).component("success_plan")
    assert health is not None and health.score == 0.0
