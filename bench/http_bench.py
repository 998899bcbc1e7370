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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench.*`` importable
    sys.path.insert(0, str(ROOT))

from bench.common import BenchContext, Figure, median, percentile  # noqa: E402
from bench.dataset import DatasetInfo  # noqa: E402

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-bench-token"
TEAM_ID = "T0BENCH01"
CHANNEL_ID = "C0BENCH01"
SLACK_PATH = "/slack/events"

LATENCY_REQUESTS = 2000  # in total, split evenly over COMMANDS
WARMUP_PER_COMMAND = 10
LATENCY_TARGET_MS = 100.0
ACK_LIMIT_MS = 3000.0  # Slack gives up on an acknowledgement after 3 seconds
THROUGHPUT_REQUESTS = 800
BARE_REQUESTS = 3000
# Time caps, so a command far off its target cannot stretch a run to hours: the figures then say how
# many requests were measured.
LATENCY_RUN_SECONDS = 240.0
THROUGHPUT_RUN_SECONDS = 40.0
CONCURRENCY = 16
THROUGHPUT_TARGET = 0.5
MEMORY_TARGET_MB = 300.0
ANSWER_TIMEOUT_SECONDS = 30.0
START_TIMEOUT_SECONDS = 90.0
COMMANDS = ("account", "my", "risk", "renewals")
FAILED_ANSWERS = ("Something went wrong", "not registered", "I don't know the command")


# ----------------------------------------------------------------------------------- signed requests


def signed_slash_command(text: str, *, user_id: str, response_url: str) -> tuple[bytes, dict[str, str]]:
    """A ``/cs`` slash command as Slack sends it: form-encoded, signed v0=HMAC-SHA256 of the body."""
    body = urlencode(
        {
            "token": "unused",
            "team_id": TEAM_ID,
            "team_domain": "bench",
            "channel_id": CHANNEL_ID,
            "channel_name": "cs",
            "user_id": user_id,
            "user_name": "bench",
            "command": "/cs",
            "text": text,
            "api_app_id": "A0BENCH01",
            "response_url": response_url,
            "trigger_id": "trigger.bench",
        }
    )
    timestamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    return body.encode(), headers


def typo(name: str) -> str:
    """``name`` with one letter of its longest word changed (the next letter of the alphabet)."""
    words = name.split(" ")
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    at = len(word) // 2
    letter = word[at].lower()
    replacement = "a" if letter == "z" else chr(ord(letter) + 1) if letter.isalpha() else "x"
    words[longest] = word[:at] + replacement + word[at + 1 :]
    return " ".join(words)


def command_texts(dataset: DatasetInfo) -> dict[str, list[str]]:
    """The texts sent per command; ``account`` cycles through typos of the dataset's sample names."""
    return {
        "account": [f"account {typo(name)}" for name in dataset.sample_account_names],
        "my": ["my"],
        "risk": ["risk"],
        "renewals": ["renewals"],
    }


# ----------------------------------------------------------------------------------------- fake Slack


