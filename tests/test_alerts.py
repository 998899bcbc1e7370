"""Health alerts: crossing into red, a 15-point fall in 7 days, not repeated within a week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from bot.serialize import address_from_dict, reply_from_dict
from scheduler.alerts import enqueue_health_alerts
from storage.db import Database
from storage.models import HealthAlert, OutboxMessage
from tests.factories import ACME_ROCKETS_COMPONENTS, add_account, add_person, add_snapshot, text_of

DAY = date(2026, 11, 25)  # a Wednesday
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def d(offset: int) -> date:
    return DAY + timedelta(days=offset)


def now_on(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as s:
        return list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def alerts(db: Database) -> list[tuple[int, str, date]]:
    async with db.sessions() as s:
        rows = await s.execute(
            select(HealthAlert.account_id, HealthAlert.kind, HealthAlert.day).order_by(HealthAlert.id)
        )
        return [(account_id, kind, day) for account_id, kind, day in rows]


async def owner(db: Database, *, timezone: str = "UTC", slack: str | None = "U1") -> int:
    return await add_person(db, "maya@x.io", "Maya", "csm", timezone=timezone, slack_user_id=slack)


async def test_crossing_into_red_alerts_the_owner_with_the_drivers(db: Database) -> None:
    maya = await owner(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya, arr=438_000, renewal=d(41))
    still_red = await add_account(db, "A-2", "Still red", owner_id=maya)
    brand_new = await add_account(db, "A-3", "Brand new", owner_id=maya)
    await add_snapshot(db, acme, d(-2), 46)  # the previous snapshot need not be yesterday
    await add_snapshot(db, acme, DAY, 37, components=ACME_ROCKETS_COMPONENTS)
    await add_snapshot(db, still_red, d(-1), 30)
    await add_snapshot(db, still_red, DAY, 29)
    await add_snapshot(db, brand_new, DAY, 20)  # no earlier snapshot: nothing to cross from

    stats = await enqueue_health_alerts(db, day=DAY, now=NOW)
    assert (stats.red, stats.drop, stats.enqueued) == (1, 0, 1)
    [row] = await outbox_rows(db)
    assert row.idempotency_key == f"alert:{acme}:red:2026-11-25"
    assert row.purpose == "alert"
    assert address_from_dict(row.address).target == "U1"
    assert row.next_attempt_at == NOW  # inside the owner's working hours: at once
    assert text_of(reply_from_dict(row.payload)) == "\n".join(
        [
            "🔴 **Acme** turned red: health 37, was 46 (yellow) on Mon 23 Nov 2026.",
            "Health: 🔴 37 (red)",
            "ARR: $438k",
            "Renewal: Tue 05 Jan 2027 (in 41 days)",
            "**Why:** 30% of licensed seats active; active users down 54% in 30 days; "
            "3 detractors in 90 days",
            "[Open account] [Log follow-up]",
        ]
    )
    assert await alerts(db) == [(acme, "red", DAY)]

    # Run again for the same day (a restart, a second replica): nothing new.
    again = await enqueue_health_alerts(db, day=DAY, now=NOW + timedelta(minutes=5))
    assert (again.enqueued, again.suppressed) == (0, 1)
    assert len(await outbox_rows(db)) == 1
    assert len(await alerts(db)) == 1


async def test_a_fall_of_15_points_in_7_days_alerts(db: Database) -> None:
    maya = await owner(db)
    fell = await add_account(db, "A-1", "Fell", owner_id=maya)
    exactly = await add_account(db, "A-2", "Exactly", owner_id=maya)
    slipped = await add_account(db, "A-3", "Slipped", owner_id=maya)
    for account, before, after in ((fell, 85, 64), (exactly, 90, 75), (slipped, 80, 66)):
        await add_snapshot(db, account, d(-7), before)
        await add_snapshot(db, account, DAY, after)

    stats = await enqueue_health_alerts(db, day=DAY, now=NOW)
    assert (stats.red, stats.drop, stats.enqueued) == (0, 2, 2)
    rows = {r.idempotency_key: r for r in await outbox_rows(db)}
    assert set(rows) == {f"alert:{fell}:drop:2026-11-25", f"alert:{exactly}:drop:2026-11-25"}
    reply = reply_from_dict(rows[f"alert:{fell}:drop:2026-11-25"].payload)
    assert reply.summary == "📉 Fell health fell 21 points in 7 days: 85 → 64."
    assert "Health: 🟡 64 (yellow), ▼ 21 in 7 days" in text_of(reply)
    assert sorted(await alerts(db)) == sorted([(fell, "drop", DAY), (exactly, "drop", DAY)])


async def test_red_and_a_fall_on_the_same_day_make_one_message(db: Database) -> None:
    maya = await owner(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    await add_snapshot(db, acme, d(-7), 60)
    await add_snapshot(db, acme, d(-1), 50)
    await add_snapshot(db, acme, DAY, 35)

    stats = await enqueue_health_alerts(db, day=DAY, now=NOW)
    assert (stats.red, stats.drop, stats.enqueued) == (1, 1, 1)
    [row] = await outbox_rows(db)
    assert row.idempotency_key == f"alert:{acme}:red:2026-11-25"
    assert reply_from_dict(row.payload).summary == (
        "🔴 Acme turned red: health 35, was 50 (yellow) on Tue 24 Nov 2026. "
        "📉 Acme health fell 25 points in 7 days: 60 → 35."
    )
    assert sorted(await alerts(db)) == [(acme, "drop", DAY), (acme, "red", DAY)]


async def test_no_repeat_within_a_week_but_again_after_8_days(db: Database) -> None:
    maya = await owner(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    # Red on DAY, back to yellow, red again two days later (suppressed), and again 8 days later.
    scores = {-1: 45, 0: 35, 1: 45, 2: 35, 3: 35, 7: 45, 8: 35}
    for offset, score in scores.items():
        await add_snapshot(db, acme, d(offset), score)

    results = {}
    for offset in (0, 2, 8):
        results[offset] = await enqueue_health_alerts(db, day=d(offset), now=now_on(d(offset)))
    assert (results[0].enqueued, results[0].suppressed) == (1, 0)
    assert (results[2].enqueued, results[2].suppressed) == (0, 1)
    assert (results[8].enqueued, results[8].suppressed) == (1, 0)
    assert [r.idempotency_key for r in await outbox_rows(db)] == [
        f"alert:{acme}:red:2026-11-25",
        f"alert:{acme}:red:2026-12-03",
    ]
    assert await alerts(db) == [(acme, "red", d(0)), (acme, "red", d(8))]


async def test_alerts_wait_for_the_owners_working_hours(db: Database) -> None:
    maya = await owner(db, timezone="Asia/Singapore")
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    await add_snapshot(db, acme, d(-1), 50)
    await add_snapshot(db, acme, DAY, 35)
    await enqueue_health_alerts(db, day=DAY, now=NOW)  # 20:00 in Singapore
    [row] = await outbox_rows(db)
    assert row.next_attempt_at == datetime(2026, 11, 26, 0, tzinfo=UTC)  # 08:00 Thursday in Singapore


async def test_unreachable_owners_and_ownerless_accounts_are_reported(db: Database) -> None:
    maya = await owner(db, slack=None)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    nobodys = await add_account(db, "A-2", "Nobody's", owner_id=None)
    for account in (acme, nobodys):
        await add_snapshot(db, account, d(-1), 50)
        await add_snapshot(db, account, DAY, 35)

    stats = await enqueue_health_alerts(db, day=DAY, now=NOW)
    assert (stats.red, stats.enqueued) == (2, 0)
    assert stats.unreachable == (maya,)
    assert stats.no_owner == (nobodys,)
    assert await outbox_rows(db) == []
    assert await alerts(db) == []


async def test_nothing_to_alert(db: Database) -> None:
    stats = await enqueue_health_alerts(db, day=DAY, now=NOW)
    assert (stats.red, stats.drop, stats.enqueued, stats.suppressed) == (0, 0, 0, 0)
