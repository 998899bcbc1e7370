"""Slash commands through the real HTTP stack: latency, throughput against a ceiling app, and memory.

``touchpoint serve`` runs as a subprocess against the benchmark database, with Slack pointed at a fake
Web API in this process (whose ``/respond/...`` URLs stand in for Slack's response_url). Requests are
signed exactly as Slack signs them. Three figures per backend:

1. Latency of ``account NAME`` (one letter of a real name changed), ``my`` (a CSM owning about 20
   accounts), ``risk``, ``renewals``, ``plan NAME``, ``milestones`` and ``followups`` (that CSM's):
   one request at a time, commands interleaved, after a warm-up. Latency is from sending the request
   to the answer arriving at the response_url (what a person waits for); the acknowledgement time
   (Slack's 3-second limit) is reported too. Target: p99 under 15 ms, ``risk`` on SQLite under 30 ms.
2. Throughput: ``account NAME`` typos answered end to end per second with 16 requests in flight,
   divided by what the ceiling app achieves in the same run on the same database: a bare slack-bolt
   ``AsyncApp`` behind the same aiohttp handler (also a subprocess, :func:`serve_bare_bolt`) that
   answers ``account <exact name>`` with one indexed read and a small card posted to the response_url.
   Target: 0.2 or more. The two are measured one after the other in each run.
3. Memory: the resident size (VmRSS) of the serve process after all of that.

The scheduler is off in the serve process (its jobs would fire on their own clock in the middle of a
measurement); the delivery worker runs as in production. Run on its own, with the server under
pyinstrument::

    .venv/bin/python bench/http_bench.py --backend sqlite --scale 0.02 --profile serve.html

This module runs the measurements and turns them into figures; the fake Slack and the signing are in
:mod:`bench.http_slack`, the server subprocesses in :mod:`bench.http_servers`, and the client that sends
commands and times their answers in :mod:`bench.http_client`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench.*`` importable
    sys.path.insert(0, str(ROOT))

from bench.common import BenchContext, Figure, median, percentile  # noqa: E402
from bench.dataset import DatasetInfo  # noqa: E402
from bench.http_client import (  # noqa: E402
    CONCURRENCY,
    LATENCY_RUN_SECONDS,
    Client,
    Timing,
    ceiling_texts,
    command_texts,
    measure_latency,
    measure_rate,
    schedule,
)
from bench.http_servers import running, serve_bare_bolt, touchpoint_command, touchpoint_env  # noqa: E402
from bench.http_slack import FakeSlack  # noqa: E402

LATENCY_REQUESTS = 2100  # in total, split evenly over COMMANDS
LATENCY_TARGET_MS = 15.0
# risk reads about 3,000 at-risk accounts of 20,000 to count them and sum their ARR; SQLite's target
# for it is looser (it was 156 ms when it grouped two days of snapshots per request).
LATENCY_TARGETS_MS = {("risk", "sqlite"): 30.0}
ACK_LIMIT_MS = 3000.0  # Slack gives up on an acknowledgement after 3 seconds
THROUGHPUT_REQUESTS = 800
CEILING_REQUESTS = 3000
THROUGHPUT_TARGET = 0.2
MEMORY_TARGET_MB = 300.0
COMMANDS = ("account", "my", "risk", "renewals", "plan", "milestones", "followups")


def ceiling_command() -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "ceiling"]


def latency_target(command: str, backend: str) -> float:
    return LATENCY_TARGETS_MS.get((command, backend), LATENCY_TARGET_MS)


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    timings: list[Timing]
    touchpoint_rate: float  # account typos answered per second, 16 in flight
    ceiling_rate: float  # the ceiling app's exact-name cards answered per second, 16 in flight

    @property
    def ratio(self) -> float:
        return self.touchpoint_rate / self.ceiling_rate


def request_counts(scale: float) -> tuple[int, int, int]:
    """(latency requests per command, throughput requests, ceiling requests): the issue's numbers at
    scale 1.0, fewer for a quick check at a small scale."""
    factor = min(1.0, scale)
    per_command = max(25, round(LATENCY_REQUESTS / len(COMMANDS) * factor))
    return (
        per_command,
        max(100, round(THROUGHPUT_REQUESTS * factor)),
        max(300, round(CEILING_REQUESTS * factor)),
    )


async def run(
    ctx: BenchContext, *, profile_to: Path | None = None, commands: Sequence[str] = COMMANDS
) -> list[Figure]:
    per_command, throughput_requests, ceiling_requests = request_counts(ctx.scale)
    texts = {c: t for c, t in command_texts(ctx.dataset).items() if c in commands}
    fake = FakeSlack()
    await fake.start()
    results: list[RunResult] = []
    memory: tuple[float, float] | None = None
    try:
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY * 2)) as http,
            running(
                touchpoint_command(profile_to),
                env=touchpoint_env(ctx.url, fake),
                workdir=ctx.workdir,
                name=f"serve-{ctx.backend}",
            ) as server,
            running(
                ceiling_command(),
                env={"BENCH_SLACK_API_URL": fake.api_url, "BENCH_DATABASE_URL": ctx.url},
                workdir=ctx.workdir,
                name=f"ceiling-{ctx.backend}",
            ) as ceiling,
        ):
            client = Client(http, fake, server.url, ctx.dataset.csm_slack_user_id)
            ceiling_client = Client(http, fake, ceiling.url, ctx.dataset.csm_slack_user_id)
            typos = schedule({"account": command_texts(ctx.dataset)["account"]}, throughput_requests)
            exact = schedule({"ceiling": ceiling_texts(ctx.dataset)}, ceiling_requests)
            await measure_rate(ceiling_client, exact[:200], via_response_url=True)  # warm-up
            for _ in range(ctx.runs):
                timings = await measure_latency(client, texts, per_command)
                touchpoint_rate = await measure_rate(client, typos, via_response_url=True)
                ceiling_rate = await measure_rate(ceiling_client, exact, via_response_url=True)
                results.append(RunResult(timings, touchpoint_rate, ceiling_rate))
            memory = server.memory_mb()
    finally:
        await fake.close()
    return figures(ctx, results, memory, per_command, fake, list(texts))


def figures(
    ctx: BenchContext,
    results: Sequence[RunResult],
    memory: tuple[float, float] | None,
    per_command: int,
    fake: FakeSlack,
    commands: Sequence[str],
) -> list[Figure]:
    accounts = ctx.dataset.counts.get("account", 0)
    out = []
    for command in commands:
        p99 = median(
            [percentile([t.answer_ms for t in r.timings if t.command == command], 99) for r in results]
        )
        p50 = median([median([t.answer_ms for t in r.timings if t.command == command]) for r in results])
        ack99 = median(
            [percentile([t.ack_ms for t in r.timings if t.command == command], 99) for r in results]
        )
        label = {
            "account": "account NAME (typo)",
            "my": f"my ({ctx.dataset.csm_account_count} accounts)",
            "plan": "plan NAME",
        }
        target = latency_target(command, ctx.backend)
        measured = min(sum(1 for t in r.timings if t.command == command) for r in results)
        last = [t for t in results[-1].timings if t.command == command]
        note = f"median {p50:.1f} ms; ack p99 {ack99:.1f} ms"
        if measured < per_command:
            note += (
                f"; only {measured} of {per_command} measured in the {LATENCY_RUN_SECONDS:.0f} s cap of a run"
            )
        if command == "account":
            cards = sum(1 for t in last if ": health" in t.summary)
            note += f"; {cards} of {len(last)} typos (last run) found the card, the rest a choice list"
        out.append(
            Figure(
                name=f"Latency: {label.get(command, command)}, {per_command} requests, {accounts:,} accounts",
                backend=ctx.backend,
                target=f"p99 < {target:.0f} ms",
                measured=f"p99 {p99:.1f} ms",
                passed=p99 < target,
                runs=len(results),
                note=note,
            )
        )
    acks = median([percentile([t.ack_ms for t in r.timings], 99) for r in results])
    ack50 = median([median([t.ack_ms for t in r.timings]) for r in results])
    out.append(
        Figure(
            name=f"Acknowledgement: every request above ({min(len(r.timings) for r in results):,} a run)",
            backend=ctx.backend,
            target=f"p99 < {ACK_LIMIT_MS:.0f} ms",
            measured=f"p99 {acks:.0f} ms",
            passed=acks < ACK_LIMIT_MS,
            runs=len(results),
            note=f"median {ack50:.1f} ms (Slack's limit is 3 s)",
        )
    )
    ratio = median([r.ratio for r in results])
    rate = median([r.touchpoint_rate for r in results])
    ceiling = median([r.ceiling_rate for r in results])
    out.append(
        Figure(
            name=(
                f"Throughput: account NAME (typo) answered end to end, {CONCURRENCY} in flight, "
                "vs bare Bolt + one read"
            ),
            backend=ctx.backend,
            target=f">= {THROUGHPUT_TARGET:.2f}",
            measured=f"{ratio:.2f}",
            passed=ratio >= THROUGHPUT_TARGET,
            runs=len(results),
            note=f"{rate:.0f}/s vs {ceiling:.0f}/s (ratios of the runs: "
            + ", ".join(f"{r.ratio:.2f}" for r in results)
            + ")",
        )
    )
    if memory is not None:
        rss, peak = memory
        out.append(
            Figure(
                name=f"Memory: touchpoint serve after the load test, {accounts:,} accounts",
                backend=ctx.backend,
                target=f"< {MEMORY_TARGET_MB:.0f} MB",
                measured=f"{rss:.0f} MB",
                passed=rss < MEMORY_TARGET_MB,
                runs=1,
                note=f"VmRSS; peak (VmHWM) {peak:.0f} MB"
                + (f"; {fake.stray_answers} stray answers" if fake.stray_answers else ""),
            )
        )
    return out


# ----------------------------------------------------------------------------------------- on its own


@dataclass(frozen=True)
class _Context:
    url: str
    backend: str
    scale: float
    runs: int
    dataset: DatasetInfo
    workdir: Path


async def _standalone(
    backend: str, scale: float, runs: int, profile_to: Path | None, commands: Sequence[str]
) -> list[Figure]:
    import tempfile

    from bench.databases import bench_database
    from bench.dataset import build_dataset

    async with bench_database(backend) as url:
        info = await build_dataset(url, scale)
        print(f"dataset built in {info.seconds:.1f} s", flush=True)
        with tempfile.TemporaryDirectory(prefix="touchpoint_bench_work_") as workdir:
            ctx = _Context(url, backend, scale, runs, info, Path(workdir))
            return await run(ctx, profile_to=profile_to, commands=commands)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The HTTP benchmarks on their own.")
    sub = parser.add_subparsers(dest="mode")
    ceiling = sub.add_parser("ceiling", help="(internal) serve the bare Bolt app with its one read")
    ceiling.add_argument("--host", default="127.0.0.1")
    ceiling.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="run the server under pyinstrument; .html or .txt")
    parser.add_argument(
        "--commands", default=",".join(COMMANDS), help="comma-separated subset of %(default)s"
    )
    args = parser.parse_args(argv)
    if args.mode == "ceiling":
        serve_bare_bolt(args.host, args.port)
        return
    from bot.log import configure

    configure(level="ERROR")
    profile = args.profile.resolve() if args.profile else None
    commands = [c for c in args.commands.split(",") if c in COMMANDS]
    for figure in asyncio.run(_standalone(args.backend, args.scale, args.runs, profile, commands)):
        status = "pass" if figure.passed else "FAIL"
        print(f"{status}  {figure.name}: {figure.measured} (target {figure.target}) {figure.note}")


if __name__ == "__main__":
    main()
