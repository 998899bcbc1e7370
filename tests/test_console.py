"""The terminal console: rendering, the read-eval-print loop on piped input, and the real CLI end to end."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from structlog.testing import capture_logs

import adapters.console.main as console_main
from adapters.console.main import run_console
from adapters.console.render import render_plain, render_rich
from adapters.console.session import ConsoleSession
from bot.format import day_text
from bot.types import (
    Actions,
    Button,
    Context,
    Divider,
    Fields,
    Form,
    FormInput,
    Header,
    Image,
    InputKind,
    Option,
    Reply,
    Text,
)
from handlers import build_bot
from storage.db import Database
from storage.demo import DEMO_CSM_EMAIL
from storage.models import FollowUp, Milestone
from tests.factories import (
    MAYA,
    Team,
    audit_events,
    fixed_clock,
    get_row,
    make_bot,
    seed_team,
    settings_for,
)

# ------------------------------------------------------------------------------------------- rendering


def test_plain_rendering_numbers_buttons_across_the_reply() -> None:
    reply = Reply(
        summary="s",
        blocks=(
            Header("Acme Rockets"),
            Text("🔴 **Health 37** _falling_, see `help`"),
            Fields((("ARR", "$438k"), ("Owner", "Maya Chen"))),
            Context(("Last touch: call", "ID ACME-001")),
            Image(url="https://example.com/chart.png", alt="health chart"),
            Divider(),
            Actions((Button("Done", "x"), Button("Snooze", "y"))),
            Text("second item"),
            Actions((Button("Done", "x"),)),
        ),
    )
    assert render_plain(reply).splitlines() == [
        "== Acme Rockets ==",
        "🔴 Health 37 falling, see help",
        "ARR: $438k",
        "Owner: Maya Chen",
        "  Last touch: call | ID ACME-001",
        "[image: health chart] https://example.com/chart.png",
        "-" * 40,
        "[1] Done  [2] Snooze",
        "second item",
        "[3] Done",
    ]


def test_plain_rendering_keeps_snake_case_and_falls_back_to_the_summary() -> None:
    assert render_plain(Reply(summary="x", blocks=(Text("metric active_users is low"),))) == (
        "metric active_users is low"
    )
    assert render_plain(Reply(summary="Only a summary")) == "Only a summary"


def test_form_intro() -> None:
    form = Form(title="Log follow-up", inputs=(), submit_action="s")
    assert render_plain(form) == "== Log follow-up ==  (type `cancel` at any field to stop)"
    assert render_plain(Form(title="Log follow-up", inputs=(), submit_action="s", errors={"a": "b"})) == (
        "== Log follow-up =="
    )


def test_rich_rendering_on_a_terminal() -> None:
    console = Console(record=True, width=120, color_system=None)
    reply = Reply(
        summary="s",
        blocks=(
            Header("Your accounts"),
            Text("🔴 **Acme Rockets** 37 · $438k · renews in 41 days\n🟢 **Acme Robotics** 92 · $139k"),
            Text("[not markup] and **bold**"),
            Fields((("ARR", "$438k"),)),
            Context(("3 in all",)),
            Divider(),
            Actions((Button("Acme Rockets", "a", style="primary"), Button("More", "b"))),
        ),
    )
    render_rich(reply, console)
    out = console.export_text()
    for expected in ("Your accounts", "Acme Rockets", "$438k", "renews in 41 days", "[not markup] and bold"):
        assert expected in out
    assert "[1] Acme Rockets  [2] More" in out
    assert "**" not in out


def test_rich_rendering_shows_brackets_in_data_as_they_are() -> None:
    console = Console(record=True, width=120, color_system=None)
    reply = Reply(
        summary="s",
        blocks=(
            Header("Acme [beta]"),
            Fields((("Owner", "Bob [contractor]"), ("Segment", "[/]"))),
            Text("Acme [beta] · [/] · ok"),
            Actions((Button("Acme [beta]", "a"),)),
        ),
    )
    render_rich(reply, console)
    out = console.export_text()
    for expected in ("Acme [beta]", "Bob [contractor]", "Segment  [/]", "[1] Acme [beta]"):
        assert expected in out


def test_keyboard_prompt_shows_the_default_value(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(record=True, width=120, color_system=None, force_terminal=True)
    monkeypatch.setattr("builtins.input", lambda *_args: "typed")
    read = console_main._keyboard_reader(console)
    assert read("Kind (number or name) [call]: ") == "typed"
    assert read("touchpoint> ") == "typed"
    assert console.export_text() == "Kind (number or name) [call]: touchpoint> "


# ------------------------------------------------------------------------- the loop, with a fixed clock


@pytest.fixture
async def team(sqlite_db: Database) -> Team:
    return await seed_team(sqlite_db)


RunConsole = Callable[[str, str], Awaitable[tuple[int, str, str]]]


@pytest.fixture
def console_run(
    sqlite_db: Database, team: Team, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> RunConsole:
    """Run ``run_console`` on piped ``script`` as someone, at the fixed moment; returns (code, out, err)."""
    monkeypatch.setattr(
        console_main, "build_bot", lambda db, settings: build_bot(db, settings, clock=fixed_clock)
    )

    async def run(email: str, script: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(script))
        with capture_logs():  # the CLI sends logs to stderr; here they must not mix with stdout
            code = await run_console(sqlite_db, settings_for(sqlite_db), email, interactive=False)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


SCRIPT = """\
# a comment, then a blank line

