"""A bad setting, a bad configuration file, an unreachable database or a busy port: through the real
``touchpoint`` command, each is one line on stderr naming the setting and the fix, nothing on stdout,
exit status 1, and no traceback, however narrow the terminal."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.test_console import touchpoint

Expected = Callable[[Path, int], str]


@dataclass(frozen=True)
class Case:
    env: dict[str, str]
    expected: Expected
    config: str | None = None  # touchpoint.toml's text
    args: tuple[str, ...] = ("serve",)
    ids: list[str] = field(default_factory=list)


def free_port() -> int:
    """A loopback port nothing listens on (taken from the system, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(tmp_path: Path) -> dict[str, str]:
    names = ("TOUCHPOINT_", "SLACK_", "MICROSOFT", "HUBSPOT_", "SALESFORCE_")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(names)}
    env.update(
        TOUCHPOINT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'touchpoint.db'}",
        TOUCHPOINT_CONFIG_FILE=str(tmp_path / "touchpoint.toml"),
        PYTHONIOENCODING="utf-8",
        COLUMNS="60",  # narrower than every line: still one line
    )
    return env


CASES: dict[str, Case] = {
    "bad MicrosoftAppType": Case(
        {"MicrosoftAppType": "Bad"},
        lambda _t, _p: (
            "MicrosoftAppType: 'Bad' is not an app type; write MultiTenant, SingleTenant or "
            "UserAssignedMSI (the Azure Bot's type)"
        ),
    ),
    "bad log level": Case(
        {"TOUCHPOINT_LOG_LEVEL": "LOUD"},
        lambda _t, _p: "TOUCHPOINT_LOG_LEVEL: 'LOUD' is not a log level; write DEBUG, INFO, WARNING or ERROR",
    ),
    "bad currency": Case(
        {"TOUCHPOINT_CURRENCY": "dollars"},
        lambda _t, _p: (
            "TOUCHPOINT_CURRENCY: 'dollars' is not an ISO 4217 currency code; write one such as "
            "USD, EUR or GBP"
        ),
    ),
    "bad time zone": Case(
        {"TOUCHPOINT_DEFAULT_TIMEZONE": "Mars/Base"},
        lambda _t, _p: (
            "TOUCHPOINT_DEFAULT_TIMEZONE: 'Mars/Base' is not a time zone; write an IANA name such "
            "as Europe/Berlin or UTC"
        ),
    ),
    "bad number": Case(
        {"TOUCHPOINT_DIGEST_GRACE_MINUTES": "two hours"},
        lambda _t, _p: (
            "TOUCHPOINT_DIGEST_GRACE_MINUTES: input should be a valid integer, unable to parse "
            "string as an integer (got 'two hours')"
        ),
    ),
    "another database": Case(
        {"TOUCHPOINT_DATABASE_URL": "mysql://tp:hunter2@db/tp"},
        lambda _t, _p: (
            "TOUCHPOINT_DATABASE_URL: Touchpoint runs on SQLite or PostgreSQL, not 'mysql'; write "
            "sqlite+aiosqlite:///./touchpoint.db or postgresql+asyncpg://USER:PASSWORD@HOST:5432/touchpoint"
        ),
    ),
    "another driver, password hidden": Case(
        {"TOUCHPOINT_DATABASE_URL": "postgresql+psycopg2://tp:hunter2@db/tp"},
        lambda _t, _p: (
            "TOUCHPOINT_DATABASE_URL: Touchpoint uses the postgresql+asyncpg driver, not "
            "'psycopg2'; write postgresql+asyncpg://tp:***@db/tp"
        ),
    ),
    "postgres:// is taken as PostgreSQL, then not reachable": Case(
        {"TOUCHPOINT_DATABASE_URL": "postgres://tp:hunter2@127.0.0.1:{port}/tp"},
        lambda _t, port: (
            f"TOUCHPOINT_DATABASE_URL: cannot connect to 127.0.0.1:{port} (connection refused); "
            "is the database running?"
        ),
    ),
    "no folder for the SQLite file": Case(
        {"TOUCHPOINT_DATABASE_URL": "sqlite+aiosqlite:///{tmp}/missing/touchpoint.db"},
        lambda tmp, _p: (
            f"TOUCHPOINT_DATABASE_URL: cannot create the SQLite file {tmp}/missing/touchpoint.db: "
            f"no folder {tmp}/missing; create it or fix the URL"
        ),
    ),
    "not TOML": Case(
        {},
        lambda tmp, _p: (
            f"{tmp}/touchpoint.toml: not valid TOML: Expected ']' at the end of a table "
            "declaration (at line 1, column 8); fix the file (or point TOUCHPOINT_CONFIG_FILE elsewhere)"
        ),
        config="[health\nx = 1\n",
    ),
    "a typo in [feedback]": Case(
        {},
        lambda tmp, _p: (
            f"{tmp}/touchpoint.toml: feedback.cx_chanel: unknown key (expected one of "
            "['cs_channel', 'cx_channel', 'cx_tags', 'escalate_after_business_days', 'strongly_negative', "
            "'theme_days', 'theme_min_accounts'])"
        ),
        config='[feedback]\ncx_chanel = "slack:C0123"\n',
    ),
    "a typo in [health]": Case(
        {},
        lambda tmp, _p: (
            f"{tmp}/touchpoint.toml: health.weights.npz: unknown component (known: "
            "license_utilisation, usage_trend, feature_adoption, nps, csat, ces, support_load, "
            "engagement_recency, milestone_progress, success_plan)"
        ),
        config="[health.weights]\nnpz = 5\n",
    ),
    "an unknown table": Case(
        {},
        lambda tmp, _p: (
            f"{tmp}/touchpoint.toml: feedbak: unknown table (the file holds [health], [feedback] "
            "and [connectors.*]); fix or remove it"
        ),
        config='[feedbak]\ncx_channel = "slack:C0123"\n',
    ),
    "half-configured Slack": Case(
        {"SLACK_BOT_TOKEN": "xoxb-test"},
        lambda _t, _p: (
            "SLACK_SIGNING_SECRET: not set, so Slack's requests cannot be verified; copy the "
            "Signing Secret from the app's Basic Information page (or set SLACK_APP_TOKEN for Socket Mode)"
        ),
    ),
    "other commands: summary, database not reachable": Case(
        {"TOUCHPOINT_DATABASE_URL": "postgresql+asyncpg://tp@127.0.0.1:{port}/tp"},
        lambda _t, port: (
            f"TOUCHPOINT_DATABASE_URL: cannot connect to 127.0.0.1:{port} (connection refused); "
            "is the database running?"
        ),
        args=("summary",),
    ),
    "other commands: console, bad setting": Case(
        {"MicrosoftAppType": "Bad"},
        lambda _t, _p: (
            "MicrosoftAppType: 'Bad' is not an app type; write MultiTenant, SingleTenant or "
            "UserAssignedMSI (the Azure Bot's type)"
        ),
        args=("console", "--as", "maya.chen@example.com"),
    ),
    "other commands: health recompute, a typo in [health]": Case(
        {},
        lambda tmp, _p: (
            f"{tmp}/touchpoint.toml: health.thresholds.gren: unknown key (expected one of: green, yellow)"
        ),
        config="[health.thresholds]\ngren = 70\n",
        args=("health", "recompute"),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_one_line_and_exit_status_1(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    port = free_port()
    env = clean_env(tmp_path)
    env.update({k: v.format(port=port, tmp=tmp_path) for k, v in case.env.items()})
    if case.config is not None:
        (tmp_path / "touchpoint.toml").write_text(case.config, encoding="utf-8")
    args = case.args + (("--host", "127.0.0.1", "--port", str(port)) if case.args == ("serve",) else ())
    done = touchpoint(*args, cwd=tmp_path, env=env)
    assert done.stderr.splitlines() == [f"touchpoint: {case.expected(tmp_path, port)}"]
    assert done.stdout == ""
    assert done.returncode == 1
    assert "hunter2" not in done.stderr


def test_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = touchpoint(
            "serve", "--host", "127.0.0.1", "--port", str(port), cwd=tmp_path, env=clean_env(tmp_path)
        )
    assert done.stderr.splitlines() == [
        f"touchpoint: --port {port}: 127.0.0.1:{port} is already in use (another touchpoint serve?); stop "
        "that process or choose another --port"
    ]
    assert (done.stdout, done.returncode) == ("", 1)
