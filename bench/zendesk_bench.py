"""The Zendesk sync benchmark: ``touchpoint sync zendesk --full`` in a child process against the fake
Zendesk API (``tests/fakes/zendesk.py``) served by this process on a loopback port.

The fake holds 2,000 organizations, one per account of the dataset's portfolio (their ``external_id`` is
the account's), and :data:`TICKETS` tickets (times the scale) created over the last two years: nine in
ten solved within ten days, the others still open, pending or on hold; one in thirty urgent. A full sync
reads every ticket, keeps those that show in the 90-day window and rebuilds the daily series of every
linked account. Figures: its time with the process start (target 120 s) and peak memory (VmHWM, target
300 MB).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bench.batch_children import child_env, run_child, time_and_peak
from bench.common import BenchContext, Figure
from storage.db import Database
from storage.models import Account
from tests.fakes.zendesk import EMAIL, TOKEN, FakeZendesk, ManualClock

ORGANIZATIONS = 2_000
TICKETS = 500_000
TARGET_SECONDS = 120.0
TARGET_MB = 300
CONFIG = """[connectors.zendesk]
every = "off"
match = "external_id"
"""


def _tickets(
    orgs: list[str], total: int, now: datetime
) -> list[tuple[str | None, datetime, str, str | None, tuple[str, ...], datetime | None]]:
    rng = random.Random(5)
    rows: list[tuple[str | None, datetime, str, str | None, tuple[str, ...], datetime | None]] = []
    for n in range(total):
        created = now - timedelta(days=730 * rng.random() + 0.01)
        priority = "urgent" if n % 30 == 0 else rng.choice(("low", "normal", "normal", "high"))
        if rng.random() < 0.9:
            solved = min(now - timedelta(minutes=5), created + timedelta(days=10 * rng.random()))
            rows.append(
                (
                    orgs[n % len(orgs)],
                    created,
                    "closed" if rng.random() < 0.7 else "solved",
                    priority,
                    (),
                    solved,
                )
            )
        else:
            status = rng.choice(("new", "open", "open", "pending", "hold"))
            rows.append(
                (orgs[n % len(orgs)], created, status, priority, ("escalated",) if n % 97 == 0 else (), None)
            )
    return rows


async def run(ctx: BenchContext) -> list[Figure]:
    db = Database(ctx.url)
    now = datetime.now(UTC)
    fake = FakeZendesk(clock=ManualClock(now - timedelta(minutes=2)))
    await fake.start()
    total = max(10_000, int(TICKETS * ctx.scale))
    try:
        async with db.sessions() as session:
            keys = list((await session.execute(select(Account.external_id).limit(ORGANIZATIONS))).scalars())
        orgs = [fake.add_organization(f"Organization {key}", external_id=key) for key in keys]
        fake.bulk_tickets(_tickets(orgs, total, now))
        config = ctx.workdir / "zendesk.toml"
        config.write_text(CONFIG, encoding="utf-8")
        env = {
            **child_env(ctx.url),
            "TOUCHPOINT_ZENDESK_URL": fake.url,
            "ZENDESK_EMAIL": EMAIL,
            "ZENDESK_API_TOKEN": TOKEN,
            "TOUCHPOINT_CONFIG_FILE": str(config),
            "COLUMNS": "250",
        }
        full = await run_child(["touchpoint", "sync", "zendesk", "--full"], cwd=ctx.workdir, env=env)
        full.check("touchpoint sync zendesk --full")
    finally:
        await fake.close()
        await db.dispose()
    summary = full.stdout.strip().splitlines()[:1]
    return time_and_peak(
        ctx.backend,
        f"Zendesk full sync: {len(orgs):,} organizations, {total:,} tickets",
        full.seconds,
        TARGET_SECONDS,
        "process start included; " + (summary[0].split(" · ", 1)[-1][:300] if summary else ""),
        "Zendesk full sync: peak memory",
        full.max_rss_bytes,
        TARGET_MB,
        "VmHWM of the sync process",
        runs=1,
    )
