"""The demo portfolio: deterministic, shaped like a real CS book of business, refused on a non-empty
database, and loadable from the command line."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from typer.testing import CliRunner

from adapters.cli.demo import ALREADY_HAS_DATA, demo_data_command, load_demo_data
from bot.feedback.sentiment import STRONGLY_NEGATIVE, score
from bot.settings import get_settings
from storage.db import Database
from storage.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_CSM_EMAIL,
    DEMO_CX_EMAIL,
    DEMO_MANAGER_EMAIL,
    USAGE_DAYS,
    USAGE_METRICS,
    DemoDataError,
    Trajectory,
    generate_demo_data,
    plan_portfolio,
)
from storage.demo import writer as demo_writer
from storage.demo.outcomes import Story, judge, slope
from storage.models import (
    Account,
    ArrChange,
    AuditEvent,
    FollowUp,
    FollowUpKind,
    LifecycleStage,
    Milestone,
    MilestoneKind,
    Outcome,
    OutcomeComparison,
    Person,
    Role,
    SurveyResponse,
    UsageMetric,
)
from storage.names import name_key

TODAY = date(2026, 3, 2)  # the history crosses the end of February
MIDNIGHT = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)

Rows = dict[str, list[tuple[Any, ...]]]


@pytest.fixture
async def other_db(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Database]:
    """A second empty SQLite database, next to the ``db`` fixture's."""
    path = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        yield database
    finally:
        await database.dispose()


async def _rows(db: Database) -> Rows:
    """Every demo row by content: ids replaced by the natural keys they point at, sorted."""
    owner, manager = aliased(Person), aliased(Person)
    queries: dict[str, Any] = {
        "person": select(
            Person.email, Person.name, Person.role, manager.email, Person.timezone, Person.slack_user_id,
            Person.teams_user_id, Person.created_at, Person.updated_at,
        ).outerjoin(manager, manager.id == Person.manager_id),
        "account": select(
            Account.external_id, Account.name, Account.name_key, Account.segment, Account.tier, Account.arr,
            Account.lifecycle_stage, Account.contract_start, Account.renewal_date, owner.email,
            Account.created_at,
        ).outerjoin(owner, owner.id == Account.owner_id),
        "usage_metric": select(
            Account.external_id, UsageMetric.day, UsageMetric.metric, UsageMetric.value,
        ).join(Account, Account.id == UsageMetric.account_id),
        "survey_response": select(
            Account.external_id, SurveyResponse.kind, SurveyResponse.score, SurveyResponse.comment,
            SurveyResponse.sentiment, SurveyResponse.respondent_email, SurveyResponse.submitted_at,
            SurveyResponse.external_id, SurveyResponse.natural_key,
        ).join(Account, Account.id == SurveyResponse.account_id),
        "arr_change": select(
            Account.external_id, ArrChange.day, ArrChange.arr, ArrChange.previous_arr, ArrChange.source,
            ArrChange.recorded_at,
        ).join(Account, Account.id == ArrChange.account_id),
        "outcome": select(
            Account.external_id, Outcome.title, Outcome.metric, Outcome.comparison, Outcome.target,
            Outcome.baseline, Outcome.start_date, Outcome.due_date, Outcome.customer_owner, Outcome.status,
            Outcome.achieved_at, Outcome.achieved_value, Outcome.achieved_by_id.is_not(None),
            Outcome.demonstrated_at, Outcome.created_at,
        ).join(Account, Account.id == Outcome.account_id),
        "milestone": select(
            Account.external_id, Milestone.name, Milestone.kind, Milestone.due_date, Milestone.completed_at,
            Milestone.snoozed_until,
        ).join(Account, Account.id == Milestone.account_id),
        "follow_up": select(
            Account.external_id, owner.email, FollowUp.kind, FollowUp.summary, FollowUp.next_step,
            FollowUp.due_date, FollowUp.status, FollowUp.snoozed_until, FollowUp.created_at, FollowUp.done_at,
        )
        .join(Account, Account.id == FollowUp.account_id)
        .outerjoin(owner, owner.id == FollowUp.author_id),
        "audit_event": select(
            AuditEvent.actor_label, AuditEvent.platform, AuditEvent.action, AuditEvent.object_type,
            AuditEvent.object_id, AuditEvent.details,
        ),
    }  # fmt: skip
    async with db.sessions() as session:
        return {
            name: sorted((tuple(row) for row in (await session.execute(query)).all()), key=repr)
            for name, query in queries.items()
        }


