"""The import benchmark: ``touchpoint import usage FILE`` in a child process for a generated CSV of usage
rows of the dataset's accounts, on days before the dataset's first (every row an insert), removed
afterwards so the next benchmarks see the portfolio as built."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select

from bench.batch_children import child_env, run_child, time_and_peak
from bench.common import BenchContext, Figure, median
from storage.db import Database
from storage.models import Account, UsageMetric

IMPORT_ROWS = 1_000_000
IMPORT_TARGET_SECONDS = 60.0
IMPORT_TARGET_MB = 300
IMPORT_METRICS = (
    "active_users",
    "licensed_seats",
    "features_adopted",
    "features_available",
    "open_tickets",
    "escalations",
)


async def _account_ids(db: Database) -> list[str]:
    async with db.sessions() as session:
        return list((await session.execute(select(Account.external_id).order_by(Account.id))).scalars())


async def _first_usage_day(db: Database) -> date:
    async with db.sessions() as session:
        first = await session.scalar(select(func.min(UsageMetric.day)))
    if first is None:
        raise RuntimeError("the dataset has no usage rows")
    return first if isinstance(first, date) else date.fromisoformat(str(first))


def write_usage_csv(path: Path, accounts: Sequence[str], rows: int, last_day: date) -> date:
    """``rows`` usage rows of ``accounts``, day by day backwards from ``last_day``: every account and
    metric for a day, then the day before. Returns the earliest day written."""
    day = last_day
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("account_external_id", "date", "metric", "value"))
        while written < rows:
            text = day.isoformat()
            for number, account in enumerate(accounts):
                for index, metric in enumerate(IMPORT_METRICS):
                    if written >= rows:
                        break
                    writer.writerow((account, text, metric, (number * 7 + index * 13 + day.day) % 500))
                    written += 1
            day -= timedelta(days=1)
    return day + timedelta(days=1)


async def _remove_usage_before(db: Database, first_day: date) -> int:
    async with db.transaction() as session:
        result = await session.execute(delete(UsageMetric).where(UsageMetric.day < first_day))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def import_figures(ctx: BenchContext) -> list[Figure]:
    rows = max(1000, round(IMPORT_ROWS * ctx.scale))
    db = Database(ctx.url)
    results: list[tuple[float, int]] = []
    try:
        accounts = await _account_ids(db)
        dataset_first = await _first_usage_day(db)
        last_day = dataset_first - timedelta(days=1)
        for number in range(ctx.runs):
            path = ctx.workdir / f"usage-{number}.csv"
            # Each run imports days no run imported before, so every run inserts all its rows.
            earliest = write_usage_csv(path, accounts, rows, last_day)
            last_day = earliest - timedelta(days=1)
            child = await run_child(
                ["touchpoint", "import", "usage", str(path)], cwd=ctx.workdir, env=child_env(ctx.url)
            )
            child.check("touchpoint import usage")
            if f"Imported {rows:,} usage rows" not in child.stdout:
                raise RuntimeError(f"unexpected import output: {child.stdout.strip()[-300:]}")
            results.append((child.seconds, child.max_rss_bytes))
            path.unlink()
        await _remove_usage_before(db, dataset_first)
    finally:
        await db.dispose()
    seconds = median([r[0] for r in results])
    peak = max(r[1] for r in results)
    return time_and_peak(
        ctx.backend,
        f"Import: {rows:,} usage rows from CSV",
        seconds,
        IMPORT_TARGET_SECONDS,
        f"{rows / seconds:,.0f} rows/s, process start included",
        "Import: peak memory",
        peak,
        IMPORT_TARGET_MB,
        "largest of the runs",
        runs=len(results),
    )
