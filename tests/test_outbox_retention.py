"""Sent rows do not pile up: their content goes after the retention period and the bare rows after the
key horizon (keys still stop a repeat meanwhile); the gauges /metrics reads come from partial indexes,
never from a scan of the whole table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, text, update

from bot.core.context import BotContext
from bot.serialize import address_to_dict, reply_to_dict
from bot.types import Address, Image, Platform, Reply, Text
from scheduler.runner import RETENTION_JOB, Scheduler
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from storage.outbox_upkeep import KEY_HORIZON
from tests.factories import settings_for

NOW = datetime(2026, 11, 25, 3, 45, tzinfo=UTC)
RETENTION = timedelta(days=14)


def message(key: str) -> outbox.NewMessage:
    reply = Reply(summary=key, blocks=(Text(key), Image(url="attachment://chart.png", alt="chart")))
    payload = {**reply_to_dict(reply), "images": {"chart.png": "iVBORw0KGgo=" * 2000}}
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="digest",
        platform=Platform.SLACK.value,
        address=address_to_dict(Address(platform=Platform.SLACK, target="C1")),
        payload=payload,
    )


async def sent_ago(db: Database, key: str, age: timedelta) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idempotency_key == key)
            .values(status=OutboxStatus.SENT.value, sent_at=NOW - age)
        )


async def rows(db: Database) -> dict[str, OutboxMessage]:
    async with db.sessions() as session:
        found = (await session.scalars(select(OutboxMessage))).all()
    return {row.idempotency_key: row for row in found}


async def test_sent_rows_lose_their_content_then_go(db: Database) -> None:
    keys = ["fresh", "old-1", "old-2", "old-3", "ancient", "pending", "dead"]
    await outbox.enqueue(db, [message(key) for key in keys], now=NOW - timedelta(days=500))
    await sent_ago(db, "fresh", timedelta(days=13))
    for key in ("old-1", "old-2", "old-3"):
        await sent_ago(db, key, timedelta(days=15))
    await sent_ago(db, "ancient", KEY_HORIZON + timedelta(days=1))
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.idempotency_key == "dead").values(status="dead")
        )

    purged = await outbox.purge_sent(db, now=NOW, retention=RETENTION, batch=2)  # batches of two

    assert (purged.emptied, purged.deleted) == (4, 1)  # three old ones and the ancient one; then it went
    left = await rows(db)
    assert sorted(left) == sorted(k for k in keys if k != "ancient")
    assert left["fresh"].payload["images"] and left["fresh"].purged_at is None
    for key in ("old-1", "old-2", "old-3"):
        assert left[key].payload == {} and left[key].purged_at == NOW
    assert left["pending"].payload["images"] and left["dead"].payload["images"]
    # An emptied row still holds its key: the same message is not queued again.
    assert await outbox.enqueue(db, [message("old-1")], now=NOW) == 0
    again = await outbox.purge_sent(db, now=NOW, retention=RETENTION)
    assert (again.emptied, again.deleted) == (0, 0)


async def test_the_retention_job_runs_daily_with_the_setting(db: Database) -> None:
    await outbox.enqueue(db, [message("old"), message("recent")], now=NOW - timedelta(days=30))
    await sent_ago(db, "old", timedelta(days=8))
    await sent_ago(db, "recent", timedelta(days=6))
    settings = settings_for(db).model_copy(update={"outbox_retention_days": 7})
    scheduler = Scheduler(BotContext(db=db, settings=settings, clock=lambda: NOW + timedelta(seconds=10)))
    await scheduler.start(paused=True)
    try:
        job = scheduler.aps.get_job(RETENTION_JOB)
        assert job.next_run_time == NOW + timedelta(days=1)  # 03:45 UTC every day: the next is tomorrow
        assert await scheduler._run(RETENTION_JOB, scheduler._retention) == "ok"
    finally:
        scheduler.shutdown()
    left = await rows(db)
    assert left["old"].payload == {} and left["recent"].payload != {}


async def test_the_gauges_are_read_from_indexes(db: Database) -> None:
    await outbox.enqueue(db, [message(f"k{i}") for i in range(5)], now=NOW)
    await sent_ago(db, "k0", timedelta(days=1))
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        stats = await outbox.stats(db, now=NOW, count_sent=False)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert (stats.pending, stats.due, stats.dead, stats.sent) == (4, 4, 0, None)
    assert len(statements) == 3
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            explain = "EXPLAIN QUERY PLAN "
        else:
            explain = "EXPLAIN "
            await connection.execute(text("SET enable_seqscan = off"))  # a tiny table would be scanned
        for statement, parameters in statements:
            plan = " ".join(
                str(row[-1])
                for row in (await connection.exec_driver_sql(explain + statement, parameters)).all()
            )
            assert "ix_outbox_message_pending" in plan or "ix_outbox_message_dead" in plan, plan
            assert "Seq Scan" not in plan, plan