async def _scalar(db: Database, statement: Any) -> Any:
    async with db.sessions() as session:
        return (await session.execute(statement)).scalar_one()


# ------------------------------------------------------------------------------------- determinism


async def test_same_seed_and_day_give_identical_rows(db: Database, other_db: Database) -> None:
    first = await generate_demo_data(db, tone=score, accounts=25, seed=11, today=TODAY)
    second = await generate_demo_data(other_db, tone=score, accounts=25, seed=11, today=TODAY)
    assert first == second
    assert await _rows(db) == await _rows(other_db)


async def test_different_seeds_give_different_portfolios(db: Database, other_db: Database) -> None:
    await generate_demo_data(db, tone=score, accounts=25, seed=1, today=TODAY)
    await generate_demo_data(other_db, tone=score, accounts=25, seed=2, today=TODAY)
    one, two = await _rows(db), await _rows(other_db)
    assert one["account"] != two["account"]
    assert one["usage_metric"] != two["usage_metric"]
    assert one["survey_response"] != two["survey_response"]
    assert one["arr_change"] != two["arr_change"]
    assert one["outcome"] != two["outcome"]
    # The showcase accounts and demo people keep their names whatever the seed.
    names = {row[1] for row in two["account"]}
    assert {"Acme Rockets", "Acme Robotics", "Café Lumière Studios"} <= names
    assert DEMO_CSM_EMAIL in {row[0] for row in two["person"]}


def test_plan_does_not_depend_on_call_order() -> None:
    first = plan_portfolio(40, 5, TODAY)
    plan_portfolio(10, 99, TODAY)
    assert plan_portfolio(40, 5, TODAY) == first


# ---------------------------------------------------------------------------------------- the shape


@pytest.fixture
async def demo_db(db: Database) -> Database:
    """``db`` with the default demo portfolio (60 accounts, seed 7) up to TODAY."""
    await generate_demo_data(db, tone=score, today=TODAY)
    return db