my
1
1
email
Sent the QBR deck
Book the renewal call
2026-11-24
tomorrow
2026-12-01
followups acme rockets
1
7
milestones acme rockets
3
log acme rockets
cancel
frobnicate
"""


async def test_a_session_on_piped_input(sqlite_db: Database, team: Team, console_run: RunConsole) -> None:
    code, out, err = await console_run(MAYA, SCRIPT)
    assert code == 0
    assert err == ""
    lines = out.splitlines()

    def after(prompt: str, count: int) -> list[str]:
        start = lines.index(prompt)
        return lines[start : start + count]

    assert after("touchpoint> my", 7) == [
        "touchpoint> my",
        "== Your accounts ==",
        "🔴 Acme Rockets 37 ▼9 · $438k · renews in 41 days · 30% of licensed seats active",
        "🟡 Café Lumière Studios 55 · $96k · renews in 75 days · 4 detractors in 90 days",
        "🟢 Acme Robotics 92 · $139k · renews in 200 days",
        "  3 in all",
        "[1] Acme Rockets  [2] Café Lumière Studios  [3] Acme Robotics",
    ]
    card_start = lines.index("touchpoint> 1")
    assert lines[card_start + 1] == "== Acme Rockets =="
    buttons = "[1] Log follow-up  [2] Milestones  [3] Timeline  [4] Success plan  [5] Send feedback to CX"
    assert buttons in lines[card_start:]
    assert after("== Log follow-up ==  (type `cancel` at any field to stop)", 14) == [
        "== Log follow-up ==  (type `cancel` at any field to stop)",
        "  [1] Call  [2] Email  [3] Meeting  [4] QBR  [5] Note",
        "Kind (number or name) [call]: email",
        "What happened with Acme Rockets?: Sent the QBR deck",
        "Next step (optional): Book the renewal call",
        "Next step due (YYYY-MM-DD, optional): 2026-11-24",
        "== Log follow-up ==",
        "! Next step due cannot be in the past.",
        "Next step due (YYYY-MM-DD, optional): tomorrow",
        "== Log follow-up ==",
        "! Next step due must be a date like 2026-11-25.",
        "Next step due (YYYY-MM-DD, optional): 2026-12-01",
        "✅ Logged an email for Acme Rockets.",
        "Next step: Book the renewal call, due Tue 01 Dec 2026",
    ]
    assert after("touchpoint> followups acme rockets", 7) == [
        "touchpoint> followups acme rockets",
        "== Open follow-ups for Acme Rockets ==",
        "Acme Rockets: Send the recording · ⚠️ overdue 5 days",
        "[1] Done  [2] Snooze 1 day  [3] Snooze 1 week",
        "Acme Rockets: Book the renewal call · due in 6 days",
        "[4] Done  [5] Snooze 1 day  [6] Snooze 1 week",
        "  2 in all",
    ]
    done = lines.index("✅ Done: Send the recording (Acme Rockets)")
    assert lines[done + 1 : done + 3] == ["touchpoint> 7", "There are no buttons to click."]
    assert "💤 QBR Nov 2026 for Acme Rockets snoozed until Wed 02 Dec 2026." in lines
    assert after("touchpoint> log acme rockets", 5)[3:] == [
        "Kind (number or name) [call]: cancel",
        "Cancelled.",
    ]
    unknown = lines.index("touchpoint> frobnicate")
    assert lines[unknown + 1] == "I don't know the command frobnicate. Here is what I can do:"
    assert lines[-1] == "  Add share at the end of a command to show the answer to everyone here."

    # What was done in the console is stored and audited like anywhere else.
    assert [(e.action, e.platform, e.actor_id) for e in await audit_events(sqlite_db)] == [
        ("followup.logged", "console", team.maya),
        ("followup.done", "console", team.maya),
        ("milestone.snoozed", "console", team.maya),
    ]
    assert (await get_row(sqlite_db, FollowUp, team.call_cfo)).status == "done"
    assert (await get_row(sqlite_db, Milestone, team.qbr_nov)).snoozed_until == date(2026, 12, 2)


async def test_unknown_buttons_and_odd_input(console_run: RunConsole) -> None:
    code, out, _ = await console_run(MAYA, "1\n²\nmy\n9\n0\nquit\nmy\n")
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == ["touchpoint> 1", "There are no buttons to click."]
    assert lines[2] == "touchpoint> ²"
    assert lines[3] == "I don't know the command ². Here is what I can do:"
    assert "There is no button 9." in lines
    assert "There is no button 0." in lines
    assert lines[-1] == "touchpoint> quit"  # nothing after quit is read


async def test_form_cut_short_by_end_of_input(sqlite_db: Database, console_run: RunConsole) -> None:
    code, out, _ = await console_run(MAYA, "log cafe\n3\n")
    assert code == 0
    assert out.splitlines()[-2:] == ["Kind (number or name) [call]: 3", "Cancelled."]
    assert await audit_events(sqlite_db) == []


async def test_unknown_email_exits_1(console_run: RunConsole) -> None:
    code, out, err = await console_run("nobody@example.com", "my\n")
    assert code == 1
    assert out == ""
    assert (
        err
        == "No person with email 'nobody@example.com' is registered with Touchpoint. Import people first.\n"
    )


def test_select_answers_by_number_value_or_label(sqlite_db: Database) -> None:
    spec = FormInput(
        id="kind",
        label="Kind",
        kind=InputKind.SELECT,
        options=(Option("call", "Call"), Option("qbr", "QBR")),
    )
    answers = iter(["2", "CALL", "qbr", "QBR", "fax", "3", "²"])
    session = ConsoleSession(
        bot=make_bot(sqlite_db),
        actor=None,  # type: ignore[arg-type]
        read_line=lambda _prompt: next(answers),
        show=lambda _response: None,
        say=lambda _text: None,
    )
    assert [session.ask(spec) for _ in range(7)] == ["qbr", "call", "qbr", "qbr", "fax", "3", "²"]


# ---------------------------------------------------------------------------------- the real CLI


def touchpoint_executable() -> str:
    beside = Path(sys.executable).parent / "touchpoint"
    found = str(beside) if beside.exists() else shutil.which("touchpoint")
    if found is None:
        pytest.skip("the touchpoint command is not installed")
    return found


def cli_env(database: Path, config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHPOINT_")}
    env.update(
        TOUCHPOINT_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        TOUCHPOINT_CONFIG_FILE=str(config_dir / "touchpoint.toml"),
        TOUCHPOINT_DEFAULT_TIMEZONE="UTC",
        TOUCHPOINT_LOG_LEVEL="WARNING",
        PYTHONIOENCODING="utf-8",
        COLUMNS="200",
    )
    return env


def touchpoint(
    *args: str, cwd: Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [touchpoint_executable(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with a small demo portfolio, made once by `touchpoint demo-data`."""
    workdir = tmp_path_factory.mktemp("demo")
    database = workdir / "demo.db"
    done = touchpoint("demo-data", "--accounts", "12", cwd=workdir, env=cli_env(database, workdir))
    assert done.returncode == 0, done.stderr
    assert "Demo data loaded" in done.stdout
    return database


