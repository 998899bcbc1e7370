"""Run every benchmark on SQLite and PostgreSQL and print one table (``make bench``).

For each backend: a fresh database (a SQLite file in a temporary directory, or a PostgreSQL database
``touchpoint_bench_<random>`` that is dropped at the end, also on errors and Ctrl-C), the benchmark
portfolio built into it (:mod:`bench.dataset`), then ``async def run(ctx) -> list[Figure]`` of every
module ``bench/*_bench.py`` in name order. The table goes to the terminal (rich) or stdout (plain text),
and as Markdown to ``bench/results.md`` with the machine it was measured on. Exit code 1 when a figure
misses its target.

    .venv/bin/python bench/run.py                       # everything, both backends, 3 runs, full size
    .venv/bin/python bench/run.py --scale 0.02 --runs 1 --backend sqlite --only http
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import platform
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench.*`` importable
    sys.path.insert(0, str(ROOT))

from bench.common import BenchContext, Figure  # noqa: E402
from bench.databases import POSTGRES_ADMIN_URL, bench_database  # noqa: E402
from bench.dataset import build_dataset  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.md"
BACKENDS = ("sqlite", "postgresql")
NO_TARGET = "-"


Runner = Callable[[BenchContext], Awaitable[list[Figure]]]


# ---------------------------------------------------------------------------------------- discovery


def benchmark_modules(only: str | None = None) -> list[tuple[str, Runner]]:
    """``bench/*_bench.py`` with an ``async def run(ctx)``, by name; ``only`` picks one (``http`` or
    ``http_bench``)."""
    found = []
    for path in sorted(BENCH_DIR.glob("*_bench.py")):
        name = path.stem
        short = name.removesuffix("_bench")
        if only and only not in (name, short):
            continue
        module: ModuleType = importlib.import_module(f"bench.{name}")
        runner = getattr(module, "run", None)
        if runner is None or not inspect.iscoroutinefunction(runner):
            continue
        found.append((short, runner))
    if only and not found:
        known = ", ".join(p.stem.removesuffix("_bench") for p in sorted(BENCH_DIR.glob("*_bench.py")))
        raise SystemExit(f"no benchmark named {only!r} (known: {known})")
    return found


# ---------------------------------------------------------------------------------------------- running


async def run_backend(
    backend: str, modules: Sequence[tuple[str, Runner]], *, scale: float, runs: int, seed: int
) -> list[Figure]:
    figures: list[Figure] = []
    async with bench_database(backend) as url:
        print(f"[{backend}] building the dataset (scale {scale:g}) ...", flush=True)
        info = await build_dataset(url, scale, seed)
        rows = sum(info.counts.values())
        print(f"[{backend}] dataset: {rows:,} rows in {info.seconds:.1f} s", flush=True)
        figures.append(
            Figure(
                name=f"Dataset: {info.counts.get('account', 0):,} accounts, {rows:,} rows",
                backend=backend,
                target=NO_TARGET,
                measured=f"{info.seconds:.1f} s",
                passed=True,
                note=", ".join(f"{k} {v:.1f} s" for k, v in info.phase_seconds.items() if v >= 0.5),
            )
        )
        with tempfile.TemporaryDirectory(prefix="touchpoint_bench_work_") as workdir:
            ctx = BenchContext(
                url=url, backend=backend, scale=scale, runs=runs, dataset=info, workdir=Path(workdir)
            )
            figures += await run_modules(ctx, modules)
    return figures


async def run_modules(ctx: BenchContext, modules: Sequence[tuple[str, Runner]]) -> list[Figure]:
    figures: list[Figure] = []
    backend = ctx.backend
    for name, runner in modules:
        print(f"[{backend}] {name} ...", flush=True)
        started = time.perf_counter()
        try:
            got = await runner(ctx)
        except Exception as error:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            got = [
                Figure(
                    name=f"{name}: crashed",
                    backend=backend,
                    target="runs",
                    measured=type(error).__name__,
                    passed=False,
                    note=str(error)[:200],
                )
            ]
        print(f"[{backend}] {name} done in {time.perf_counter() - started:.0f} s", flush=True)
        figures.extend(got)
    return figures


# ---------------------------------------------------------------------------------------------- output


HEADERS = ("Figure", "Backend", "Target", "Measured", "Runs", "Result", "Note")


def result_word(figure: Figure) -> str:
    if figure.target == NO_TARGET:
        return NO_TARGET
    return "pass" if figure.passed else "FAIL"


def table_rows(figures: Sequence[Figure]) -> list[tuple[str, ...]]:
    return [(f.name, f.backend, f.target, f.measured, str(f.runs), result_word(f), f.note) for f in figures]


def print_table(figures: Sequence[Figure]) -> None:
    rows = table_rows(figures)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Touchpoint benchmarks")
        for header in HEADERS:
            table.add_column(header, overflow="fold")
        for row in rows:
            style = "red" if row[5] == "FAIL" else None
            table.add_row(*row, style=style)
        Console().print(table)
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    print("  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def markdown(figures: Sequence[Figure], machine: dict[str, str], options: str) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# Benchmark results",
        "",
        f"Measured {machine['date']} with `{options}`.",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items() if k != "date") + ".",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table_rows(figures)]
    return "\n".join(lines) + "\n"


def machine_info(postgres_version: str | None) -> dict[str, str]:
    cpu = platform.processor() or "unknown CPU"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    except OSError:
        pass
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
    }
    if postgres_version:
        info["PostgreSQL"] = postgres_version
    return info


async def postgres_version() -> str | None:
    import asyncpg

    try:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


# ----------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run Touchpoint's benchmarks and print one table.")
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--only", help="one benchmark module, e.g. http (bench/http_bench.py)")
    parser.add_argument("--scale", type=float, default=1.0, help="dataset size factor (1.0: the issue's)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="Markdown output (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.runs < 1:
        parser.error("--scale must be positive and --runs at least 1")
    return args


async def main_async(args: argparse.Namespace, command_line: str) -> int:
    from bot.log import configure

    configure(level="ERROR")  # the bot logs every request; the table is what matters here
    modules = benchmark_modules(args.only)
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    figures: list[Figure] = []
    for backend in backends:
        figures += await run_backend(backend, modules, scale=args.scale, runs=args.runs, seed=args.seed)
    print()
    print_table(figures)
    pg = await postgres_version() if "postgresql" in backends else None
    args.results.write_text(markdown(figures, machine_info(pg), command_line))
    shown = args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results
    print(f"\nwritten to {shown}")
    return 0 if all(f.passed for f in figures) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    shown: list[Any] = ["bench/run.py", *(sys.argv[1:] if argv is None else argv)]
    try:
        return asyncio.run(main_async(args, " ".join(str(a) for a in shown)))
    except KeyboardInterrupt:
        print("interrupted; the benchmark databases were removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
