"""Batch work at full size: the nightly health recompute, the digests, and a CSV import of usage.

- Recompute: ``bot.health_service.recompute`` of every account for today, as the nightly job runs it,
  in a subprocess of its own so its peak memory is measured alone (see
  :func:`bench.batch_children.peak_rss_bytes`).
- Digests: what the scheduler does when every person's DM digest and one team digest fire together:
  ``scheduler.digest_batch.run_digests`` builds and queues them (the outbox rows are removed after each
  run). The team digest is the whole organisation's (an admin's), the largest one there is.
- Import: ``touchpoint import usage FILE`` in a subprocess (the command's own code, started through
  this module so it reports its peak memory), for a generated CSV of 1 million usage rows
  of the dataset's accounts (new days before the dataset's first, so every row is an insert; removed
  afterwards so the next benchmarks see the portfolio as built).

This module runs the recompute and the children; the digests are :mod:`bench.batch_digests`, the
import :mod:`bench.batch_import`, and starting and measuring a child :mod:`bench.batch_children`.

Run a child by hand on any migrated database:
``.venv/bin/python -m bench.batch_bench child recompute --url URL --day 2026-11-25``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

from bench.batch_children import ROOT, child_env, record_peak_at_exit, run_child, time_and_peak
from bench.batch_digests import digest_figures
from bench.batch_import import import_figures
from bench.common import BenchContext, Figure, median
from bot.health.model import HealthModel
from bot.health.service import recompute
from storage.db import Database

RECOMPUTE_TARGET_SECONDS = {"postgresql": 30.0, "sqlite": 60.0}
RECOMPUTE_TARGET_MB = 500


async def run(ctx: BenchContext) -> list[Figure]:
    figures = await recompute_figures(ctx)
    figures += await digest_figures(ctx)
    figures += await import_figures(ctx)
    return figures


# ---------------------------------------------------------------------------------------- recompute


async def recompute_figures(ctx: BenchContext) -> list[Figure]:
    day = ctx.dataset.today.isoformat()
    command = ["recompute", "--url", ctx.url, "--day", day]
    results = []
    for _ in range(ctx.runs):
        child = (await run_child(command, cwd=ROOT, env=child_env(ctx.url))).check("recompute")
        results.append((float(child.json()["seconds"]), child.max_rss_bytes, int(child.json()["accounts"])))
    seconds = median([r[0] for r in results])
    peak = max(r[1] for r in results)
    accounts = results[0][2]
    return time_and_peak(
        ctx.backend,
        f"Health recompute: {accounts:,} accounts",
        seconds,
        RECOMPUTE_TARGET_SECONDS[ctx.backend],
        f"{accounts / seconds:,.0f} accounts/s",
        "Health recompute: peak memory",
        peak,
        RECOMPUTE_TARGET_MB,
        "largest of the runs, whole process",
        runs=len(results),
    )


async def _child_recompute(url: str, day: date) -> dict[str, Any]:
    db = Database(url)
    try:
        started = time.perf_counter()
        summary = await recompute(db, day, model=HealthModel())
        seconds = time.perf_counter() - started
    finally:
        await db.dispose()
    return {"seconds": seconds, "accounts": summary.accounts, "bands": dict(summary.bands)}


# --------------------------------------------------------------------------------------- by hand


def main(argv: Sequence[str] | None = None) -> None:
    """What the benchmarks run in a subprocess, each writing its peak memory where the parent asked:
    ``child recompute --url URL --day DAY`` (one recompute, its seconds printed as JSON) and
    ``child touchpoint ARGS...`` (the ``touchpoint`` command itself, e.g. ``import usage FILE``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["child", "touchpoint"]:
        record_peak_at_exit()
        from adapters.cli.main import app

        sys.argv = ["touchpoint", *args[2:]]
        app()
        return
    parser = argparse.ArgumentParser(description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    child = sub.add_parser("child").add_subparsers(dest="what", required=True)
    one = child.add_parser("recompute")
    one.add_argument("--url", required=True)
    one.add_argument("--day", type=date.fromisoformat, required=True)
    parsed = parser.parse_args(args)
    record_peak_at_exit()
    from bot.log import configure

    configure(level="ERROR")
    print(json.dumps(asyncio.run(_child_recompute(parsed.url, parsed.day))))


if __name__ == "__main__":
    main()
