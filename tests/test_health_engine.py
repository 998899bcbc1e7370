"""The pure health engine and its configuration: exact arithmetic, bands, missing data, segments, errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.health.components import (
    COMPONENT_NAMES,
    COMPONENTS,
    ComponentScore,
    ces,
    csat,
    engagement_recency,
    feature_adoption,
    license_utilisation,
    milestone_progress,
    nps,
    success_plan,
    support_load,
    usage_trend,
)
from bot.health.engine import band_for, compute_health, drivers
from bot.health.inputs import AccountInputs, MetricWindow, MilestoneStatus, OutcomeInput
from bot.health.model import HealthConfigError, HealthModel, load_health_model
from storage.models import Band

DAY = date(2026, 3, 31)
ROOT = Path(__file__).resolve().parent.parent


def inputs(
    *,
    usage: dict[str, MetricWindow] | None = None,
    surveys: dict[str, dict[int, int]] | None = None,
    last_follow_up: date | None = None,
    milestones: MilestoneStatus | None = None,
    segment: str | None = None,
    outcomes: tuple[OutcomeInput, ...] = (),
) -> AccountInputs:
    return AccountInputs(
        account_id=1,
        day=DAY,
        segment=segment,
        usage=usage or {},
        surveys=surveys or {},
        last_follow_up=last_follow_up,
        milestones=milestones or MilestoneStatus(),
        outcomes=outcomes,
    )


def outcome(
    title: str,
    metric: str | None,
    target: float | None,
    *,
    baseline: float | None = None,
    started: int = 60,
    due_in: int = 60,
    number: int = 1,
) -> OutcomeInput:
    """An outcome started ``started`` days before DAY and due ``due_in`` days after it."""
    return OutcomeInput(
        id=number,
        title=title,
        metric=metric,
        comparison="at_least",
        target=target,
        baseline=baseline,
        start_date=DAY - timedelta(days=started),
        due_date=DAY + timedelta(days=due_in),
        status="open",
        achieved_at=None,
        achieved_value=None,
    )


# Half way along its line from 46 to 126 the line says 86; 66 active users made 20 of the 40 expected.
BEHIND = outcome("126 weekly active users", "active_users", 126, baseline=46)
# 6 features adopted reach the target of 5.
REACHED = outcome("Adopt 5 features", "features_adopted", 5, baseline=3, started=30, due_in=30, number=2)


def full_inputs(**changes: Any) -> AccountInputs:
    """Every component has data; the expected scores are in EXPECTED."""
    base = inputs(
        usage={
            "active_users": MetricWindow(latest=70, recent_mean=66, prior_mean=100),
            "licensed_seats": MetricWindow(latest=165),
            "features_adopted": MetricWindow(latest=6),
            "features_available": MetricWindow(latest=10),
            "open_tickets": MetricWindow(latest=0),
            "escalations": MetricWindow(total_30d=2),
        },
        surveys={"nps": {10: 2, 9: 1, 7: 1, 3: 1}, "csat": {5: 3, 4: 3, 3: 1, 1: 1}, "ces": {2: 3, 4: 1}},
        last_follow_up=DAY - timedelta(days=45),
        milestones=MilestoneStatus(total=4, overdue=1, worst_name="Kickoff", worst_days_late=12),
        outcomes=(BEHIND, REACHED),
    )
    return replace(base, **changes)


EXPECTED = {
    "license_utilisation": 50.0,  # 66 / 165 = 40% of seats, full marks at 80%
    "usage_trend": 25.6,  # -34%: 80 - 160 * 0.34
    "feature_adoption": 80.0,  # 60% adopted, full marks at 75%
    "nps": 70.0,  # 3 promoters, 1 passive, 1 detractor of 5: NPS +40
    "csat": 75.0,  # 6 of 8 answers are 4 or 5
    "ces": 75.0,  # mean effort 2.5 of 7: 100 * (7 - 2.5) / 6
    "support_load": 70.0,  # no open tickets, 2 escalations: 100 - 30
    "engagement_recency": 50.0,  # 45 days: 100 - 30 * 100 / 60
    "milestone_progress": 72.0,  # 1 overdue, 12 days: 100 - 20 - 40 * 12 / 60
    "success_plan": 75.0,  # one outcome at risk with 50% of the expected progress, one achieved: 100
}


# ------------------------------------------------------------------------------------------ components


def test_license_utilisation() -> None:
    active = {"active_users": MetricWindow(recent_mean=41), "licensed_seats": MetricWindow(latest=50)}
    reading = license_utilisation(inputs(usage=active))
    assert (reading.score, reading.reason) == (100.0, "82% of licensed seats active")
    half = {"active_users": MetricWindow(recent_mean=20), "licensed_seats": MetricWindow(latest=50)}
    assert license_utilisation(inputs(usage=half)).score == 50.0
    assert license_utilisation(inputs(usage={"active_users": MetricWindow(recent_mean=5)})).score is None
    no_active = {"licensed_seats": MetricWindow(latest=50)}
    assert license_utilisation(inputs(usage=no_active)).score is None


@pytest.mark.parametrize(
    ("recent", "prior", "score", "reason"),
    [
        (66, 100, 25.6, "active users down 34% in 30 days"),
        (105, 100, 90.0, "active users up 5% in 30 days"),
        (100, 100, 80.0, "active users steady over 30 days"),
        (130, 100, 100.0, "active users up 30% in 30 days"),
        (40, 100, 0.0, "active users down 60% in 30 days"),
    ],
)
def test_usage_trend(recent: float, prior: float, score: float, reason: str) -> None:
    reading = usage_trend(inputs(usage={"active_users": MetricWindow(recent_mean=recent, prior_mean=prior)}))
    assert reading.score == pytest.approx(score)
    assert reading.reason == reason


def test_usage_trend_needs_both_windows() -> None:
    assert usage_trend(inputs(usage={"active_users": MetricWindow(recent_mean=10)})).score is None
    assert usage_trend(inputs(usage={"active_users": MetricWindow(prior_mean=10)})).score is None
    zero = {"active_users": MetricWindow(recent_mean=10, prior_mean=0)}
    assert usage_trend(inputs(usage=zero)).score is None


def test_feature_adoption() -> None:
    six = {"features_adopted": MetricWindow(latest=6), "features_available": MetricWindow(latest=10)}
    reading = feature_adoption(inputs(usage=six))
    assert reading.score == pytest.approx(80.0)
    assert reading.reason == "6 of 10 features adopted (60%)"
    nine = {"features_adopted": MetricWindow(latest=9), "features_available": MetricWindow(latest=10)}
    assert feature_adoption(inputs(usage=nine)).score == 100.0
    assert feature_adoption(inputs(usage={"features_adopted": MetricWindow(latest=3)})).score is None


def test_nps() -> None:
    reading = nps(inputs(surveys={"nps": {10: 2, 9: 1, 7: 1, 3: 1}}))
    assert reading.score == 70.0
    assert reading.reason == "1 detractor in 90 days (NPS +40 from 5 answers)"
    two = nps(inputs(surveys={"nps": {10: 1, 9: 1, 8: 1, 6: 1, 0: 1}}))
    assert (two.score, two.reason) == (50.0, "2 detractors in 90 days (NPS 0 from 5 answers)")
    promoters = nps(inputs(surveys={"nps": {9: 4}}))
    assert (promoters.score, promoters.reason) == (100.0, "NPS +100 from 4 answers in 90 days")
    assert nps(inputs(surveys={"nps": {0: 2}})).score == 0.0
    assert nps(inputs(surveys={"csat": {5: 1}})).score is None


def test_csat() -> None:
    reading = csat(inputs(surveys={"csat": {5: 3, 4: 3, 3: 1, 1: 1}}))
    assert reading.score == 75.0
    assert reading.reason == "75% satisfied (4-5) of 8 CSAT answers in 90 days"
    assert csat(inputs()).score is None


@pytest.mark.parametrize(
    ("answers", "score", "reason"),
    [
        ({2: 3, 4: 1}, 75.0, "customer effort 2.5 of 7 (low) from 4 CES answers in 90 days"),
        ({1: 2}, 100.0, "customer effort 1.0 of 7 (low) from 2 CES answers in 90 days"),
        ({7: 1}, 0.0, "customer effort 7.0 of 7 (high) from 1 CES answer in 90 days"),
        ({4: 1}, 50.0, "customer effort 4.0 of 7 (moderate) from 1 CES answer in 90 days"),
    ],
)
def test_ces_low_effort_scores_high(answers: dict[int, int], score: float, reason: str) -> None:
    reading = ces(inputs(surveys={"ces": answers}))
    assert reading.score == pytest.approx(score)
    assert reading.reason == reason
    assert ces(inputs()).score is None


def test_support_load() -> None:
    usage = {
        "open_tickets": MetricWindow(latest=3),
        "licensed_seats": MetricWindow(latest=200),
        "escalations": MetricWindow(total_30d=1),
    }
    reading = support_load(inputs(usage=usage))
    assert reading.score == pytest.approx(70.0)  # 100 - 10 * 1.5 - 15 * 1
    assert reading.reason == "3 open tickets (1.5 per 100 seats), 1 escalation in 30 days"
    # Escalations count on their own; tickets need a seat count.
    only_escalations = support_load(inputs(usage={"escalations": MetricWindow(total_30d=2)}))
    assert (only_escalations.score, only_escalations.reason) == (70.0, "2 escalations in 30 days")
    assert support_load(inputs(usage={"open_tickets": MetricWindow(latest=3)})).score is None
    many = {"open_tickets": MetricWindow(latest=30), "licensed_seats": MetricWindow(latest=100)}
    assert support_load(inputs(usage=many)).score == 0.0


@pytest.mark.parametrize(
    ("days", "score", "reason"),
    [
        (0, 100.0, "follow-up logged today"),
        (1, 100.0, "last follow-up 1 day ago"),
        (15, 100.0, "last follow-up 15 days ago"),
        (45, 50.0, "no follow-up logged in 45 days"),
        (75, 0.0, "no follow-up logged in 75 days"),
        (200, 0.0, "no follow-up logged in 200 days"),
    ],
)
def test_engagement_recency(days: int, score: float, reason: str) -> None:
    reading = engagement_recency(inputs(last_follow_up=DAY - timedelta(days=days)))
    assert reading.score == pytest.approx(score)
    assert reading.reason == reason


def test_engagement_recency_without_follow_ups_has_no_data() -> None:
    assert engagement_recency(inputs()).score is None


def test_milestone_progress() -> None:
    one = milestone_progress(inputs(milestones=MilestoneStatus(4, 1, "Kickoff", 12)))
    assert one.score == pytest.approx(72.0)
    assert one.reason == "Kickoff overdue 12 days"
    two = milestone_progress(inputs(milestones=MilestoneStatus(4, 2, "Go-live", 45)))
    assert two.score == pytest.approx(30.0)
    assert two.reason == "Go-live overdue 45 days, 1 more overdue"
    capped = milestone_progress(inputs(milestones=MilestoneStatus(5, 3, "QBR", 400)))
    assert capped.score == 0.0
    on_track = milestone_progress(inputs(milestones=MilestoneStatus(total=3)))
    assert (on_track.score, on_track.reason) == (100.0, "no overdue milestones (of 3)")
    assert milestone_progress(inputs()).score is None


def test_success_plan() -> None:
    usage = full_inputs().usage
    reading = success_plan(inputs(usage=usage, outcomes=(BEHIND, REACHED)))
    assert reading.score == pytest.approx(75.0)
    assert reading.reason == "“126 weekly active users” behind: 66, the line says 86 by today"
    achieved = success_plan(inputs(usage=usage, outcomes=(REACHED,)))
    assert (achieved.score, achieved.reason) == (100.0, "1 outcome on track or achieved")
    no_plan = success_plan(inputs(usage=usage))
    assert (no_plan.score, no_plan.reason) == (None, "no success plan outcomes due")


# ----------------------------------------------------------------------------------------------- engine


def test_weighted_mean_of_all_components() -> None:
    result = compute_health(full_inputs(), HealthModel())
    assert {c.name: c.score for c in result.components} == EXPECTED
    # (20*50 + 15*25.6 + 15*80 + 10*70 + 10*75 + 5*75 + 10*70 + 10*50 + 10*72 + 10*75) / 115
    # = 7079 / 115
    assert result.score == 61.6
    assert result.band is Band.YELLOW
    assert result.confidence == 1.0
    assert result.reason is None
    assert [c.name for c in result.components] == list(COMPONENT_NAMES)
    assert result.component("nps") == ComponentScore(
        "nps", 70.0, 10.0, "1 detractor in 90 days (NPS +40 from 5 answers)"
    )


def test_missing_components_give_their_weight_to_the_others() -> None:
    result = compute_health(full_inputs(surveys={}), HealthModel())
    # NPS, CSAT and CES have no data: (7079 - 700 - 750 - 375) / 90 = 58.4
    assert result.score == 58.4
    assert result.confidence == 0.783  # 90 / 115
    assert result.component("nps") == ComponentScore("nps", None, 10.0, "no NPS answers in 90 days")


def test_too_little_data_is_not_guessed() -> None:
    only_nps = compute_health(inputs(surveys={"nps": {10: 1}}), HealthModel())
    assert only_nps.score is None
    assert only_nps.band is Band.UNKNOWN
    assert only_nps.confidence == 0.087  # 10 / 115
    assert only_nps.reason == "not enough data: only NPS available"

    three = inputs(surveys={"nps": {10: 1}, "csat": {5: 1}}, last_follow_up=DAY)
    result = compute_health(three, HealthModel())
    assert (result.score, result.confidence) == (None, 0.261)  # 30 / 115
    assert result.reason == "not enough data: only NPS, CSAT and engagement recency available"

    nothing = compute_health(inputs(), HealthModel())
    assert (nothing.score, nothing.band, nothing.confidence) == (None, Band.UNKNOWN, 0.0)
    assert nothing.reason == "not enough data: no component has data"


def test_minimum_confidence_and_components_are_configurable() -> None:
    three = inputs(surveys={"nps": {10: 1}, "csat": {5: 1}}, last_follow_up=DAY)
    lenient = HealthModel.from_mapping({"min_confidence": 0.26})
    assert compute_health(three, lenient).score == 100.0
    # One component with most of the weight is still only one component.
    heavy = HealthModel.from_mapping({"min_confidence": 0, "weights": {"nps": 500}})
    one = compute_health(inputs(surveys={"nps": {10: 1}}), heavy)
    assert one.score is None and one.confidence == 0.826  # 500 / 605
    single = HealthModel.from_mapping({"min_confidence": 0, "min_components": 1})
    assert compute_health(inputs(surveys={"nps": {10: 1}}), single).score == 100.0


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, Band.GREEN),
        (70, Band.GREEN),
        (69.9, Band.YELLOW),
        (40, Band.YELLOW),
        (39.9, Band.RED),
        (0, Band.RED),
        (None, Band.UNKNOWN),
    ],
)
def test_default_bands(score: float | None, band: Band) -> None:
    profile = HealthModel().default
    assert band_for(score, profile.green, profile.yellow) is band


def test_thresholds_are_configurable() -> None:
    model = HealthModel.from_mapping({"thresholds": {"green": 55, "yellow": 30}})
    assert compute_health(full_inputs(), model).band is Band.GREEN  # 61.6
    strict = HealthModel.from_mapping({"thresholds": {"green": 90, "yellow": 65}})
    assert compute_health(full_inputs(), strict).band is Band.RED


def test_segment_weights_override_the_global_ones() -> None:
    model = HealthModel.from_mapping(
        {
            "segments": {
                "Enterprise": {"weights": {"nps": 60, "usage_trend": 0}, "thresholds": {"green": 60}},
            }
        }
    )
    enterprise = compute_health(full_inputs(segment="enterprise"), model)
    # usage_trend off, nps 60: (7079 - 384 - 700 + 60*70) / (115 - 15 - 10 + 60) = 10195 / 150
    assert enterprise.score == 68.0
    assert enterprise.band is Band.GREEN  # the segment's green threshold is 60
    assert "usage_trend" not in {c.name for c in enterprise.components}
    assert enterprise.component("nps") == ComponentScore(
        "nps", 70.0, 60.0, "1 detractor in 90 days (NPS +40 from 5 answers)"
    )
    # Other segments, and accounts without one, use the global model.
    assert compute_health(full_inputs(segment="SMB"), model).score == 61.6
    assert compute_health(full_inputs(), model).score == 61.6


def test_drivers_are_the_components_costing_most_points() -> None:
    result = compute_health(full_inputs(), HealthModel())
    found = drivers(result.components)
    # Points lost: usage trend 15 * 74.4 / 115, licence 20 * 50 / 115, engagement 10 * 50 / 115;
    # components at 70 or above (the success plan's 75) are not drivers.
    assert [(d.name, d.impact) for d in found] == [
        ("usage_trend", 9.7),
        ("license_utilisation", 8.7),
        ("engagement_recency", 4.3),
    ]
    assert found[0].reason == "active users down 34% in 30 days"
    assert found[0].label == "usage trend"
    assert drivers(result.components, limit=1)[0].name == "usage_trend"
    healthy = [ComponentScore("nps", 90.0, 10, ""), ComponentScore("csat", None, 10, "")]
    assert drivers(healthy) == ()


# ------------------------------------------------------------------------------------------------ config


def test_defaults() -> None:
    model = HealthModel()
    assert dict(model.default.weights) == {
        "license_utilisation": 20,
        "usage_trend": 15,
        "feature_adoption": 15,
        "nps": 10,
        "csat": 10,
        "ces": 5,
        "support_load": 10,
        "engagement_recency": 10,
        "milestone_progress": 10,
        "success_plan": 10,
    }
    assert set(model.default.weights) == {c.name for c in COMPONENTS}
    assert (model.default.green, model.default.yellow) == (70, 40)
    assert (model.min_confidence, model.min_components) == (0.5, 2)


def test_absent_file_gives_defaults(tmp_path: Path) -> None:
    assert load_health_model(tmp_path / "missing.toml") == HealthModel()


def test_example_file_documents_the_defaults() -> None:
    assert load_health_model(ROOT / "touchpoint.example.toml") == HealthModel()


def test_file_overrides(tmp_path: Path) -> None:
    path = tmp_path / "touchpoint.toml"
    path.write_text(
        "[routing]\nanything = 'other sections are not the health model s business'\n"
        "[health]\nmin_confidence = 0.4\n"
        "[health.weights]\nnps = 30\n"
        "[health.thresholds]\ngreen = 80\n"
        "[health.segments.SMB.weights]\nmilestone_progress = 0\n"
    )
    model = load_health_model(path)
    assert model.min_confidence == 0.4
    assert model.default.weights["nps"] == 30
    assert model.default.weights["csat"] == 10
    assert (model.default.green, model.default.yellow) == (80, 40)
    smb = model.profile_for("smb")
    assert smb.weights["milestone_progress"] == 0
    assert smb.weights["nps"] == 30  # inherited from the global table
    assert smb.green == 80


@pytest.mark.parametrize(
    ("content", "key", "problem"),
    [
        ("[health.weights]\nnpz = 5\n", "health.weights.npz", "unknown component"),
        ("[health.weights]\nnps = -5\n", "health.weights.nps", "must be at least 0"),
        ("[health.weights]\nnps = 'high'\n", "health.weights.nps", "must be a number"),
        (
            "[health.thresholds]\ngreen = 40\nyellow = 70\n",
            "health.thresholds",
            "yellow (70) must be below green (40)",
        ),
        ("[health.thresholds]\nyellow = 75\n", "health.thresholds", "yellow (75) must be below green (70)"),
        ("[health.thresholds]\ngreen = 120\n", "health.thresholds.green", "between 0 and 100"),
        ("[health.thresholds]\nred = 10\n", "health.thresholds.red", "unknown key"),
        ("[health]\nmin_confidence = 1.5\n", "health.min_confidence", "between 0 and 1"),
        ("[health]\nmin_components = 0\n", "health.min_components", f"between 1 and {len(COMPONENT_NAMES)}"),
        ("[health]\ncolour = 'blue'\n", "health.colour", "unknown key"),
        ("[health.segments.smb.weights]\nfoo = 1\n", "health.segments.smb.weights.foo", "unknown component"),
        (
            "[health.segments.smb.thresholds]\ngreen = 30\n",
            "health.segments.smb.thresholds",
            "yellow (40) must be below green (30)",
        ),
        ("[health.segments]\nsmb = 3\n", "health.segments.smb", "must be a table"),
        (
            "[health.weights]\n" + "".join(f"{n} = 0\n" for n in COMPONENT_NAMES),
            "health.weights",
            "at least one weight must be above 0",
        ),
    ],
)
def test_invalid_configuration_names_file_and_key(
    tmp_path: Path, content: str, key: str, problem: str
) -> None:
    path = tmp_path / "touchpoint.toml"
    path.write_text(content)
    with pytest.raises(HealthConfigError) as caught:
        load_health_model(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: ")
    assert problem in message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "touchpoint.toml"
    path.write_text("[health\n")
    with pytest.raises(HealthConfigError, match="not valid TOML") as caught:
        load_health_model(path)
    assert str(caught.value).startswith(str(path))
