"""The CLI's finish: progress bars on a terminal only (``demo-data``, ``outcomes check``; ``health
recompute --since`` in test_cli_health), and ``serve --help`` listing what it serves."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from adapters.cli import demo, outcomes
from adapters.cli.main import app
from adapters.cli.progress import progress_bar
from adapters.cli.support import console
from bot.settings import get_settings
from tests.cli_progress import record_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("TOUCHPOINT_", "SLACK_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'touchpoint.db'}")
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    monkeypatch.setenv("TOUCHPOINT_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str) -> Result:
    width = console.width
    console.width = 200
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        console.width = width


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    with progress_bar() as steps:
        advance = steps.task("Counting", 3)
        advance(3)
    assert quiet.getvalue() == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar() as steps:
        advance = steps.task("Counting", 3)
        advance(2)
        advance(1)
    assert terminal.getvalue() != ""  # drawn live (and taken away when done: transient)


def test_demo_data_and_the_outcome_check_report_progress(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_tasks = record_progress(monkeypatch, demo)
    result = invoke("demo-data", "--accounts", "12")
    assert result.exit_code == 0, result.output
    assert demo_tasks == {"Inventing 12 accounts": [1, 1], "Computing their health history": [31, 31]}

    check_tasks = record_progress(monkeypatch, outcomes)
    result = invoke("outcomes", "check")
    assert result.exit_code == 0, result.output
    [(total, done)] = check_tasks.values()
    assert total == done > 0
    assert f"Checked {total} accounts with open measurable outcomes" in result.output


def test_serve_help_lists_what_it_serves() -> None:
    result = invoke("serve", "--help")
    assert result.exit_code == 0
    for served in (
        "/slack/events",
        "/api/messages",
        "/api/v1/",
        "/healthz",
        "/readyz",
        "/metrics",
        "Socket Mode",
    ):
        assert served in result.output
