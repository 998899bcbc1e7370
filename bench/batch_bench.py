"""Batch work at full size: the nightly health recompute, the digests, and a CSV import of usage.

- Recompute: ``bot.health_service.recompute`` of every account for today, as the nightly job runs it,
  in a subprocess of its own so its peak memory is measured alone (see :func:`peak_rss_bytes`).
- Digests: what the scheduler does when every person's DM digest and one team digest fire together:
  ``scheduler.digest_batch.run_digests`` builds and queues them (the outbox rows are removed after each
  run). The team digest is the whole organisation's (an admin's), the largest one there is.
- Import: ``touchpoint import usage FILE`` in a subprocess (the command's own code, started through
  this module so it reports its peak memory), for a generated CSV of 1 million usage rows
  of the dataset's accounts (new days before the dataset's first, so every row is an insert; removed
  afterwards so the next benchmarks see the portfolio as built).

Run a child by hand on any migrated database:
``.venv/bin/python -m bench.batch_bench child recompute --url URL --day 2026-11-25``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from bench.common import BenchContext, Figure, median
from bot.core.context import BotContext
from bot.health.model import HealthModel
from bot.health.service import recompute
from bot.settings import Settings
from scheduler.digest_batch import run_digests
from scheduler.jobs import DIGEST_PURPOSE, DigestOutcome
from storage.db import Database
from storage.models import (
    Account,
    DigestCadence,
    DigestScope,
    DigestSubscription,
    OutboxMessage,
    Person,
    Role,
    UsageMetric,
)

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024

RECOMPUTE_TARGET_SECONDS = {"postgresql": 30.0, "sqlite": 60.0}
RECOMPUTE_TARGET_MB = 500
DIGEST_TARGET_SECONDS = 15.0
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


async def run(ctx: BenchContext) -> list[Figure]:
    figures = await recompute_figures(ctx)
    figures += await digest_figures(ctx)
    figures += await import_figures(ctx)
    return figures


# ------------------------------------------------------------------------------------- subprocesses


@dataclass(frozen=True, slots=True)
class ChildRun:
    """A finished subprocess: its exit code, output, wall time and peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_bytes: int

    def json(self) -> dict[str, Any]:
        """The last line of stdout as JSON (what a ``child`` command prints)."""
        lines = self.stdout.strip().splitlines()
        return dict(json.loads(lines[-1])) if lines else {}

    def check(self, what: str) -> ChildRun:
        if self.returncode != 0:
            raise RuntimeError(f"{what} exited with {self.returncode}: {self.stderr.strip()[-500:]}")
        return self


PEAK_FILE_ENV = "TOUCHPOINT_BENCH_PEAK_FILE"


