"""A real ``touchpoint serve`` killed with SIGKILL while Segment batches stream in: every event that got a
200 is still there after the restart, and once the batches that got no answer are sent again (as Segment
retries them) the daily counts equal exactly the events sent, none twice. On a SQLite file and on a
fresh PostgreSQL database.

The server dates events by its own clock (the calls carry no timestamp, as a Function may send them), so
the counts are summed over whatever days they landed on: each event is a user of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from adapters.connectors.runs import run_sync
from adapters.connectors.segment.counts import SegmentCounts
from adapters.connectors.sources_config import SegmentConfig
from storage.api_tokens import create_token
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Account, ProductEvent, UsageMetric
from tests.replicas import Replica, fresh_database, replica_environment, start_replica, until_serving

SENDERS = 3
BATCHES_PER_SENDER = 40
BATCH = 50
KILL_AFTER = 20  # acknowledged batches before the kill


def batch(sender: int, number: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "event": "Report Exported",
            "messageId": f"s{sender}-b{number}-e{n}",
            "userId": f"user-{sender}-{number}-{n}",
            "context": {"groupId": "acme"},
        }
        for n in range(BATCH)
    ]


@contextlib.asynccontextmanager
async def database(backend: str, tmp_path: Path, postgres_url: str | None) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'touchpoint.db'}"
    else:
        async with fresh_database(postgres_url) as url:
            yield url


async def send(session: aiohttp.ClientSession, url: str, token: str, calls: list[dict[str, Any]]) -> bool:
    """Whether the server acknowledged ``calls`` with a 200 (a dropped connection is no answer)."""
    try:
        async with session.post(
            f"{url}/api/v1/segment", data=json.dumps(calls), headers={"Authorization": f"Bearer {token}"}
        ) as response:
            return response.status == 200
    except (aiohttp.ClientError, ConnectionError):
        return False


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_server_killed_mid_stream_loses_no_acknowledged_event_and_counts_none_twice(
    backend: str, tmp_path: Path, postgres_url: str | None
) -> None:
    async with database(backend, tmp_path, postgres_url) as url:
        db = Database(url)
        replica: Replica | None = None
        try:
            await upgrade(db)
            async with db.transaction() as session:
                session.add(Account(external_id="acme", name="Acme", name_key="acme"))
            token = (await create_token(db, "segment", ["segment"])).secret
            env = replica_environment(url, TOUCHPOINT_CONFIG_FILE=str(tmp_path / "none.toml"))
            replica = await start_replica("server", env, tmp_path)
            await until_serving(replica)

            acknowledged: set[tuple[int, int]] = set()
            killed = asyncio.Event()

            async def sender(number: int, session: aiohttp.ClientSession, target: str) -> None:
                for n in range(BATCHES_PER_SENDER):
                    if killed.is_set():
                        return
                    if await send(session, target, token, batch(number, n)):
                        acknowledged.add((number, n))
                        if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                            killed.set()
                            assert replica is not None
                            replica.kill()  # other senders' batches are in flight

            async with aiohttp.ClientSession() as session:
                await asyncio.gather(*(sender(s, session, replica.url) for s in range(SENDERS)))
            await replica.process.wait()
            assert killed.is_set(), replica.describe()

            async with db.sessions() as session:
                stored = set((await session.execute(select(ProductEvent.message_id))).scalars())
            for sender_number, batch_number in acknowledged:
                assert {c["messageId"] for c in batch(sender_number, batch_number)} <= stored

            replica = await start_replica("restarted", env, tmp_path)
            await until_serving(replica)
            every = {(s, n) for s in range(SENDERS) for n in range(BATCHES_PER_SENDER)}
            async with aiohttp.ClientSession() as session:
                for sender_number, batch_number in sorted(every - acknowledged):
                    assert await send(session, replica.url, token, batch(sender_number, batch_number))
            await replica.stop()

            async with db.sessions() as session:
                events = (await session.execute(select(func.count()).select_from(ProductEvent))).scalar_one()
                last_day = (await session.execute(select(func.max(ProductEvent.day)))).scalar_one()
            assert events == len(every) * BATCH
            now = datetime.combine(last_day + timedelta(days=1), time(12), tzinfo=UTC)
            counts = SegmentCounts(db, SegmentConfig(), clock=lambda: now, default_timezone="UTC")

            async def work(tally: Any, lease: Any) -> None:
                await counts.run(tally, lease, full=False, dry_run=False)

            await run_sync(db, "segment", work, full=False, dry_run=False, clock=lambda: now)
            async with db.sessions() as session:
                active = (
                    await session.execute(
                        select(func.sum(UsageMetric.value)).where(UsageMetric.metric == "active_users")
                    )
                ).scalar_one()
            assert active == len(every) * BATCH
        finally:
            if replica is not None:
                await replica.stop()
            await db.dispose()
