"""What the CLI prints: a command's answer and the warnings, not the information lines of the log,
unless ``--verbose`` or TOUCHPOINT_LOG_LEVEL asks for them; ``serve`` logs as a service does.

Through the real ``touchpoint`` command: piped (stdout and stderr captured) and on a terminal (a
pseudo-terminal, so the progress bars and readable log lines are what a person sees).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.cli.support import log_choice
from tests.test_console import touchpoint_executable

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SUMMARY = "Imported 3 surveys rows from surveys.csv: 3 new, 0 updated, 0 unchanged."
SENT = "Sent 2 detractor comments to their CSMs as feedback."
INFO_EVENT = "feedback_from_surveys"  # one of the information lines a survey import logs
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# ------------------------------------------------------------------------------------------ the choice


@pytest.mark.parametrize(
    ("level", "json_lines", "verbose", "service", "expected"),
    [
        (None, None, False, False, ("WARNING", False)),  # a command: warnings, readable
        (None, None, True, False, ("INFO", False)),  # --verbose: the information lines too
        ("DEBUG", None, False, False, ("DEBUG", False)),  # asked for explicitly
        ("INFO", True, False, False, ("INFO", True)),  # JSON when asked for
        ("ERROR", None, True, False, ("INFO", False)),  # --verbose outweighs a quieter setting
        ("DEBUG", None, True, False, ("DEBUG", False)),  # ... but never hides what was asked for
        (None, None, False, True, ("INFO", None)),  # serve: INFO, JSON unless on a terminal
        ("WARNING", False, False, True, ("WARNING", False)),
    ],
)
def test_log_choice(
    level: str | None,
    json_lines: bool | None,
    verbose: bool,
    service: bool,
    expected: tuple[str, bool | None],
) -> None:
    assert log_choice(level, json_lines, verbose=verbose, service=service) == expected


# ---------------------------------------------------------------------------------------- the real CLI


def _env(database: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOUCHPOINT_", "SLACK_", "Microsoft"))}
    env.update(
        TOUCHPOINT_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        TOUCHPOINT_CONFIG_FILE=str(database.parent / "touchpoint.toml"),
        TOUCHPOINT_DEFAULT_TIMEZONE="UTC",
        PYTHONIOENCODING="utf-8",
        COLUMNS="200",
        TERM="xterm-256color",
    )
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def _piped(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [touchpoint_executable(), *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def _on_a_terminal(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``touchpoint ARGS`` with stdout and stderr on a pseudo-terminal; its exit code and all it wrote."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [touchpoint_executable(), *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env=env,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = datetime.now(UTC) + timedelta(seconds=120)
    try:
        while datetime.now(UTC) < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the fixture people and accounts, imported once through the CLI."""
    workdir = tmp_path_factory.mktemp("portfolio")
    database = workdir / "touchpoint.db"
    for kind in ("people", "accounts"):
        shutil.copy(FIXTURES / f"{kind}.csv", workdir / f"{kind}.csv")
        done = _piped("import", kind, f"{kind}.csv", cwd=workdir, env=_env(database))
        assert done.returncode == 0, done.stderr
    return database


@pytest.fixture
def workdir(tmp_path: Path, portfolio: Path) -> Path:
    """The portfolio's database and a surveys file with two detractors who left a comment, answered
    two days ago (so they become feedback items)."""
    shutil.copyfile(portfolio, tmp_path / "touchpoint.db")
    answered = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0).isoformat()
    (tmp_path / "surveys.csv").write_text(
        "account_external_id,kind,score,comment,submitted_at,external_id\n"
        f"ACME-1,nps,2,Reports time out every morning.,{answered},s-1\n"
        f"SG-7,csat,1,Nobody answers our tickets.,{answered},s-2\n"
        f"GLOBEX,nps,10,Great onboarding.,{answered},s-3\n",
        encoding="utf-8",
    )
    return tmp_path


def test_a_piped_import_prints_the_summary_and_no_log_lines(workdir: Path) -> None:
    done = _piped("import", "surveys", "surveys.csv", cwd=workdir, env=_env(workdir / "touchpoint.db"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{SUMMARY}\n{SENT}\n"
    assert done.stderr == ""  # no JSON lines, no information lines, no progress bar


def test_verbose_adds_the_information_lines_readable_unless_json_is_asked_for(workdir: Path) -> None:
    database = workdir / "touchpoint.db"
    backup = workdir / "before.db"
    shutil.copyfile(database, backup)

    done = _piped("--verbose", "import", "surveys", "surveys.csv", cwd=workdir, env=_env(database))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{SUMMARY}\n{SENT}\n"
    lines = done.stderr.splitlines()
    assert any(INFO_EVENT in line and "info" in line for line in lines), done.stderr
    assert not any(line.lstrip().startswith("{") for line in lines), "readable, not JSON"
    assert not ESCAPE.search(done.stderr), "no colours in a pipe"

    shutil.copyfile(backup, database)
    asked = _env(database, TOUCHPOINT_LOG_JSON="true")
    done = _piped("-v", "import", "surveys", "surveys.csv", cwd=workdir, env=asked)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines()]
    assert INFO_EVENT in [e["event"] for e in events]
    assert "info" in {e["level"] for e in events}


def test_an_explicit_log_level_shows_the_information_lines(workdir: Path) -> None:
    env = _env(workdir / "touchpoint.db", TOUCHPOINT_LOG_LEVEL="INFO")
    done = _piped("import", "surveys", "surveys.csv", cwd=workdir, env=env)
    assert done.returncode == 0, done.stderr
    assert INFO_EVENT in done.stderr


def test_on_a_terminal_the_import_shows_its_progress_and_summary_only(workdir: Path) -> None:
    database = workdir / "touchpoint.db"
    backup = workdir / "before.db"
    shutil.copyfile(database, backup)

    code, output = _on_a_terminal("import", "surveys", "surveys.csv", cwd=workdir, env=_env(database))
    assert code == 0, output
    text = ESCAPE.sub("", output)
    assert "surveys.csv" in text.split(SUMMARY)[0], "the progress bar comes first"
    assert SUMMARY in text and SENT in text
    assert INFO_EVENT not in text and "[info" not in text

    shutil.copyfile(backup, database)
    code, output = _on_a_terminal(
        "--verbose", "import", "surveys", "surveys.csv", cwd=workdir, env=_env(database)
    )
    assert code == 0, output
    text = ESCAPE.sub("", output)
    assert SUMMARY in text and SENT in text
    assert any(INFO_EVENT in line and "info" in line for line in text.splitlines()), text
    assert "{" not in text.split(INFO_EVENT)[0].splitlines()[-1], "readable, not JSON"


def test_warnings_still_show(workdir: Path) -> None:
    """Without --verbose a warning is printed, readable: here the one a survey import logs when a
    detractor's CSM has no Slack or Teams identity and there is no admin to tell."""
    env = _env(workdir / "touchpoint.db")
    (workdir / "more.csv").write_text("external_id,name,owner_email\nNOCHAT,No Chat Ltd,cx@example.test\n")
    assert _piped("import", "accounts", "more.csv", cwd=workdir, env=env).returncode == 0
    answered = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()
    (workdir / "surveys.csv").write_text(
        f"account_external_id,kind,score,comment,submitted_at\nNOCHAT,nps,0,Nothing works.,{answered}\n",
        encoding="utf-8",
    )
    done = _piped("import", "surveys", "surveys.csv", cwd=workdir, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Imported 1 surveys row from surveys.csv")
    [line] = done.stderr.splitlines()
    assert "warning" in line and "feedback_unreachable" in line, line
    assert not line.startswith("{")
