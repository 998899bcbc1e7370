"""The benchmark portfolio: a large CS organisation, generated quickly and deterministically.

At scale 1.0: 20,000 accounts, 1,000 people (CSMs with managers), 90 days of 6 usage metrics per account
(10.8 million rows), 100,000 survey responses, 60,000 milestones, 40,000 follow-ups, about one
success-plan outcome per two accounts, 1-3 ARR changes per account, and health snapshots for the last
31 days. Every size scales with ``scale``.

Rows are generated in Python (seeded, so the same seed gives the same data) and written in bulk:
PostgreSQL with COPY (asyncpg's ``copy_records_to_table``, foreign-key triggers off during the load),
SQLite with ``executemany`` in large transactions (WAL, ``synchronous=OFF`` during the load). Today's
health snapshots come from the real health engine (``bot.health_service.recompute``), so cards show real
drivers; the 30 days before are derived from them in SQL with a per-account drift, so trends, risk and
digests have something to show.

Everyone works in UTC: "today" is the same calendar day for every person, so reads find the snapshots
of today instead of computing missing ones on the fly.

This module puts the parts together (:func:`build_dataset`) and derives the health history; the parts
are :mod:`bench.portfolio` (people and accounts), :mod:`bench.activity` (usage, surveys, milestones,
follow-ups, outcomes, ARR), :mod:`bench.loaders` (the bulk writers) and :mod:`bench.databases` (a
fresh database per run).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench.*`` importable
    sys.path.insert(0, str(ROOT))

from bench.activity import (  # noqa: E402
    ARR_COLUMNS,
    FOLLOW_UP_COLUMNS,
    MILESTONE_COLUMNS,
    OUTCOME_COLUMNS,
    SURVEY_COLUMNS,
    arr_rows,
    follow_up_rows,
    milestone_rows,
    outcome_rows,
    survey_rows,
    usage_rows,
)
from bench.databases import bench_database  # noqa: E402
from bench.loaders import Loader, PostgresLoader, SqliteLoader  # noqa: E402
from bench.portfolio import (  # noqa: E402
    ACCOUNT_COLUMNS,
    PERSON_COLUMNS,
    BenchAccount,
    account_rows,
    make_accounts,
    make_people,
    slack_user_id,
)
from bot.health.falls import refresh_falls  # noqa: E402
from bot.health.model import HealthModel  # noqa: E402
from bot.health.service import recompute  # noqa: E402
from storage.db import Database, is_sqlite  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

# ------------------------------------------------------------------------------------------ the sizes

ACCOUNTS: Final = 20_000
PEOPLE: Final = 1_000
SURVEYS: Final = 100_000
MILESTONES_PER_ACCOUNT: Final = 3  # 60,000
FOLLOW_UPS_PER_ACCOUNT: Final = 2  # 40,000
SNAPSHOT_DAYS: Final = 31  # today and the 30 days before


# ----------------------------------------------------------------------------------------- the result


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """What :func:`build_dataset` wrote, and who and what the benchmarks can ask about.

    ``csm_email`` / ``csm_slack_user_id`` name a CSM owning ``csm_account_count`` accounts (about 20 at
    scale 1.0); every person's Slack user id is ``slack_user_id(person_id)``. ``sample_account_names``
    are exact names of existing accounts (benchmarks make typos of them). ``seconds`` is the build time.
    """

    url: str
    scale: float
    seed: int
    today: date
    counts: dict[str, int]
    sample_account_names: tuple[str, ...]
    csm_email: str
    csm_slack_user_id: str
    csm_account_count: int
    manager_email: str
    seconds: float
    phase_seconds: dict[str, float] = field(default_factory=dict)


def scaled(size: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(size * scale))


# ------------------------------------------------------------------------------------------- building


async def build_dataset(url: str, scale: float, seed: int = 7) -> DatasetInfo:
    """Migrate the empty database at ``url`` (a SQLAlchemy URL) and fill it with the benchmark portfolio
    at ``scale`` (1.0 = the sizes of the module docstring). Prints nothing; the time is in the result."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    rng = random.Random(seed)
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    phases["migrate"] = time.perf_counter() - started

    loader: Loader
    if is_sqlite(url):
        loader = SqliteLoader(str(make_url(url).database))
    else:
        loader = await PostgresLoader.open(url)
    counts: dict[str, int] = {}
    try:
        people = make_people(rng, scaled(PEOPLE, scale, 10), now, loader)
        accounts = make_accounts(rng, scaled(ACCOUNTS, scale, 20), people.csm_ids, today)

        async def load(table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
            begun = time.perf_counter()
            counts[table] = await loader.copy(table, columns, rows)
            phases[table] = time.perf_counter() - begun

        await load("person", PERSON_COLUMNS, people.rows)
        await load("account", ACCOUNT_COLUMNS, account_rows(accounts, today, now, loader))
        await load(
            "usage_metric",
            ("account_id", "day", "metric", "value"),
            usage_rows(accounts, today, loader, seed),
        )
        await load(
            "survey_response",
            SURVEY_COLUMNS,
            survey_rows(random.Random(seed + 1), accounts, scaled(SURVEYS, scale), now, loader),
        )
        await load(
            "milestone",
            MILESTONE_COLUMNS,
            milestone_rows(random.Random(seed + 2), accounts, MILESTONES_PER_ACCOUNT, now, today, loader),
        )
        await load(
            "follow_up",
            FOLLOW_UP_COLUMNS,
            follow_up_rows(random.Random(seed + 3), accounts, FOLLOW_UPS_PER_ACCOUNT, now, today, loader),
        )
        await load(
            "outcome", OUTCOME_COLUMNS, outcome_rows(random.Random(seed + 4), accounts, now, today, loader)
        )
        await load("arr_change", ARR_COLUMNS, arr_rows(random.Random(seed + 5), accounts, now, loader))
    finally:
        await loader.finish()

    begun = time.perf_counter()
    db = Database(url)
    try:
        await recompute(db, today, model=HealthModel())
        phases["health_today"] = time.perf_counter() - begun
        begun = time.perf_counter()
        counts["health_snapshot"] = await _past_snapshots(db, accounts, today, seed)
        phases["health_history"] = time.perf_counter() - begun
    finally:
        await db.dispose()

    csm_id = _typical_csm(accounts, people.csm_ids)
    owned = sum(1 for a in accounts if a.owner_id == csm_id)
    sample_rng = random.Random(seed + 6)
    samples = tuple(a.name for a in sample_rng.sample(accounts, min(50, len(accounts))))
    return DatasetInfo(
        url=url,
        scale=scale,
        seed=seed,
        today=today,
        counts=counts,
        sample_account_names=samples,
        csm_email=people.email_of[csm_id],
        csm_slack_user_id=slack_user_id(csm_id),
        csm_account_count=owned,
        manager_email=people.manager_email,
        seconds=time.perf_counter() - started,
        phase_seconds=phases,
    )


def _typical_csm(accounts: Sequence[BenchAccount], csm_ids: Sequence[int]) -> int:
    """The CSM whose number of accounts is the median (about 20 at scale 1.0)."""
    owned: dict[int, int] = dict.fromkeys(csm_ids, 0)
    for a in accounts:
        if a.owner_id is not None:
            owned[a.owner_id] += 1
    ranked = sorted(owned, key=lambda person_id: (owned[person_id], person_id))
    return ranked[len(ranked) // 2]


async def _past_snapshots(db: Database, accounts: Sequence[BenchAccount], today: date, seed: int) -> int:
    """The 30 days before today, derived in SQL from today's snapshots: each account's score moves
    along a straight line whose 30-day change follows its usage drift (declining accounts were better
    before), so trends, ``risk`` and digest charts have something to show. Today's snapshots then get
    their fall against 30 days before, as the recompute stores it."""
    rng = random.Random(seed + 7)
    slopes = [{"a": a.id, "s": round(-a.drift * 60 + rng.uniform(-6, 6), 2)} for a in accounts]
    sqlite = db.is_sqlite
    clamp = "min(100.0, max(0.0, {}))" if sqlite else "least(100.0, greatest(0.0, {}))"
    score = clamp.format("h.score + s.slope * :days_ago / 30.0")
    day = ":day" if sqlite else "CAST(:day AS DATE)"
    today_param = ":today" if sqlite else "CAST(:today AS DATE)"
    insert = text(
        "INSERT INTO health_snapshot (account_id, day, score, band, confidence, components, computed_at) "
        f"SELECT h.account_id, {day}, {score}, "
        f"CASE WHEN h.score IS NULL THEN 'unknown' WHEN {score} >= 70 THEN 'green' "
        f"WHEN {score} >= 40 THEN 'yellow' ELSE 'red' END, h.confidence, h.components, h.computed_at "
        "FROM health_snapshot h JOIN bench_slope s ON s.account_id = h.account_id "
        f"WHERE h.day = {today_param}"
    )

    def param(value: date) -> Any:
        return value.isoformat() if sqlite else value

    async with db.engine.begin() as connection:
        await connection.execute(
            text("CREATE TEMP TABLE bench_slope (account_id INTEGER PRIMARY KEY, slope REAL)")
        )
        await connection.execute(text("INSERT INTO bench_slope VALUES (:a, :s)"), slopes)
        for days_ago in range(1, SNAPSHOT_DAYS):
            await connection.execute(
                insert,
                {"days_ago": days_ago, "day": param(today - timedelta(days=days_ago)), "today": param(today)},
            )
        await connection.execute(text("DROP TABLE bench_slope"))
        total = (await connection.execute(text("SELECT count(*) FROM health_snapshot"))).scalar_one()
    # Today's snapshots were written before the day 30 days earlier existed: their fall (what ``risk``
    # reads) is worked out now; the earlier days have nothing 30 days before them. PostgreSQL then
    # vacuums as well as analyses: ``risk`` reads covering indexes, which skip the table only for
    # pages the visibility map (set by a vacuum, as autovacuum would in time) marks all-visible.
    async with db.transaction() as session:
        await refresh_falls(session, today)
    if not sqlite:
        async with db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE health_snapshot"))
    return int(total)


# ---------------------------------------------------------------------------------------------- by hand


def main(argv: Sequence[str] | None = None) -> None:
    """``python bench/dataset.py --backend sqlite --scale 0.02``: build one, print what it holds, drop it."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    async def build() -> None:
        async with bench_database(args.backend) as url:
            info = await build_dataset(url, args.scale, args.seed)
            print(f"dataset built in {info.seconds:.1f} s: {info.counts}")
            print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in info.phase_seconds.items()))
            print(f"CSM {info.csm_email} ({info.csm_slack_user_id}) owns {info.csm_account_count} accounts")
            print("samples: " + "; ".join(info.sample_account_names[:5]))

    asyncio.run(build())


if __name__ == "__main__":
    main()
