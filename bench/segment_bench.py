"""The Segment benchmarks: events into a real ``touchpoint serve`` over HTTP, and a large event table
counted into daily usage metrics.

Figures:

- **Ingestion**: batches of 100 track calls sent at a steady 2,100 events/s (21 requests/s, open loop:
  each request leaves on its schedule whether or not the earlier ones were answered) for
  :data:`SECONDS` s; the events/s acknowledged, from the first request to the last answer (target at
  least 2,000), and the p99 latency (target under 250 ms), medians of the runs. The ceiling beside it:
  the same load against a bare aiohttp server in a subprocess that only reads and parses the body.
  Then the events are counted and the daily active users of every account compared with the distinct
  users sent: "aggregates correct".
- **Counting**: :data:`EVENTS` events (times the scale) of 2,000 accounts (fewer below scale 0.1) over
  37 days written straight into ``product_event``, then one full count (``touchpoint sync segment
  --full`` does the same) timed; target under 60 s.

``python -m bench.segment_bench ceiling PORT`` runs the ceiling server.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from adapters.connectors.runs import run_sync
from adapters.connectors.segment.counts import SegmentCounts
from adapters.connectors.sources_config import SegmentConfig
from bench.common import BenchContext, Figure, median, percentile
from bench.http_servers import running, touchpoint_command
from bench.loaders import Loader, PostgresLoader, SqliteLoader
from storage.api_tokens import create_token
from storage.db import Database
from storage.models import Account, UsageMetric

RATE = 2_000  # events per second: the target
OFFERED = 2_100  # the load sent: a little above the target, so meeting it is not a rounding matter
BATCH = 100
SECONDS = 20.0
P99_TARGET_MS = 250.0
EVENTS = 10_000_000
COUNT_TARGET_SECONDS = 60.0
ACCOUNTS = 2_000
DAYS = 37
USERS_PER_ACCOUNT = 40
ROOT = Path(__file__).resolve().parent.parent
FEATURES = {f"Feature {n} Used": f"feature-{n}" for n in range(12)}
CONFIG = SegmentConfig(features=FEATURES, every=None)
CONFIG_TOML = '[connectors.segment]\nevery = "off"\n\n[connectors.segment.features]\n' + "".join(
    f'"{event}" = "{feature}"\n' for event, feature in FEATURES.items()
)


# ------------------------------------------------------------------------------------------ ingestion


def _batch(rng: random.Random, keys: list[str], number: int, at: datetime) -> list[dict[str, Any]]:
    stamp = at.isoformat().replace("+00:00", "Z")
    calls = []
    for n in range(BATCH):
        key = rng.choice(keys)
        calls.append(
            {
                "type": "track",
                "event": rng.choice(list(FEATURES)) if n % 4 == 0 else "Page Viewed",
                "messageId": f"bench-{number}-{n}",
                "userId": f"{key}-user-{rng.randrange(USERS_PER_ACCOUNT)}",
                "timestamp": stamp,
                "context": {"groupId": key, "library": {"name": "analytics-node", "version": "2.1.0"}},
                "properties": {"plan": "enterprise", "seconds": rng.randrange(300)},
            }
        )
    return calls


async def _steady(
    url: str, token: str, batches: list[list[dict[str, Any]]]
) -> tuple[float, list[float], int]:
    """Send ``batches`` at :data:`OFFERED` events/s; (acknowledged events/s, latencies in ms, refusals)."""
    interval = BATCH / OFFERED
    latencies: list[float] = []
    refused = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [json.dumps(calls).encode() for calls in batches]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:

        async def one(body: bytes) -> None:
            nonlocal refused
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    refused += 1
                    return
            latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        tasks = []
        for number, body in enumerate(bodies):
            delay = began + number * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
        took = time.perf_counter() - began
    return len(latencies) * BATCH / took, latencies, refused


async def _ceiling_p99(ctx: BenchContext, batches: list[list[dict[str, Any]]]) -> float:
    command = [sys.executable, "-m", "bench.segment_bench", "ceiling"]
    env = {"PYTHONPATH": str(ROOT)}
    async with running(command, env=env, workdir=ctx.workdir, name="segment-ceiling") as server:
        _rate, latencies, _refused = await _steady(f"http://127.0.0.1:{server.port}/ingest", "x", batches)
    return percentile(latencies, 99)


async def _ingestion(ctx: BenchContext, db: Database) -> list[Figure]:
    async with db.sessions() as session:
        keys = list((await session.execute(select(Account.external_id).limit(ACCOUNTS))).scalars())
    token = (await create_token(db, f"segment-bench-{random.randrange(10**9)}", ["segment"])).secret
    config = ctx.workdir / "segment.toml"
    config.write_text(CONFIG_TOML, encoding="utf-8")
    env = {
        "TOUCHPOINT_DATABASE_URL": ctx.url,
        "TOUCHPOINT_SCHEDULER_ENABLED": "false",
        "TOUCHPOINT_CONFIG_FILE": str(config),
        "TOUCHPOINT_LOG_JSON": "true",
        "TOUCHPOINT_TEAMS_ENABLED": "false",
        "TOUCHPOINT_DEFAULT_TIMEZONE": "UTC",
    }
    rng = random.Random(7)
    count = int(SECONDS * OFFERED / BATCH)
    rates, p99s, p50s, ceilings, refusals = [], [], [], [], 0
    sent: dict[tuple[str, date], set[str]] = defaultdict(set)
    numbered = 0
    async with running(
        touchpoint_command(None), env=env, workdir=ctx.workdir, name="segment-serve"
    ) as server:
        url = f"http://127.0.0.1:{server.port}/api/v1/segment"
        for _run in range(ctx.runs):
            at = datetime.now(UTC)
            batches = [_batch(rng, keys, numbered + n, at) for n in range(count)]
            numbered += count
            for calls in batches:
                for event in calls:
                    sent[(event["context"]["groupId"], at.date())].add(event["userId"])
            rate, latencies, refused = await _steady(url, token, batches)
            rates.append(rate)
            p99s.append(percentile(latencies, 99))
            p50s.append(percentile(latencies, 50))
            refusals += refused
            ceilings.append(await _ceiling_p99(ctx, batches))
    correct = await _aggregates_correct(db, sent)
    rate, p99, ceiling = median(rates), median(p99s), median(ceilings)
    return [
        Figure(
            name=f"Segment ingestion: batches of {BATCH} offered at {OFFERED:,} events/s for {SECONDS:.0f} s",
            backend=ctx.backend,
            target=f">= {RATE:,} events/s",
            measured=f"{rate:,.0f} events/s",
            passed=rate >= RATE and refusals == 0,
            runs=ctx.runs,
            note=f"{refusals} refused; aggregates correct: {'yes' if correct else 'NO'}",
        ),
        Figure(
            name="Segment ingestion: p99 latency of a batch",
            backend=ctx.backend,
            target=f"< {P99_TARGET_MS:.0f} ms",
            measured=f"{p99:.0f} ms",
            passed=p99 < P99_TARGET_MS and correct,
            runs=ctx.runs,
            note=f"median {median(p50s):.0f} ms; ceiling (a bare server that parses the body) p99 "
            f"{ceiling:.1f} ms",
        ),
    ]


async def _aggregates_correct(db: Database, sent: dict[tuple[str, date], set[str]]) -> bool:
    await _count(db, datetime.now(UTC), full=False)
    async with db.sessions() as session:
        rows = await session.execute(
            select(Account.external_id, UsageMetric.day, UsageMetric.value)
            .join(Account, Account.id == UsageMetric.account_id)
            .where(UsageMetric.metric == "active_users", UsageMetric.day.in_({day for _k, day in sent}))
        )
        counted = {(key, day): value for key, day, value in rows.all()}
    return all(counted.get(pair) == float(len(users)) for pair, users in sent.items())


async def _count(db: Database, now: datetime, *, full: bool) -> float:
    counts = SegmentCounts(db, CONFIG, clock=lambda: now, default_timezone="UTC")

    async def work(tally: Any, lease: Any) -> None:
        await counts.run(tally, lease, full=full, dry_run=False)

    started = time.perf_counter()
    outcome = await run_sync(db, "segment", work, full=full, dry_run=False, clock=lambda: now)
    if outcome.error:
        raise RuntimeError(outcome.error)
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------- counting


# The event indexes: dropped for the bulk load and built again after it (what a restore does), so the
# load does not write every B-tree row by row.
INDEXES = {
    "ix_product_event_account_key_day_activity_user": "CREATE INDEX "
    'ix_product_event_account_key_day_activity_user ON product_event (account_key, day, activity, "user")',
    "ix_product_event_features": "CREATE INDEX ix_product_event_features ON product_event "
    "(account_key, day, feature) WHERE feature IS NOT NULL",
    "ix_product_event_uncounted": "CREATE INDEX ix_product_event_uncounted ON product_event (seq) "
    "WHERE {not_counted}",
    "ix_product_event_seats": "CREATE INDEX ix_product_event_seats ON product_event (account_key, day) "
    "WHERE seats IS NOT NULL",
}
# PostgreSQL's unique constraint can go too; SQLite's is part of the table.
UNIQUE = "uq_product_event_message_id"


async def _fill(ctx: BenchContext, db: Database, total: int, today: date) -> int:
    """``total`` events of :data:`ACCOUNTS` accounts spread over the last :data:`DAYS` days."""
    async with db.sessions() as session:
        keys = list((await session.execute(select(Account.external_id).limit(ACCOUNTS))).scalars())
    loader: Loader
    if ctx.backend == "sqlite":
        loader = SqliteLoader(str(make_url(ctx.url).database))
    else:
        loader = await PostgresLoader.open(ctx.url)
    rng = random.Random(11)
    features = list(FEATURES.values())
    received = loader.moment(datetime.now(UTC))
    days = [loader.day(today - timedelta(days=n)) for n in range(DAYS)]
    true = 1 if ctx.backend == "sqlite" else True

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(total):
            key = keys[n % len(keys)]
            feature = features[rng.randrange(len(features))] if n % 5 == 0 else None
            day = days[rng.randrange(DAYS)]
            yield (
                f"fill-{n}",
                received,
                day,
                f"{key}-u{rng.randrange(USERS_PER_ACCOUNT)}",
                key,
                "track",
                true,
                feature,
                true,
            )

    try:
        await loader.execute("DELETE FROM product_event")
        if ctx.backend == "postgresql":
            await loader.execute(f"ALTER TABLE product_event DROP CONSTRAINT IF EXISTS {UNIQUE}")
        for name in INDEXES:
            await loader.execute(f"DROP INDEX IF EXISTS {name}")
        columns = (
            "message_id",
            "received_at",
            "day",
            "user",
            "account_key",
            "kind",
            "activity",
            "feature",
            "counted",
        )
        await loader.copy("product_event", columns, rows())
        not_counted = "counted = 0" if ctx.backend == "sqlite" else "NOT counted"
        for create in INDEXES.values():
            await loader.execute(create.format(not_counted=not_counted))
        if ctx.backend == "postgresql":
            await loader.execute(f"ALTER TABLE product_event ADD CONSTRAINT {UNIQUE} UNIQUE (message_id)")
    finally:
        await loader.finish()
    return len(keys)


async def _counting(ctx: BenchContext, db: Database) -> list[Figure]:
    total = max(10_000, int(EVENTS * ctx.scale))
    now = datetime.now(UTC)
    accounts = await _fill(ctx, db, total, now.date())
    seconds = [await _count(db, now, full=True) for _run in range(ctx.runs)]
    async with db.sessions() as session:
        rows = (await session.execute(select(func.count()).select_from(UsageMetric))).scalar_one()
    took = median(seconds)
    return [
        Figure(
            name=f"Segment counting: {total:,} events of {accounts:,} accounts over {DAYS} days, full",
            backend=ctx.backend,
            target=f"< {COUNT_TARGET_SECONDS:.0f} s",
            measured=f"{took:.1f} s",
            passed=took < COUNT_TARGET_SECONDS,
            runs=ctx.runs,
            note=f"{rows:,} usage rows in the database after",
        )
    ]


async def run(ctx: BenchContext) -> list[Figure]:
    db = Database(ctx.url)
    try:
        return [*await _ingestion(ctx, db), *await _counting(ctx, db)]
    finally:
        await db.dispose()


# ------------------------------------------------------------------------------------------ ceiling


def _ceiling(port: int) -> None:
    async def ingest(request: web.Request) -> web.Response:
        calls = json.loads(await request.read())
        return web.json_response({"accepted": len(calls)})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/ingest", ingest)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    if sys.argv[1:2] == ["ceiling"]:
        _ceiling(int(sys.argv[sys.argv.index("--port") + 1]))
