"""The servers the HTTP benchmarks talk to, each a subprocess on a free loopback port: ``touchpoint
serve`` (its command and environment) and the ceiling the throughput figure compares with: a bare
slack-bolt app that answers ``account NAME`` with one indexed read of the same database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.http_slack import BOT_TOKEN, SIGNING_SECRET, SLACK_PATH, FakeSlack

START_TIMEOUT_SECONDS = 90.0


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


# ------------------------------------------------------------------------------------------ bare Bolt

# The ceiling's one read: the account by its exact name key (an indexed look-up) and its latest health
# snapshot (the primary key's last entry for the account), in one statement.
CEILING_QUERY = """
SELECT a.id, a.name, a.external_id, a.arr, h.day, h.score, h.band
FROM account AS a
LEFT JOIN health_snapshot AS h ON h.account_id = a.id
    AND h.day = (SELECT max(s.day) FROM health_snapshot AS s WHERE s.account_id = a.id)
WHERE a.name_key = :key
LIMIT 1
"""


def serve_bare_bolt(host: str, port: int) -> None:
    """The ceiling the throughput figure compares with: a slack-bolt AsyncApp behind Touchpoint's own
    aiohttp handler (:func:`adapters.web.slack_handler`) that acknowledges ``/cs account NAME``, reads
    the account and its latest health in one indexed query on the benchmark database, and posts a small
    card to the response_url (one kept-alive connection pool, as Touchpoint's answers use)."""
    from types import SimpleNamespace

    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from slack_sdk.webhook.async_client import AsyncWebhookClient
    from sqlalchemy import text

    from adapters.web import slack_handler
    from storage.db import create_engine
    from storage.names import name_key

    engine = create_engine(os.environ["BENCH_DATABASE_URL"])
    query = text(CEILING_QUERY)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=os.environ["BENCH_SLACK_API_URL"])
    bolt = AsyncApp(client=client, signing_secret=SIGNING_SECRET, process_before_response=False)
    sessions: list[aiohttp.ClientSession] = []

    @bolt.command("/cs")
    async def card(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        name = str(body.get("text", "")).removeprefix("account ")
        async with engine.connect() as connection:
            row = (await connection.execute(query, {"key": name_key(name)})).first()
        if row is None:
            message: dict[str, Any] = {"text": f"No account matches {name}."}
        else:
            health = "not enough data" if row.score is None else f"{row.score:.0f} ({row.band})"
            summary = f"{row.name}: health {health}"
            message = {
                "text": summary,
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": row.name}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": f"*Health {health}*"}},
                    {
                        "type": "context",
                        "elements": [{"type": "mrkdwn", "text": f"ID {row.external_id} | ARR {row.arr}"}],
                    },
                ],
            }
        if not sessions:
            sessions.append(aiohttp.ClientSession())
        webhook = AsyncWebhookClient(url=str(body["response_url"]), session=sessions[0])
        await webhook.send_dict({"response_type": "ephemeral", **message})

    app = web.Application()
    app.router.add_get("/healthz", lambda _request: _ok())
    app.router.add_post(SLACK_PATH, slack_handler(SimpleNamespace(app=bolt)))  # type: ignore[arg-type]
    web.run_app(app, host=host, port=port, print=None, access_log=None)


async def _ok() -> web.Response:
    return web.Response(text="ok")
