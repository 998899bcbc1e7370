"""Slash commands through the real HTTP stack: latency, throughput against bare Bolt, and memory.

``touchpoint serve`` runs as a subprocess against the benchmark database, with Slack pointed at a fake
Web API in this process (whose ``/respond/...`` URLs stand in for Slack's response_url). Requests are
signed exactly as Slack signs them. Three figures per backend:

1. Latency of ``account NAME`` (one letter of a real name changed), ``my`` (a CSM owning about 20
   accounts), ``risk`` and ``renewals``: one request at a time, commands interleaved, after a warm-up.
   Latency is from sending the request to the answer arriving at the response_url (what a person waits
   for); the acknowledgement time (Slack's 3-second limit) is reported too.
2. Throughput: commands answered end to end per second with 16 requests in flight, divided by what a
   bare slack-bolt ``AsyncApp`` answering ``ack("ok")`` achieves behind the same aiohttp handler (also a
   subprocess), measured in the same run.
3. Memory: the resident size (VmRSS) of the serve process after all of that.

The scheduler is off in the serve process (its jobs would fire on their own clock in the middle of a
measurement); the delivery worker runs as in production. Run on its own, with the server under
pyinstrument::

    .venv/bin/python bench/http_bench.py --backend sqlite --scale 0.02 --profile /tmp/serve.html

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
    command_texts,
    measure_latency,
    measure_rate,
    schedule,
)
from bench.http_servers import running, serve_bare_bolt, touchpoint_command, touchpoint_env  # noqa: E402
from bench.http_slack import FakeSlack  # noqa: E402

LATENCY_REQUESTS = 2000  # in total, split evenly over COMMANDS
LATENCY_TARGET_MS = 100.0
ACK_LIMIT_MS = 3000.0  # Slack gives up on an acknowledgement after 3 seconds
THROUGHPUT_REQUESTS = 800
BARE_REQUESTS = 3000
THROUGHPUT_TARGET = 0.5
MEMORY_TARGET_MB = 300.0
COMMANDS = ("account", "my", "risk", "renewals")


def bare_bolt_command() -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "bare-bolt"]


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    timings: list[Timing]
    touchpoint_rate: float
    bare_rate: float

    @property
    def ratio(self) -> float:
        return self.touchpoint_rate / self.bare_rate


def request_counts(scale: float) -> tuple[int, int, int]:
    """(latency requests per command, throughput requests, bare requests): the issue's numbers at scale
    1.0, fewer for a quick check at a small scale."""
    factor = min(1.0, scale)
    per_command = max(25, round(LATENCY_REQUESTS / len(COMMANDS) * factor))
    return per_command, max(100, round(THROUGHPUT_REQUESTS * factor)), max(300, round(BARE_REQUESTS * factor))


async def run(
    ctx: BenchContext, *, profile_to: Path | None = None, commands: Sequence[str] = COMMANDS
) -> list[Figure]:
    per_command, throughput_requests, bare_requests = request_counts(ctx.scale)
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
                bare_bolt_command(),
                env={"BENCH_SLACK_API_URL": fake.api_url},
                workdir=ctx.workdir,
                name="bare-bolt",
            ) as bare,
        ):
            client = Client(http, fake, server.url, ctx.dataset.csm_slack_user_id)
            bare_client = Client(http, fake, bare.url, ctx.dataset.csm_slack_user_id)
            mix = schedule(texts, throughput_requests // len(texts))
            bare_plan = [("bare", "help")] * bare_requests
            await measure_rate(bare_client, bare_plan[:200], via_response_url=False)  # warm-up
            for _ in range(ctx.runs):
                timings = await measure_latency(client, texts, per_command)
                touchpoint_rate = await measure_rate(client, mix, via_response_url=True)
                bare_rate = await measure_rate(bare_client, bare_plan, via_response_url=False)
                results.append(RunResult(timings, touchpoint_rate, bare_rate))
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
        label = {"account": "account NAME (typo)", "my": f"my ({ctx.dataset.csm_account_count} accounts)"}
        measured = min(sum(1 for t in r.timings if t.command == command) for r in results)
        last = [t for t in results[-1].timings if t.command == command]
        note = f"median {p50:.0f} ms; ack p99 {ack99:.0f} ms"
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
                target=f"p99 < {LATENCY_TARGET_MS:.0f} ms",
                measured=f"p99 {p99:.0f} ms",
                passed=p99 < LATENCY_TARGET_MS,
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
    bare = median([r.bare_rate for r in results])
    out.append(
        Figure(
            name=f"Throughput: commands answered end to end, {CONCURRENCY} in flight, vs bare Bolt ack",
            backend=ctx.backend,
            target=f">= {THROUGHPUT_TARGET:.2f}",
            measured=f"{ratio:.2f}",
            passed=ratio >= THROUGHPUT_TARGET,
            runs=len(results),
            note=f"{rate:.0f}/s vs {bare:.0f}/s",
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
    bare = sub.add_parser("bare-bolt", help="(internal) serve the bare Bolt app")
    bare.add_argument("--host", default="127.0.0.1")
    bare.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="run the server under pyinstrument; .html or .txt")
    parser.add_argument(
        "--commands", default=",".join(COMMANDS), help="comma-separated subset of %(default)s"
    )
    args = parser.parse_args(argv)
    if args.mode == "bare-bolt":
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
