"""Recomputing health over the database (SQLite and PostgreSQL): snapshots, as-of days, trend, drivers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select

from bot.health.inputs import MilestoneStatus
from bot.health.load import Accounts, load_inputs
from bot.health.model import HealthModel
from bot.health.service import account_breakdown, latest_health, recompute, recompute_range
from storage.db import Database
from storage.models import (
    Account,
    Band,
    FollowUp,
    HealthSnapshot,
    Milestone,
    Outcome,
    SurveyResponse,
    UsageMetric,
)
from storage.upsert import upsert

D = date(2026, 3, 31)
MODEL = HealthModel()
LENIENT = HealthModel.from_mapping({"min_confidence": 0})


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def ago(days: int) -> date:
    return D - timedelta(days=days)


async def add_accounts(db: Database, count: int, *, segment: str | None = None) -> list[int]:
    async with db.transaction() as s:
        accounts = [
            Account(external_id=f"A{i}", name=f"Account {i}", name_key=f"account {i}", segment=segment)
            for i in range(count)
        ]
        s.add_all(accounts)
        await s.flush()
        return [a.id for a in accounts]


async def add_usage(db: Database, account_id: int, metric: str, values: dict[date, float]) -> None:
    rows = [{"account_id": account_id, "day": d, "metric": metric, "value": v} for d, v in values.items()]
    async with db.transaction() as s:
        await upsert(s, UsageMetric, rows, key=["account_id", "day", "metric"])


async def add_surveys(db: Database, account_id: int, kind: str, answers: list[tuple[int, datetime]]) -> None:
    async with db.transaction() as s:
        s.add_all(
            SurveyResponse(
                account_id=account_id,
                kind=kind,
                score=score,
                submitted_at=when,
                natural_key=f"{account_id}-{kind}-{n}-{when.isoformat()}",
            )
            for n, (score, when) in enumerate(answers)
        )


async def add_follow_up(db: Database, account_id: int, when: datetime) -> None:
    async with db.transaction() as s:
        s.add(FollowUp(account_id=account_id, kind="call", summary="Call", created_at=when))


async def add_milestone(db: Database, account_id: int, name: str, due: date, **fields: Any) -> None:
    async with db.transaction() as s:
        s.add(Milestone(account_id=account_id, name=name, due_date=due, **fields))


async def add_outcome(
    db: Database, account_id: int, title: str, *, start: date, due: date, **fields: Any
) -> None:
    async with db.transaction() as s:
        s.add(Outcome(account_id=account_id, title=title, start_date=start, due_date=due, **fields))


async def snapshots(db: Database) -> list[HealthSnapshot]:
    async with db.sessions() as s:
        return list(
            (
                await s.execute(
                    select(HealthSnapshot).order_by(HealthSnapshot.account_id, HealthSnapshot.day)
                )
            ).scalars()
        )


async def seed_full_account(db: Database, account_id: int) -> None:
    """Data for every component, with rows just outside every window that must not count.

    Expected component scores as of D: the same as ``EXPECTED`` in test_health_engine.
    """
    active: dict[date, float] = {ago(n): 100 for n in range(30, 37)}  # prior window: D-36..D-30
    active |= {ago(37): 5000, ago(29): 50, ago(7): 45}  # outside both windows
    active |= {ago(n): (60 if n % 2 == 0 else 74) for n in range(7)}  # 4 x 60 + 3 x 74 = 7 x 66
    active |= {D + timedelta(days=1): 1000}  # after D
    await add_usage(db, account_id, "active_users", active)
    await add_usage(db, account_id, "licensed_seats", {ago(20): 100, ago(3): 165, D + timedelta(days=1): 1})
    await add_usage(db, account_id, "features_adopted", {ago(1): 6})
    await add_usage(db, account_id, "features_available", {ago(10): 10})
    await add_usage(db, account_id, "open_tickets", {ago(2): 0})
    await add_usage(db, account_id, "escalations", {ago(29): 1, D: 1, ago(30): 5, D + timedelta(days=1): 9})
    await add_usage(db, account_id, "some_other_metric", {D: 42})
    nps = [(10, at(D, 23)), (10, at(ago(10))), (9, at(ago(89), 0)), (7, at(ago(40))), (3, at(ago(5)))]
    nps += [(0, at(ago(90), 23)), (0, at(D + timedelta(days=1), 0))]  # outside the 90 days
    await add_surveys(db, account_id, "nps", nps)
    csat = [(5, at(ago(1)))] * 3 + [(4, at(ago(2)))] * 3 + [(3, at(ago(3))), (1, at(ago(4)))]
    await add_surveys(db, account_id, "csat", csat)
    ces = [(2, at(ago(1)))] * 3 + [(4, at(ago(80))), (7, at(ago(91)))]  # the 7 is outside the 90 days
    await add_surveys(db, account_id, "ces", ces)
    await add_follow_up(db, account_id, at(ago(45)))
    await add_follow_up(db, account_id, at(ago(60)))
    await add_follow_up(db, account_id, at(D + timedelta(days=1), 0))  # after D
    await add_milestone(db, account_id, "Kickoff", ago(12))
    await add_milestone(db, account_id, "Technical setup", ago(5), completed_at=at(ago(6)))
    await add_milestone(db, account_id, "QBR", ago(30), snoozed_until=D)
    await add_milestone(db, account_id, "Renewal", D + timedelta(days=100))
    # Half way from 46 to 126 the line says 86: 66 active users made 20 of the 40 expected (50). The
    # last 30 days' pace (the days from ago(29) on: +0.6 a day, 102 by the due date) does not catch up.
    fields: dict[str, Any] = {"metric": "active_users", "target": 126, "baseline": 46}
    await add_outcome(
        db, account_id, "126 weekly active users", start=ago(60), due=D + timedelta(60), **fields
    )
    fields = {"metric": "features_adopted", "target": 5, "baseline": 3}  # 6 adopted: achieved (100)
    await add_outcome(db, account_id, "Adopt 5 features", start=ago(30), due=D + timedelta(30), **fields)
    # Not counted: awaiting a person, missed too long ago, defined after D (NPS +40 would be on track).
    await add_outcome(db, account_id, "Sign-off", start=ago(10), due=D + timedelta(20))
    await add_outcome(db, account_id, "Old goal", start=ago(200), due=ago(120), status="missed")
    fields = {"metric": "nps", "target": 90, "baseline": 0}
    await add_outcome(db, account_id, "NPS 90", start=D + timedelta(1), due=D + timedelta(90), **fields)


EXPECTED = {
    "license_utilisation": (50.0, "40% of licensed seats active"),
    "usage_trend": (25.6, "active users down 34% in 30 days"),
    "feature_adoption": (80.0, "6 of 10 features adopted (60%)"),
    "nps": (70.0, "1 detractor in 90 days (NPS +40 from 5 answers)"),
    "csat": (75.0, "75% satisfied (4-5) of 8 CSAT answers in 90 days"),
    "ces": (75.0, "customer effort 2.5 of 7 (low) from 4 CES answers in 90 days"),
    "support_load": (70.0, "0 open tickets (0.0 per 100 seats), 2 escalations in 30 days"),
    "engagement_recency": (50.0, "no follow-up logged in 45 days"),
    "milestone_progress": (72.0, "Kickoff overdue 12 days"),
    "success_plan": (75.0, "“126 weekly active users” behind: 66, the line says 86 by today"),
}


async def test_inputs_are_read_as_of_the_day_from_each_window(db: Database) -> None:
    [account_id] = await add_accounts(db, 1)
    await seed_full_account(db, account_id)
    await recompute(db, D, model=MODEL)
    [snapshot] = await snapshots(db)
    assert snapshot.day == D
    assert {name: (c["score"], c["reason"]) for name, c in snapshot.components.items()} == EXPECTED
    assert snapshot.components["license_utilisation"]["weight"] == 20
    assert (snapshot.score, snapshot.band, snapshot.confidence) == (61.6, "yellow", 1.0)


async def test_one_snapshot_per_account_and_day_and_rerun_updates(db: Database) -> None:
    ids = await add_accounts(db, 5)
    for account_id in ids:
        await add_surveys(db, account_id, "nps", [(10, at(ago(3)))])
        await add_usage(db, account_id, "licensed_seats", {ago(1): 10})
        await add_usage(db, account_id, "active_users", {ago(1): 8})
    first = await recompute(db, D, model=LENIENT, chunk_size=2)
    assert (first.accounts, dict(first.bands)) == (5, {"green": 5})
    await recompute(db, ago(1), model=LENIENT, chunk_size=2)
    assert len(await snapshots(db)) == 10

    await add_surveys(db, ids[0], "nps", [(0, at(ago(1))), (0, at(ago(2)))])
    again = await recompute(db, D, model=LENIENT, chunk_size=2)
    assert again.bands == {"green": 5}
    rows = await snapshots(db)
    assert len(rows) == 10
    changed = next(r for r in rows if r.account_id == ids[0] and r.day == D)
    # NPS -33.3 -> 33.3; licence 100: (20 * 100 + 10 * 33.3) / 30
    assert changed.score == 77.8 and changed.band == "green"
    assert changed.components["nps"]["score"] == 33.3


async def test_unknown_when_too_little_data(db: Database) -> None:
    [account_id] = await add_accounts(db, 1)
    await add_surveys(db, account_id, "nps", [(10, at(ago(3)))])
    summary = await recompute(db, D, model=MODEL)
    assert summary.bands == {"unknown": 1}
    [snapshot] = await snapshots(db)
    assert (snapshot.score, snapshot.band, snapshot.confidence) == (None, "unknown", 0.087)
    health = await account_breakdown(db, account_id, D, model=MODEL)
    assert health is not None
    assert health.reason == "not enough data: only NPS available"
    assert health.band is Band.UNKNOWN


async def test_past_days_give_past_results(db: Database) -> None:
    [account_id] = await add_accounts(db, 1)
    await add_usage(db, account_id, "licensed_seats", {ago(n): 100 for n in range(40)})
    await add_usage(db, account_id, "active_users", {ago(n): 80 if n >= 10 else 20 for n in range(40)})
    await add_milestone(db, account_id, "Go-live", ago(20), completed_at=at(ago(5)))
    await recompute(db, D, model=MODEL)
    await recompute(db, ago(10), model=MODEL)
    by_day = {s.day: s for s in await snapshots(db)}
    today, earlier = by_day[D], by_day[ago(10)]
    assert today.components["license_utilisation"]["score"] == 25.0  # 20 of 100 seats, target 80
    assert today.components["milestone_progress"]["reason"] == "no overdue milestones (of 1)"
    assert earlier.components["license_utilisation"]["score"] == 100.0
    # Ten days ago the go-live was due ten days earlier and not yet completed.
    assert earlier.components["milestone_progress"]["reason"] == "Go-live overdue 10 days"
    assert earlier.components["usage_trend"]["score"] is None  # no usage 30 days before that


async def test_overdue_milestones_as_of_the_day(db: Database) -> None:
    [account_id] = await add_accounts(db, 1)
    await add_milestone(db, account_id, "Due today", D)  # not overdue yet
    await add_milestone(db, account_id, "Done late", ago(20), completed_at=at(D + timedelta(days=1), 0))
    await add_milestone(db, account_id, "Snooze over", ago(30), snoozed_until=ago(1))
    await add_milestone(db, account_id, "Snoozed", ago(40), snoozed_until=D + timedelta(days=3))
    await add_milestone(db, account_id, "Done", ago(50), completed_at=at(D, 23))
    async with db.sessions() as s:
        [loaded] = await load_inputs(s, D, Accounts.of([account_id]))
        [later] = await load_inputs(s, D + timedelta(days=1), Accounts.of([account_id]))
    # Completed after D still counts as overdue on D; a snooze that ended yesterday no longer hides one.
    assert loaded.milestones == MilestoneStatus(5, 2, "Snooze over", 30)
    assert later.milestones == MilestoneStatus(5, 2, "Snooze over", 31)


async def seed_trend_account(db: Database, account_id: int) -> None:
    """Steady usage; the last follow-up ages, so the score falls with time (see the test)."""
    days = [ago(n) for n in range(70)]
    await add_usage(db, account_id, "licensed_seats", dict.fromkeys(days, 100))
    await add_usage(db, account_id, "active_users", dict.fromkeys(days, 80))
    await add_usage(db, account_id, "features_adopted", dict.fromkeys(days, 6))
    await add_usage(db, account_id, "features_available", dict.fromkeys(days, 10))
    await add_follow_up(db, account_id, at(ago(40)))


async def test_trend_and_drivers(db: Database) -> None:
    [account_id, other] = await add_accounts(db, 2)
    await seed_trend_account(db, account_id)
    await recompute_range(db, ago(30), D, model=MODEL)
    assert len(await snapshots(db)) == 31 * 2

    health = await account_breakdown(db, account_id, D, model=MODEL)
    assert health is not None and health.stored
    # license 100 (w20), usage trend steady 80 (w15), adoption 80 (w15), engagement (w10):
    # today 40 days since the follow-up -> 58.3; 7 days ago 33 days -> 70; 30 days ago 10 days -> 100.
    assert health.score == 83.1  # (2000 + 1200 + 1200 + 583.3) / 60
    assert health.confidence == 0.522  # 60 / 115
    assert health.band is Band.GREEN
    assert health.trend_7 == -1.9  # against 85.0
    assert health.trend_30 == -6.9  # against 90.0
    assert [(d.name, d.score, d.impact, d.reason) for d in health.drivers] == [
        ("engagement_recency", 58.3, 7.0, "no follow-up logged in 40 days")  # 10 * 41.7 / 60
    ]
    week_ago = await account_breakdown(db, account_id, ago(7), model=MODEL)
    assert week_ago is not None
    # Against D-14 (26 days since the follow-up: 86.9); there is no snapshot at D-37.
    assert (week_ago.score, week_ago.trend_7, week_ago.trend_30) == (85.0, -1.9, None)

    empty = await account_breakdown(db, other, D, model=MODEL)
    assert empty is not None
    assert (empty.score, empty.trend_7, empty.trend_30, empty.drivers) == (None, None, None, ())


async def test_latest_health_is_batched_and_fills_missing_days(db: Database) -> None:
    ids = await add_accounts(db, 3)
    for account_id in ids:
        await seed_trend_account(db, account_id)
    await recompute(db, D, model=MODEL)
    await recompute(db, ago(7), model=MODEL)
    async with db.transaction() as s:
        gone = delete(HealthSnapshot).where(HealthSnapshot.account_id == ids[2], HealthSnapshot.day == D)
        await s.execute(gone)
    found = await latest_health(db, [*ids, 999_999], D, model=MODEL)
    assert set(found) == set(ids)
    assert [found[i].stored for i in ids] == [True, True, False]
    assert {found[i].score for i in ids} == {83.1}
    assert found[ids[2]].trend_7 == -1.9  # computed now, compared with the stored snapshot
    assert len(await snapshots(db)) == 5  # reading never writes
    stored_only = await latest_health(db, ids, D, model=MODEL, compute_missing=False)
    assert set(stored_only) == set(ids[:2])
    assert await account_breakdown(db, 999_999, D, model=MODEL) is None


async def test_segment_weights_apply_in_recompute(db: Database) -> None:
    [plain] = await add_accounts(db, 1)
    async with db.transaction() as s:
        s.add(Account(external_id="E1", name="Big Co", name_key="big co", segment="Enterprise"))
    async with db.sessions() as s:
        big = (await s.execute(select(Account.id).where(Account.external_id == "E1"))).scalar_one()
    for account_id in (plain, big):
        await seed_trend_account(db, account_id)
    model = HealthModel.from_mapping({"segments": {"enterprise": {"weights": {"engagement_recency": 90}}}})
    await recompute(db, D, model=model)
    scores = {s.account_id: (s.score, s.band) for s in await snapshots(db)}
    assert scores[plain] == (83.1, "green")
    assert scores[big] == (68.9, "yellow")  # (4400 + 90 * 58.33) / 140


@contextmanager
def count_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_queries_do_not_grow_with_the_number_of_accounts(db: Database) -> None:
    """A few set-based queries per chunk of accounts, never one per account."""
    few = await add_accounts(db, 3)
    for account_id in few:
        await seed_full_account(db, account_id)
    with count_statements(db) as small:
        await recompute(db, D, model=MODEL)
    async with db.transaction() as s:
        s.add_all(Account(external_id=f"B{i}", name=f"B {i}", name_key=f"b {i}") for i in range(40))
    with count_statements(db) as large:
        summary = await recompute(db, D, model=MODEL)
    assert summary.accounts == 43
    data_queries = [q for q in large if q.lstrip().upper().startswith("SELECT")]
    assert len(large) == len(small)
    # account ids, accounts, usage, surveys, follow-ups, milestones, outcomes
    assert len(data_queries) <= 7


async def test_inputs_for_an_explicit_list_of_accounts(db: Database) -> None:
    ids = await add_accounts(db, 4)
    await seed_full_account(db, ids[1])
    async with db.sessions() as s:
        loaded = await load_inputs(s, D, Accounts.of([ids[3], ids[1]]))
    assert [i.account_id for i in loaded] == [ids[1], ids[3]]
    assert loaded[0].metric("active_users").recent_mean == pytest.approx(66)
    assert loaded[0].metric("licensed_seats").latest == 165
    assert loaded[0].metric("escalations").total_30d == 2
    assert loaded[0].last_follow_up == ago(45)
    assert loaded[0].milestones.total == 4 and loaded[0].milestones.overdue == 1
    # By due date; the outcome defined after D is not there yet.
    assert [o.title for o in loaded[0].outcomes] == [
        "Old goal",
        "Sign-off",
        "Adopt 5 features",
        "126 weekly active users",
    ]
    assert "some_other_metric" not in loaded[0].usage
    assert loaded[1].usage == {} and loaded[1].surveys == {} and loaded[1].outcomes == ()


async def test_backfill_rejects_reversed_range(db: Database) -> None:
    with pytest.raises(ValueError, match="after"):
        await recompute_range(db, D, ago(1), model=MODEL)


async def test_recompute_with_no_accounts(db: Database) -> None:
    summary = await recompute(db, D, model=MODEL)
    assert (summary.accounts, dict(summary.bands)) == (0, {})
    async with db.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(HealthSnapshot))).scalar_one() == 0