@dataclass
class FakeSlack:
    """The Web API methods the server may call, and response_url endpoints that note when an answer
    arrived (``perf_counter``) and what it said."""

    runner: web.AppRunner | None = None
    port: int = 0
    waiting: dict[str, asyncio.Future[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)
    stray_answers: int = 0

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{token}", self._respond)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def expect(self, token: str) -> tuple[str, asyncio.Future[tuple[float, dict[str, Any]]]]:
        future: asyncio.Future[tuple[float, dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.waiting[token] = future
        return f"http://127.0.0.1:{self.port}/respond/{token}", future

    async def _respond(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        body = await request.read()
        future = self.waiting.pop(request.match_info["token"], None)
        if future is None or future.done():
            self.stray_answers += 1
        else:
            future.set_result((arrived, json.loads(body or b"{}")))
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.api_calls[method] = self.api_calls.get(method, 0) + 1
        await request.read()
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "user_id": "UBOTBENCH", "bot_id": "BBENCH", "team_id": TEAM_ID, "team": "Bench"}
            )
        if method == "users.info":
            return web.json_response({"ok": False, "error": "user_not_found"})
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": "DBENCH"}})
        return web.json_response({"ok": True, "channel": CHANNEL_ID, "ts": f"{time.time():.6f}"})


# ---------------------------------------------------------------------------------------- the servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SLACK_PATH}"

    def memory_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the process in MB: resident now, and the most it ever was."""
        values: dict[str, float] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return values["VmRSS"], values["VmHWM"]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def touchpoint_command(profile_to: Path | None) -> list[str]:
    """``touchpoint serve`` as installed beside this Python, under pyinstrument if asked."""
    script = Path(sys.executable).with_name("touchpoint")
    if not script.exists():
        raise RuntimeError(f"{script} is missing: install the project (make install)")
    if profile_to is None:
        return [str(script), "serve"]
    renderer = "html" if profile_to.suffix == ".html" else "text"
    return [sys.executable, "-m", "pyinstrument", "-r", renderer, "-o", str(profile_to), str(script), "serve"]


@contextlib.asynccontextmanager
async def running(
    command: Sequence[str], *, env: dict[str, str], workdir: Path, name: str
) -> AsyncIterator[ServerProcess]:
    """Start a server subprocess on a free loopback port, wait until /healthz answers, and stop it
    (SIGINT, then SIGKILL after 30 s) when done, whatever happened."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    full_env = {**os.environ, **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: ASYNC220 (returns at once; the waits below are async)
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=full_env,
            cwd=workdir,  # no .env or touchpoint.toml of a checkout is read
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = ServerProcess(process=process, port=port, log_path=log_path)
    try:
        await wait_healthy(server)
        yield server
    finally:
        await stop(process)


async def wait_healthy(server: ServerProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz in {START_TIMEOUT_SECONDS:.0f} s")


async def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        for _ in range(300):
            if process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        process.kill()
    process.wait()


def touchpoint_env(url: str, fake: FakeSlack) -> dict[str, str]:
    return {
        "TOUCHPOINT_DATABASE_URL": url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "TOUCHPOINT_SLACK_API_URL": fake.api_url,
        "TOUCHPOINT_SCHEDULER_ENABLED": "false",
        "TOUCHPOINT_CONFIG_FILE": "absent-touchpoint.toml",
        "TOUCHPOINT_LOG_JSON": "true",
        "TOUCHPOINT_TEAMS_ENABLED": "false",
    }


def bare_bolt_command() -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "bare-bolt"]


# ---------------------------------------------------------------------------------------- measurement


@dataclass
class Timing:
    command: str
    ack_ms: float
    answer_ms: float
    summary: str


class Client:
    """Sends signed slash commands to one server and waits for their answers at the fake."""

    def __init__(self, http: aiohttp.ClientSession, fake: FakeSlack, server_url: str, user_id: str) -> None:
        self.http = http
        self.fake = fake
        self.server_url = server_url
        self.user_id = user_id
        self.sent = 0

    async def command(self, command: str, text: str, *, via_response_url: bool = True) -> Timing:
        self.sent += 1
        response_url, answered = self.fake.expect(f"r{self.sent}")
        body, headers = signed_slash_command(text, user_id=self.user_id, response_url=response_url)
        started = time.perf_counter()
        async with self.http.post(self.server_url, data=body, headers=headers) as response:
            ack_body = await response.read()
            acked = time.perf_counter()
            if response.status != 200:
                raise RuntimeError(f"{text!r}: HTTP {response.status} {ack_body[:200]!r}")
        if not via_response_url:
            self.fake.waiting.pop(f"r{self.sent}", None)
            return Timing(command, (acked - started) * 1000, (acked - started) * 1000, ack_body.decode())
        arrived, message = await asyncio.wait_for(answered, ANSWER_TIMEOUT_SECONDS)
        summary = str(message.get("text", ""))
        if any(marker in summary for marker in FAILED_ANSWERS):
            raise RuntimeError(f"{text!r} was answered with an error: {summary[:200]}")
        return Timing(command, (acked - started) * 1000, (arrived - started) * 1000, summary)


def schedule(texts: dict[str, list[str]], per_command: int) -> list[tuple[str, str]]:
    """The commands of ``texts`` interleaved (account, my, risk, renewals, account, ...), ``per_command``
    of each."""
    plan = []
    for i in range(per_command):
        for command in texts:
            options = texts[command]
            plan.append((command, options[i % len(options)]))
    return plan


async def measure_latency(client: Client, texts: dict[str, list[str]], per_command: int) -> list[Timing]:
    """One request at a time, after a warm-up; stops early (between requests) after LATENCY_RUN_SECONDS."""
    for command, text in schedule(texts, WARMUP_PER_COMMAND):
        await client.command(command, text)
    deadline = time.monotonic() + LATENCY_RUN_SECONDS
    timings = []
    for command, text in schedule(texts, per_command):
        if time.monotonic() > deadline:
            break
        timings.append(await client.command(command, text))
    return timings


async def measure_rate(client: Client, plan: Sequence[tuple[str, str]], *, via_response_url: bool) -> float:
    """Requests of ``plan`` answered per second with CONCURRENCY in flight (no new request is started
    after THROUGHPUT_RUN_SECONDS; the rate counts those answered)."""
    queue = list(reversed(plan))
    deadline = time.monotonic() + THROUGHPUT_RUN_SECONDS
    done = 0

    async def worker() -> None:
        nonlocal done
        while queue and time.monotonic() < deadline:
            command, text = queue.pop()
            await client.command(command, text, via_response_url=via_response_url)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started)


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


# ------------------------------------------------------------------------------------------ bare Bolt


def serve_bare_bolt(host: str, port: int) -> None:
    """A slack-bolt AsyncApp that acknowledges ``/cs`` with "ok", behind Touchpoint's own aiohttp
    handler (:func:`adapters.web.slack_handler`): the ceiling the throughput figure compares with."""
    from types import SimpleNamespace

    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.web import slack_handler

    client = AsyncWebClient(token=BOT_TOKEN, base_url=os.environ["BENCH_SLACK_API_URL"])
    bolt = AsyncApp(client=client, signing_secret=SIGNING_SECRET, process_before_response=False)

    @bolt.command("/cs")
    async def acknowledge(ack: AsyncAck) -> None:
        await ack("ok")

    app = web.Application()
    app.router.add_get("/healthz", lambda _request: _ok())
    app.router.add_post(SLACK_PATH, slack_handler(SimpleNamespace(app=bolt)))  # type: ignore[arg-type]
    web.run_app(app, host=host, port=port, print=None, access_log=None)


async def _ok() -> web.Response:
    return web.Response(text="ok")


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

    from bench.dataset import bench_database, build_dataset

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
