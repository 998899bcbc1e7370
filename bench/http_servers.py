"""The servers the HTTP benchmarks talk to, each a subprocess on a free loopback port: ``touchpoint
serve`` (its command and environment) and the bare slack-bolt app the throughput figure compares with."""

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
