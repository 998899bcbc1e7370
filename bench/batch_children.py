"""Work the batch benchmarks run in a subprocess of its own, so that its time and peak memory are its
own: starting a child of :mod:`bench.batch_bench`, reading what it reports, and the two figures (time
and peak memory) such a run gives."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import Figure

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


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


def record_peak_at_exit() -> None:
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


def child_env(url: str) -> dict[str, str]:
    """Settings for a child: this database, UTC, errors only; nothing read from a local .env."""
    return {
        "TOUCHPOINT_DATABASE_URL": url,
        "TOUCHPOINT_DEFAULT_TIMEZONE": "UTC",
        "TOUCHPOINT_LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(ROOT),
    }


def _mb(value: float) -> str:
    return f"{value / MB:.0f} MB"


def time_and_peak(
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