def peak_rss_bytes() -> int:
    """This process's peak resident memory since it started running Python.

    ``VmHWM`` is the high-water mark of the process's current memory map. ``ru_maxrss`` would not do
    for a child: Linux carries the parent's resident size over the fork and exec into it, so a child of
    a benchmark process holding a large dataset would report at least that much.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _record_peak_at_exit() -> None:
    """Write :func:`peak_rss_bytes` to the file the parent named, when this process ends."""
    import atexit

    target = os.environ.get(PEAK_FILE_ENV)
    if target:
        atexit.register(lambda: Path(target).write_text(str(peak_rss_bytes())))


def _run_child_blocking(args: Sequence[str], *, cwd: Path, env: dict[str, str]) -> ChildRun:
    with tempfile.TemporaryDirectory() as directory:
        peak_file = Path(directory) / "peak"
        started = time.perf_counter()
        done = subprocess.run(
            list(args), cwd=cwd, env={**env, PEAK_FILE_ENV: str(peak_file)}, capture_output=True, check=False
        )
        seconds = time.perf_counter() - started
        peak = int(peak_file.read_text()) if peak_file.exists() else 0
    return ChildRun(
        returncode=done.returncode,
        stdout=done.stdout.decode(errors="replace"),
        stderr=done.stderr.decode(errors="replace"),
        seconds=seconds,
        max_rss_bytes=peak,
    )


async def run_child(args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> ChildRun:
    """Run ``python -m bench.batch_bench child ...`` (``args`` after ``child``) in a subprocess."""
    command = [sys.executable, "-m", "bench.batch_bench", "child", *args]
    return await asyncio.to_thread(_run_child_blocking, command, cwd=cwd, env={**os.environ, **(env or {})})


def _child_env(url: str) -> dict[str, str]:
    """Settings for a child: this database, UTC, errors only; nothing read from a local .env."""
    return {
        "TOUCHPOINT_DATABASE_URL": url,
        "TOUCHPOINT_DEFAULT_TIMEZONE": "UTC",
        "TOUCHPOINT_LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(ROOT),
    }


def _mb(value: float) -> str:
    return f"{value / MB:.0f} MB"


# ---------------------------------------------------------------------------------------- recompute


async def recompute_figures(ctx: BenchContext) -> list[Figure]:
    day = ctx.dataset.today.isoformat()
    command = ["recompute", "--url", ctx.url, "--day", day]
    results = []
    for _ in range(ctx.runs):
        child = (await run_child(command, cwd=ROOT, env=_child_env(ctx.url))).check("recompute")
        results.append((float(child.json()["seconds"]), child.max_rss_bytes, int(child.json()["accounts"])))
    seconds = median([r[0] for r in results])
    peak = max(r[1] for r in results)
    accounts = results[0][2]
    return _time_and_peak(
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


def _time_and_peak(
    backend: str,
    name: str,
    seconds: float,
    target_seconds: float,
    note: str,
    memory_name: str,
    peak: float,
    target_mb: float,
    memory_note: str,
    *,
    runs: int,
) -> list[Figure]:
    """The two figures of work run in a subprocess: its median time and its largest peak memory."""
    return [
        Figure(
            name=name,
            backend=backend,
            target=f"< {target_seconds:.0f} s",
            measured=f"{seconds:.1f} s",
            passed=seconds < target_seconds,
            runs=runs,
            note=note,
        ),
        Figure(
            name=memory_name,
            backend=backend,
            target=f"< {target_mb:.0f} MB",
            measured=_mb(peak),
            passed=peak < target_mb * MB,
            runs=runs,
            note=memory_note,
        ),
    ]


async def _child_recompute(url: str, day: date) -> dict[str, Any]:
    db = Database(url)
    try:
        started = time.perf_counter()
        summary = await recompute(db, day, model=HealthModel())
        seconds = time.perf_counter() - started
    finally:
        await db.dispose()
    return {"seconds": seconds, "accounts": summary.accounts, "bands": dict(summary.bands)}


# ------------------------------------------------------------------------------------------ digests


def bench_settings(url: str, workdir: Path) -> Settings:
    """Settings that read no local configuration: the built-in health model, UTC."""
    return Settings(database_url=url, config_file=workdir / "no-touchpoint.toml", default_timezone="UTC")


async def digest_subscriptions(db: Database, today: date) -> tuple[list[DigestSubscription], int]:
    """Unsaved subscriptions as the scheduler would hold them: every person's DM digest (last sent
    yesterday) and the team digest of the first admin (all accounts). Also: how many are CSMs'."""
    async with db.sessions() as session:
        people = (await session.execute(select(Person.id, Person.role).order_by(Person.id))).all()
    yesterday = (today - timedelta(days=1)).isoformat()
    subscriptions = [
        DigestSubscription(
            id=person_id,
            created_by_id=person_id,
            platform="slack",
            person_id=person_id,
            scope=DigestScope.MINE.value,
            cadence=DigestCadence.WEEKDAYS.value,
            at_time="09:00",
            timezone="UTC",
            active=True,
            last_sent_period=yesterday,
        )
        for person_id, _ in people
    ]
    admin = next(person_id for person_id, role in people if role == Role.ADMIN)
    subscriptions.append(
        DigestSubscription(
            id=len(people) + 1,
            created_by_id=admin,
            platform="slack",
            channel="CTEAMDIGEST",
            scope=DigestScope.TEAM.value,
            cadence=DigestCadence.WEEKLY.value,
            weekday=today.weekday(),
            at_time="08:30",
            timezone="UTC",
            active=True,
            last_sent_period=(today - timedelta(days=7)).isoformat(),
        )
    )
    csms = sum(1 for _, role in people if role == Role.CSM)
    return subscriptions, csms


