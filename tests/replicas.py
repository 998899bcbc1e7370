"""Real ``touchpoint serve`` processes for the replica tests: started on ephemeral ports against one
database, their JSON log lines read as they come (tests wait on a log event, never on a sleep), and
stopped with SIGTERM or killed with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database


def touchpoint_executable() -> str:
    beside = Path(sys.executable).parent / "touchpoint"
    found = str(beside) if beside.exists() else shutil.which("touchpoint")
    if found is None:
        pytest.skip("the touchpoint command is not installed")
    return found


def free_port() -> int:
    """A port the system has just handed out and released (bound to no one now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def fresh_database(server_url: str | None) -> AsyncIterator[str]:
    """An empty PostgreSQL database of its own (nothing migrated), dropped afterwards."""
    if server_url is None:
        pytest.skip("needs TOUCHPOINT_TEST_DATABASE_URL (PostgreSQL)")
    name = f"touchpoint_replicas_{os.urandom(5).hex()}"
    admin = Database(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        async with admin.engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@dataclass
class Replica:
    name: str
    port: int
    process: asyncio.subprocess.Process
    events: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # anything that was not a JSON log line
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 30.0) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), seconds)

    async def read_logs(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace").strip()
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if isinstance(entry, dict):
                self.events.append(entry)
            elif line:
                self.lines.append(line)
            async with self.changed:
                self.changed.notify_all()
        async with self.changed:  # the process ended: wake whoever waits, to see it
            self.changed.notify_all()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no finishing the message in hand (as a crashed machine)."""
        self.process.kill()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)

    def describe(self) -> str:
        """The end of what it logged, for a failing assertion."""
        tail = [json.dumps(e) for e in self.events[-15:]] + self.lines[-15:]
        return f"{self.name} (exit {self.process.returncode}):\n" + "\n".join(tail)


def replica_environment(database_url: str, **settings: str) -> dict[str, str]:
    """The test's environment without any Touchpoint, Slack or Teams setting, plus ``settings``."""
    prefixes = ("TOUCHPOINT_", "SLACK_", "MICROSOFT")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(prefixes)}
    env.update(
        TOUCHPOINT_DATABASE_URL=database_url,
        TOUCHPOINT_LOG_JSON="true",
        TOUCHPOINT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        **settings,
    )
    return env


async def start_replica(
    name: str, env: dict[str, str], cwd: Path, *, changed: asyncio.Condition | None = None
) -> Replica:
    """Start ``touchpoint serve``; replicas given one ``changed`` condition wake the same waiters."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        touchpoint_executable(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    replica = Replica(name=name, port=port, process=process, changed=changed or asyncio.Condition())
    replica.reader = asyncio.create_task(replica.read_logs())
    return replica


async def until_serving(replica: Replica, seconds: float = 60.0) -> None:
    def up_or_gone() -> bool:
        return bool(replica.of("server_started")) or replica.process.returncode is not None

    await replica.wait_for(up_or_gone, seconds)
    assert replica.of("server_started"), replica.describe()