async def test_people_and_roles(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        people = (await session.execute(select(Person))).scalars().all()
    by_email = {p.email: p for p in people}
    roles = Counter(p.role for p in people)
    assert roles[Role.CSM] == 6
    assert roles[Role.CS_MANAGER] == 1
    assert roles[Role.CX] >= 2
    assert roles[Role.ADMIN] == 1
    assert by_email[DEMO_CSM_EMAIL].role == Role.CSM
    assert by_email[DEMO_MANAGER_EMAIL].role == Role.CS_MANAGER
    assert by_email[DEMO_CX_EMAIL].role == Role.CX
    assert by_email[DEMO_ADMIN_EMAIL].role == Role.ADMIN
    assert by_email[DEMO_CSM_EMAIL].manager_id == by_email[DEMO_MANAGER_EMAIL].id
    managers = {p.id for p in people if p.role == Role.CS_MANAGER}
    assert all(p.manager_id in managers for p in people if p.role == Role.CSM)
    assert all(p.email.endswith("@example.com") for p in people)
    assert all(p.slack_user_id is None and p.teams_user_id is None for p in people)
    assert len({p.timezone for p in people}) >= 3


async def test_accounts(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        accounts = (await session.execute(select(Account))).scalars().all()
        csm_ids = set((await session.execute(select(Person.id).where(Person.role == Role.CSM))).scalars())
    assert len(accounts) == 60
    assert all(a.owner_id in csm_ids for a in accounts)
    assert all(a.name_key == name_key(a.name) for a in accounts)
    assert len({a.name_key for a in accounts}) == 60
    names = {a.name for a in accounts}
    assert {"Acme Rockets", "Acme Robotics", "Café Lumière Studios"} <= names
    assert {a.segment for a in accounts} == {"enterprise", "mid-market", "smb"}
    assert len({a.tier for a in accounts}) >= 3
    arr = defaultdict(list)
    for a in accounts:
        assert a.arr is not None and a.arr > 0
        arr[a.segment].append(a.arr)
    assert min(arr["enterprise"]) > max(arr["smb"])
    stages = Counter(a.lifecycle_stage for a in accounts)
    assert set(stages) == {stage.value for stage in LifecycleStage}
    assert 1 <= stages[LifecycleStage.CHURNED] <= 2
    live = [a for a in accounts if a.lifecycle_stage != LifecycleStage.CHURNED]
    renew_in = [(a.renewal_date - TODAY).days for a in live if a.renewal_date is not None]
    assert len(renew_in) == len(live)
    assert all(0 < days <= 365 for days in renew_in)
    for window in (30, 60, 90):
        assert any(days <= window for days in renew_in), window
    assert all(a.contract_start is not None and a.contract_start < TODAY for a in accounts)


async def test_ninety_days_of_every_metric_for_live_accounts(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        rows = (
            await session.execute(
                select(
                    Account.lifecycle_stage, func.count(), func.count(func.distinct(UsageMetric.day)),
                    func.min(UsageMetric.day), func.max(UsageMetric.day),
                )
                .join(UsageMetric, UsageMetric.account_id == Account.id)
                .group_by(Account.id, Account.lifecycle_stage)
            )
        ).all()  # fmt: skip
        metrics = set((await session.execute(select(UsageMetric.metric).distinct())).scalars())
        escalations = Counter(
            (
                await session.execute(select(UsageMetric.value).where(UsageMetric.metric == "escalations"))
            ).scalars()
        )
    assert metrics == set(USAGE_METRICS)
    live = [r for r in rows if r[0] != LifecycleStage.CHURNED]
    assert len(live) == 58
    for _, count, days, first, last in live:
        assert (count, days) == (USAGE_DAYS * len(USAGE_METRICS), USAGE_DAYS)
        assert (first, last) == (TODAY - timedelta(days=USAGE_DAYS - 1), TODAY)
    assert escalations[0.0] / sum(escalations.values()) > 0.9
    assert sum(n for value, n in escalations.items() if value > 0) > 0


async def test_surveys(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        answers = (await session.execute(select(SurveyResponse))).scalars().all()
    kinds = Counter(a.kind for a in answers)
    assert kinds["nps"] > 0 and kinds["csat"] > 0 and kinds["ces"] > 0
    assert all(0 <= a.score <= 10 for a in answers if a.kind == "nps")
    assert all(1 <= a.score <= 5 for a in answers if a.kind == "csat")
    assert {a.score for a in answers if a.kind == "ces"} == set(range(1, 8))
    detractor_comments = [a.comment for a in answers if a.kind == "nps" and a.score <= 6 and a.comment]
    assert len(detractor_comments) >= 5
    assert "Every release breaks our reports and we lose hours fixing them. Awful." in detractor_comments
    assert all(a.external_id and a.external_id.startswith("demo-srv-") for a in answers)
    assert all(a.natural_key == f"ext:{a.external_id}" for a in answers)
    assert all(a.respondent_email and a.respondent_email.endswith(".example") for a in answers)
    assert all(MIDNIGHT - timedelta(days=USAGE_DAYS) <= a.submitted_at < MIDNIGHT for a in answers)


async def test_milestones(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        rows = (
            await session.execute(
                select(Milestone, Person.email)
                .join(Account, Account.id == Milestone.account_id)
                .join(Person, Person.id == Account.owner_id)
            )
        ).all()
    milestones = [m for m, _ in rows]
    assert {m.kind for m in milestones} == {k.value for k in MilestoneKind}
    done = [m for m in milestones if m.completed_at is not None]
    assert done and all(m.completed_at is not None and m.completed_at < MIDNIGHT for m in done)
    overdue = [
        (m, owner)
        for m, owner in rows
        if m.completed_at is None
        and m.due_date < TODAY
        and (m.snoozed_until is None or m.snoozed_until < TODAY)
    ]
    assert len(overdue) >= 5
    assert len({m.account_id for m, owner in overdue if owner == DEMO_CSM_EMAIL}) >= 2
    assert any(
        m.completed_at is None and TODAY <= m.due_date <= TODAY + timedelta(days=30) for m in milestones
    )


async def test_follow_ups(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        rows = (
            await session.execute(
                select(FollowUp, Account.owner_id).join(Account, Account.id == FollowUp.account_id)
            )
        ).all()
    follow_ups = [f for f, _ in rows]
    assert all(f.author_id == owner_id for f, owner_id in rows)
    assert {f.kind for f in follow_ups} == {k.value for k in FollowUpKind}
    open_ = [f for f in follow_ups if f.status == "open"]
    assert any(f.due_date is not None and f.due_date < TODAY for f in open_)
    assert any(f.due_date is not None and f.due_date >= TODAY for f in open_)
    done = [f for f in follow_ups if f.status == "done"]
    assert done and all(f.done_at is not None and f.created_at <= f.done_at < MIDNIGHT for f in done)
    assert all(f.created_at < MIDNIGHT for f in follow_ups)


async def test_comments_carry_their_tone(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        answers = (await session.execute(select(SurveyResponse))).scalars().all()
    assert all((a.sentiment is None) == (a.comment is None) for a in answers)
    assert all(a.sentiment == score(a.comment) for a in answers if a.comment)
    detractors = [
        a.sentiment for a in answers if a.kind == "nps" and a.score <= 6 and a.sentiment is not None
    ]
    promoters = [a.sentiment for a in answers if a.kind == "nps" and a.score >= 9 and a.sentiment is not None]
    assert sum(detractors) / len(detractors) < -0.3
    assert sum(t <= STRONGLY_NEGATIVE for t in detractors) >= 5
    assert promoters and all(t > 0 for t in promoters)
    hard = [a.sentiment for a in answers if a.kind == "ces" and a.score >= 5 and a.sentiment is not None]
    assert hard and all(t < 0 for t in hard)


async def test_a_year_of_arr_history_ending_at_the_current_arr(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        accounts = {a.id: a for a in (await session.execute(select(Account))).scalars()}
        rows = (
            (await session.execute(select(ArrChange).order_by(ArrChange.day, ArrChange.id))).scalars().all()
        )
    history: dict[int, list[ArrChange]] = defaultdict(list)
    for row in rows:
        history[row.account_id].append(row)
    assert set(history) == set(accounts)
    expansions = contractions = 0
    for account_id, changes in history.items():
        account = accounts[account_id]
        first, last = changes[0], changes[-1]
        assert account.contract_start is not None and first.previous_arr is None
        assert first.day == account.contract_start or (
            account.contract_start < first.day <= TODAY - timedelta(days=365)
        ), account.name
        assert last.arr == account.arr, account.name
        for before, after in itertools.pairwise(changes):
            assert after.previous_arr == before.arr and after.arr != before.arr and after.day > before.day
            expansions += after.arr > before.arr
            contractions += after.arr < before.arr
        assert all(c.source == "demo" and c.day < TODAY for c in changes)
    assert expansions >= 10 and contractions >= 5
    recent = [r for r in rows if r.previous_arr is not None and r.day >= TODAY - timedelta(days=30)]
    assert recent  # the team digest has movement to show


async def test_time_to_value_by_segment(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        rows = (
            await session.execute(
                select(
                    Account.segment, Account.lifecycle_stage, Account.contract_start, Milestone.completed_at
                )
                .join(Milestone, Milestone.account_id == Account.id)
                .where(Milestone.kind == MilestoneKind.FIRST_VALUE.value)
            )
        ).all()
    days: dict[str, list[int]] = defaultdict(list)
    for segment, stage, start, completed in rows:
        if stage == LifecycleStage.ONBOARDING:
            assert completed is None  # still on the way to first value
            continue
        assert completed is not None and completed < MIDNIGHT - timedelta(days=4)
        days[segment].append((completed.date() - start).days)
    medians = {segment: sorted(values)[len(values) // 2] for segment, values in days.items()}
    assert medians["smb"] < medians["mid-market"] < medians["enterprise"]
    slow = [d for segment, values in days.items() for d in values if d > medians[segment] + 25]
    assert slow  # a few took much longer than their segment


async def test_success_plans(demo_db: Database) -> None:
    async with demo_db.sessions() as session:
        outcomes = (await session.execute(select(Outcome))).scalars().all()
        accounts = {a.id: a for a in (await session.execute(select(Account))).scalars()}
        usage = (await session.execute(select(UsageMetric))).scalars().all()
    values = {(u.account_id, u.metric, u.day): u.value for u in usage}

    def value_on(account_id: int, metric: str, day: date) -> float:
        if metric == "active_users":  # weekly active users: the mean of the 7 days ending on the day
            week = [values[(account_id, metric, day - timedelta(days=n))] for n in range(7)]
            return sum(week) / len(week)
        return values[(account_id, metric, day)]

    by_account = Counter(o.account_id for o in outcomes)
    live = [a for a in accounts.values() if a.lifecycle_stage != LifecycleStage.CHURNED]
    assert 0.35 * len(live) <= len(by_account) <= 0.65 * len(live)
    assert set(by_account.values()) <= {1, 2, 3} and max(by_account.values()) > 1
    assert all(accounts[a].lifecycle_stage != LifecycleStage.CHURNED for a in by_account)
    assert {o.metric for o in outcomes} == {None, "active_users", "features_adopted", "nps", "open_tickets"}
    assert all(o.comparison == ("at_most" if o.metric == "open_tickets" else "at_least") for o in outcomes)
    verdicts: Counter[str] = Counter()
    for o in outcomes:
        assert o.created_by_id == accounts[o.account_id].owner_id and o.start_date < TODAY
        if o.metric is None:
            assert (o.target, o.baseline) == (None, None)
            verdicts["manual " + o.status] += 1
        elif o.metric != "nps":
            assert o.baseline == pytest.approx(value_on(o.account_id, o.metric, o.start_date), abs=0.01)
        if o.status == "achieved":
            assert o.achieved_at is not None and o.start_date <= o.achieved_at.date() < TODAY
            assert o.demonstrated_at is not None and o.achieved_at <= o.demonstrated_at < MIDNIGHT
            if o.metric is None:
                assert o.achieved_by_id == accounts[o.account_id].owner_id
            else:
                assert o.achieved_value is not None and o.target is not None
                if o.comparison == "at_most":
                    assert o.achieved_value <= o.target
                else:
                    assert o.achieved_value >= o.target
                verdicts["achieved"] += 1
            continue
        assert o.status == "open" and o.due_date > TODAY and o.demonstrated_at is None
        if o.metric is None or o.metric == "nps":
            continue
        assert o.target is not None and o.baseline is not None
        current = value_on(o.account_id, o.metric, TODAY)
        # The recent pace as the engine fits it: the least-squares slope of the last 30 days' values.
        days = [TODAY - timedelta(days=n) for n in range(30)]
        pace = slope([((d - TODAY).days, values[(o.account_id, o.metric, d)]) for d in days])
        verdict = judge(
            baseline=o.baseline, current=current, target=o.target, comparison=OutcomeComparison(o.comparison),
            start=o.start_date, due=o.due_date, today=TODAY, pace=pace,
        )  # fmt: skip
        assert verdict is not Story.ACHIEVED, o.title  # loading the demo must not achieve anything
        verdicts[verdict.value] += 1
    assert all(verdicts[v] >= 2 for v in ("achieved", "on track", "at risk", "manual open")), verdicts
    assert verdicts["manual achieved"] >= 1, verdicts
    assert max(Counter((o.account_id, o.title) for o in outcomes).values()) == 1


async def test_audit_event_and_summary(db: Database) -> None:
    summary = await generate_demo_data(db, tone=score, accounts=20, seed=3, today=TODAY)
    async with db.sessions() as session:
        events = (await session.execute(select(AuditEvent))).scalars().all()
        for table, count in summary.counts().items():
            model = {
                "person": Person, "account": Account, "usage_metric": UsageMetric,
                "survey_response": SurveyResponse, "milestone": Milestone, "follow_up": FollowUp,
                "arr_change": ArrChange, "outcome": Outcome, "audit_event": AuditEvent,
            }[table]  # fmt: skip
            assert (await session.execute(select(func.count()).select_from(model))).scalar_one() == count, (
                table
            )
    assert len(events) == 1
    event = events[0]
    assert (event.actor_label, event.platform, event.action) == ("cli", "cli", "demo_data")
    assert event.details["seed"] == 3
    assert event.details["counts"]["account"] == 20


# ------------------------------------------------------------------------------------- trajectories


def test_demo_csm_owns_every_story() -> None:
    portfolio = plan_portfolio(60, 7, TODAY)
    mine = [a for a in portfolio.accounts if a.owner_email == DEMO_CSM_EMAIL]
    assert {a.trajectory for a in mine} >= {
        Trajectory.HEALTHY, Trajectory.DECLINING, Trajectory.RECOVERING, Trajectory.ONBOARDING
    }  # fmt: skip
    load = Counter(a.owner_email for a in portfolio.accounts)
    assert max(load.values()) - min(load.values()) <= 1


async def _series(db: Database, metric: str) -> dict[str, dict[int, float]]:
    """External id -> days ago -> value."""
    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(Account.external_id, UsageMetric.day, UsageMetric.value)
                .join(Account, Account.id == UsageMetric.account_id)
                .where(UsageMetric.metric == metric)
            )
        ).all()
    series: dict[str, dict[int, float]] = defaultdict(dict)
    for external_id, day, value in rows:
        series[external_id][(TODAY - day).days] = value
    return series


def _mean(values: dict[int, float], days_ago: range) -> float:
    return sum(values[d] for d in days_ago) / len(days_ago)


async def test_usage_follows_the_trajectories(demo_db: Database) -> None:
    plan = {a.external_id: a for a in plan_portfolio(60, 7, TODAY).accounts}
    users, tickets = await _series(demo_db, "active_users"), await _series(demo_db, "open_tickets")
    features, seats = await _series(demo_db, "features_adopted"), await _series(demo_db, "licensed_seats")
    now, month_ago = range(0, 3), range(30, 33)
    for external_id, account in plan.items():
        u = users[external_id]
        match account.trajectory:
            case Trajectory.HEALTHY:  # steady utilisation (seats, and users with them, may have grown)
                utilisation = {d: value / seats[external_id][d] for d, value in u.items()}
                assert 0.85 < _mean(utilisation, now) / _mean(utilisation, month_ago) < 1.15, account.name
            case Trajectory.DECLINING:
                assert 0.35 <= _mean(u, now) / _mean(u, month_ago) <= 0.75, account.name
                t = tickets[external_id]
                assert _mean(t, range(0, 7)) > _mean(t, range(30, 37)), account.name
            case Trajectory.RECOVERING:
                bottom = _mean(u, range(36, 49))
                assert bottom < 0.8 * _mean(u, range(80, 90)) and bottom < 0.8 * _mean(u, now), account.name
            case Trajectory.ONBOARDING:
                assert _mean(u, range(83, 90)) < 0.35 * _mean(u, range(0, 7)), account.name
                assert max(features[external_id].values()) <= 6, account.name
            case Trajectory.CHURNED:
                assert account.churned_on is not None
                assert min(u) == (TODAY - account.churned_on).days, account.name


async def test_declining_accounts_were_touched_long_ago(demo_db: Database) -> None:
    plan = {a.external_id: a for a in plan_portfolio(60, 7, TODAY).accounts}
    async with demo_db.sessions() as session:
        rows = (
            await session.execute(
                select(Account.external_id, func.max(FollowUp.created_at))
                .join(FollowUp, FollowUp.account_id == Account.id)
                .group_by(Account.external_id)
            )
        ).all()
    last_touch = {external_id: (MIDNIGHT - last).days for external_id, last in rows}
    by_trajectory: dict[Trajectory, list[int]] = defaultdict(list)
    for external_id, days in last_touch.items():
        by_trajectory[plan[external_id].trajectory].append(days)
    assert min(by_trajectory[Trajectory.DECLINING]) >= 21
    assert max(by_trajectory[Trajectory.HEALTHY]) <= 14
    assert max(by_trajectory[Trajectory.RECOVERING]) <= 14


def test_large_portfolios_have_unique_names_and_balanced_staff() -> None:
    portfolio = plan_portfolio(1500, 7, TODAY)
    assert len({name_key(a.name) for a in portfolio.accounts}) == 1500
    assert len({p.email for p in portfolio.people}) == len(portfolio.people)
    roles = Counter(p.role for p in portfolio.people)
    assert roles[Role.CSM] == 150
    assert roles[Role.CS_MANAGER] == 25
    small = plan_portfolio(1, 7, TODAY)
    assert [a.name for a in small.accounts] == ["Acme Rockets"]
    assert Counter(p.role for p in small.people)[Role.CSM] == 3


async def test_batches_add_up(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_writer, "BATCH_ROWS", 100)
    summary = await generate_demo_data(db, tone=score, accounts=4, seed=7, today=TODAY)
    assert summary.usage_metrics == 4 * USAGE_DAYS * len(USAGE_METRICS)
    assert await _scalar(db, select(func.count()).select_from(UsageMetric)) == summary.usage_metrics


# ----------------------------------------------------------------------------------------- refusal


async def test_refuses_a_database_with_accounts(db: Database) -> None:
    await generate_demo_data(db, tone=score, accounts=5, seed=7, today=TODAY)
    before = await _rows(db)
    with pytest.raises(DemoDataError, match="already has 5 accounts"):
        await generate_demo_data(db, tone=score, accounts=5, seed=8, today=TODAY)
    assert await _rows(db) == before


async def test_refuses_real_data_and_writes_nothing(db: Database) -> None:
    async with db.transaction() as session:
        person = Person(email="lead@customer.test", name="Lead", role="csm", timezone="UTC")
        session.add(person)
        await session.flush()
        session.add(Account(external_id="REAL-1", name="Real Co", name_key="real co", owner_id=person.id))
    with pytest.raises(DemoDataError):
        await generate_demo_data(db, tone=score, accounts=5, seed=7, today=TODAY)
    assert await _scalar(db, select(func.count()).select_from(Person)) == 1
    assert await _scalar(db, select(func.count()).select_from(AuditEvent)) == 0


async def test_load_runs_the_health_backfill_hook(db: Database) -> None:
    calls: list[tuple[Database, date]] = []

    async def backfill(database: Database, today: date) -> None:
        calls.append((database, today))

    summary = await load_demo_data(db, accounts=3, seed=7, today=TODAY, backfill_health=backfill)
    assert summary is not None and summary.accounts == 3
    assert calls == [(db, TODAY)]
    again = await load_demo_data(db, accounts=3, seed=7, today=TODAY, if_empty=True, backfill_health=backfill)
    assert again is None
    assert len(calls) == 1
    with pytest.raises(DemoDataError):
        await load_demo_data(db, accounts=3, seed=7, today=TODAY)


# --------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TOUCHPOINT_DATABASE_URL pointed at a new SQLite file for the CLI."""
    path = tmp_path / "cli.db"
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("TOUCHPOINT_DEFAULT_TIMEZONE", "UTC")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Touchpoint."""

    app.command("demo-data")(demo_data_command)
    return app


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_cli_loads_then_refuses_then_skips(cli_db: Path) -> None:
    runner = CliRunner()
    loaded = runner.invoke(_app(), ["demo-data", "--accounts", "12", "--seed", "3"])
    assert loaded.exit_code == 0, loaded.output
    assert "Demo data loaded" in loaded.output
    assert DEMO_CSM_EMAIL in loaded.output
    assert _count(cli_db, "account") == 12

    refused = runner.invoke(_app(), ["demo-data", "--accounts", "12"])
    assert refused.exit_code == 1
    assert "already has 12 accounts" in refused.output

    skipped = runner.invoke(_app(), ["demo-data", "--if-empty"])
    assert skipped.exit_code == 0
    assert ALREADY_HAS_DATA in skipped.output
    assert _count(cli_db, "account") == 12
    assert _count(cli_db, "audit_event") == 1


def test_cli_if_empty_loads_an_empty_database(cli_db: Path) -> None:
    result = CliRunner().invoke(_app(), ["demo-data", "--if-empty", "--accounts", "5"])
    assert result.exit_code == 0, result.output
    assert _count(cli_db, "account") == 5


def test_cli_rejects_zero_accounts(cli_db: Path) -> None:
    result = CliRunner().invoke(_app(), ["demo-data", "--accounts", "0"])
    assert result.exit_code == 2
