"""The import benchmark: ``touchpoint import usage FILE`` in a child process for a generated CSV of usage
rows of the dataset's accounts, on days before the dataset's first (every row an insert), removed
afterwards so the next benchmarks see the portfolio as built.

Two sizes: 1 million rows (``ctx.runs`` runs, the median time), and 10 million rows once (about 83 days
of 20,000 accounts' 6 metrics; a 370 MB file), which shows that memory stays flat as the file grows and
that the time per million rows does not get worse. The CSV files are streamed to the work directory,
never built in memory, and removed after each import."""

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
LARGE_IMPORT_ROWS = 10_000_000
LARGE_IMPORT_TARGET_MB = 200
# The large import's time per million rows may be this much above the 1M import's (run-to-run noise).
LARGE_IMPORT_SLACK = 1.1
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


async def _import_once(ctx: BenchContext, path: Path, rows: int) -> tuple[float, int]:
    """Run ``touchpoint import usage PATH`` in a child; its seconds (process start included) and peak."""
    child = await run_child(
        ["touchpoint", "import", "usage", str(path)], cwd=ctx.workdir, env=child_env(ctx.url)
    )
    child.check("touchpoint import usage")
    if f"Imported {rows:,} usage rows" not in child.stdout:
        raise RuntimeError(f"unexpected import output: {child.stdout.strip()[-300:]}")
    return child.seconds, child.max_rss_bytes


async def import_figures(ctx: BenchContext) -> list[Figure]:
    rows = max(1000, round(IMPORT_ROWS * ctx.scale))
    large_rows = max(10_000, round(LARGE_IMPORT_ROWS * ctx.scale))
    db = Database(ctx.url)
    results: list[tuple[float, int]] = []
    try:
        accounts = await _account_ids(db)
        dataset_first = await _first_usage_day(db)
        last_day = dataset_first - timedelta(days=1)
        for number in range(ctx.runs + 1):
            # Each run imports days no run imported before, so every run inserts all its rows; the
            # last run is the large one.
            size = rows if number < ctx.runs else large_rows
            path = ctx.workdir / f"usage-{number}.csv"
            try:
                earliest = write_usage_csv(path, accounts, size, last_day)
                last_day = earliest - timedelta(days=1)
                results.append(await _import_once(ctx, path, size))
            finally:
                path.unlink(missing_ok=True)
        await _remove_usage_before(db, dataset_first)
    finally:
        await db.dispose()
    *small, (large_seconds, large_peak) = results
    seconds = median([r[0] for r in small])
    peak = max(r[1] for r in small)
    figures = time_and_peak(
        ctx.backend,
        f"Import: {rows:,} usage rows from CSV",
        seconds,
        IMPORT_TARGET_SECONDS,
        f"{rows / seconds:,.0f} rows/s, process start included",
        "Import: peak memory",
        peak,
        IMPORT_TARGET_MB,
        "largest of the runs",
        runs=len(small),
    )
    per_million = seconds / rows * 1e6
    large_per_million = large_seconds / large_rows * 1e6
    limit = per_million * LARGE_IMPORT_SLACK * large_rows / 1e6
    large = time_and_peak(
        ctx.backend,
        f"Import: {large_rows:,} usage rows from CSV",
        large_seconds,
        limit,
        f"{large_per_million:.1f} s per million rows vs {per_million:.1f} s at {rows:,} "
        f"(target: at most {LARGE_IMPORT_SLACK:.0%} of it); {large_rows / large_seconds:,.0f} rows/s",
        f"Import: peak memory, {large_rows:,} rows",
        large_peak,
        LARGE_IMPORT_TARGET_MB,
        "flat as the file grows (the 1M import's is above)",
        runs=1,
    )
    return figures + large