@dataclass(frozen=True, slots=True)
class DigestRun:
    seconds: float
    enqueued: int


async def _store_subscriptions(db: Database, subscriptions: Sequence[DigestSubscription]) -> list[int]:
    async with db.transaction() as session:
        session.add_all(subscriptions)
        await session.flush()
        return [s.id for s in subscriptions]


async def _forget_digests(db: Database, ids: Sequence[int], today: date) -> None:
    """Undo a run: no digest queued, every subscription last sent before today (so the next run builds
    them all again)."""
    async with db.transaction() as session:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.purpose == DIGEST_PURPOSE))
        await session.execute(
            update(DigestSubscription)
            .where(DigestSubscription.id.in_(ids))
            .values(last_sent_period=(today - timedelta(days=1)).isoformat())
        )


async def digests_as_scheduled(ctx: BotContext, ids: Sequence[int], today: date) -> DigestRun:
    """Every subscription firing at once, through the scheduler's own path: ``run_digests`` builds the
    DM digests of the group in batches of people, the team digest on its own, and queues them all."""
    started = time.perf_counter()
    runs = await run_digests(ctx, ids, now=ctx.now())
    seconds = time.perf_counter() - started
    enqueued = sum(1 for r in runs.values() if r.outcome is DigestOutcome.ENQUEUED)
    await _forget_digests(ctx.db, ids, today)
    return DigestRun(seconds, enqueued)


async def digest_figures(ctx: BenchContext) -> list[Figure]:
    db = Database(ctx.url)
    try:
        nine = datetime.combine(ctx.dataset.today, clock_time(9, 0), tzinfo=UTC)
        bot_ctx = BotContext(
            db, bench_settings(ctx.url, ctx.workdir), clock=lambda: nine, health_model=HealthModel()
        )
        subscriptions, csms = await digest_subscriptions(db, ctx.dataset.today)
        ids = await _store_subscriptions(db, subscriptions)
        runs = [await digests_as_scheduled(bot_ctx, ids, ctx.dataset.today) for _ in range(ctx.runs)]
        async with db.transaction() as session:
            await session.execute(delete(DigestSubscription).where(DigestSubscription.id.in_(ids)))
    finally:
        await db.dispose()
    seconds = median([r.seconds for r in runs])
    people = len(subscriptions) - 1
    return [
        Figure(
            name=f"Digests: {people:,} DM digests and the whole team's digest, built and queued",
            backend=ctx.backend,
            target=f"< {DIGEST_TARGET_SECONDS:.0f} s",
            measured=f"{seconds:.1f} s",
            passed=seconds < DIGEST_TARGET_SECONDS and all(r.enqueued == len(ids) for r in runs),
            runs=len(runs),
            note=f"{csms:,} CSMs; scheduler path (run_digests); {runs[0].enqueued:,} queued per run",
        )
    ]


# ------------------------------------------------------------------------------------------- import


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
                ["touchpoint", "import", "usage", str(path)], cwd=ctx.workdir, env=_child_env(ctx.url)
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
    return _time_and_peak(
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


# --------------------------------------------------------------------------------------- by hand


def main(argv: Sequence[str] | None = None) -> None:
    """What the benchmarks run in a subprocess, each writing its peak memory where the parent asked:
    ``child recompute --url URL --day DAY`` (one recompute, its seconds printed as JSON) and
    ``child touchpoint ARGS...`` (the ``touchpoint`` command itself, e.g. ``import usage FILE``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["child", "touchpoint"]:
        _record_peak_at_exit()
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
    _record_peak_at_exit()
    from bot.log import configure

    configure(level="ERROR")
    print(json.dumps(asyncio.run(_child_recompute(parsed.url, parsed.day))))


if __name__ == "__main__":
    main()