@pytest.fixture
def workdir(tmp_path: Path, demo_database: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    database = tmp_path / "touchpoint.db"
    shutil.copyfile(demo_database, database)
    yield tmp_path, cli_env(database, tmp_path)


def test_console_end_to_end(workdir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workdir
    due = date.today() + timedelta(days=30)
    script = "\n".join(
        [
            "help",
            "account acme rockts",
            "1",  # Log follow-up
            "2",  # Email
            "Called about the renewal",
            "Send the proposal",
            "2020-01-01",  # in the past: asked again
            due.isoformat(),
            "followups acme rockets",
            "99",
            "quit",
        ]
    )
    done = touchpoint("console", "--as", DEMO_CSM_EMAIL, cwd=cwd, env=env, stdin=script + "\n")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout.splitlines()
    assert out[0] == "touchpoint> help"
    assert "account NAME|ID  the account card: health, why, what is next" in out
    assert "touchpoint> account acme rockts" in out
    assert "== Acme Rockets ==" in out
    assert "Owner: Maya Chen" in out
    assert "[1] Log follow-up  [2] Milestones  [3] Timeline  [4] Success plan  [5] Send feedback to CX" in out
    start = out.index("== Log follow-up ==  (type `cancel` at any field to stop)")
    assert out[start : start + 11] == [
        "== Log follow-up ==  (type `cancel` at any field to stop)",
        "  [1] Call  [2] Email  [3] Meeting  [4] QBR  [5] Note",
        "Kind (number or name) [call]: 2",
        "What happened with Acme Rockets?: Called about the renewal",
        "Next step (optional): Send the proposal",
        "Next step due (YYYY-MM-DD, optional): 2020-01-01",
        "== Log follow-up ==",
        "! Next step due cannot be in the past.",
        f"Next step due (YYYY-MM-DD, optional): {due.isoformat()}",
        "✅ Logged an email for Acme Rockets.",
        f"Next step: Send the proposal, due {day_text(due)}",
    ]
    assert "== Open follow-ups for Acme Rockets ==" in out
    assert any(line.startswith("Acme Rockets: Send the proposal · due in ") for line in out)
    assert out[-3:] == ["touchpoint> 99", "There is no button 99.", "touchpoint> quit"]


def test_console_with_an_unknown_email_exits_1(workdir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workdir
    done = touchpoint("console", "--as", "nobody@example.com", cwd=cwd, env=env, stdin="my\n")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "No person with email 'nobody@example.com' is registered with Touchpoint" in done.stderr


def test_console_without_anyone_to_act_as_exits_1(workdir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workdir
    done = touchpoint("console", cwd=cwd, env=env, stdin="my\n")
    assert done.returncode == 1
    assert "Who are you? Use --as EMAIL" in done.stderr
