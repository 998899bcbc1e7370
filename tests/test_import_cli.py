"""``touchpoint import KIND FILE``: exit codes and what is printed where."""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from adapters.cli.errors import TouchpointGroup
from adapters.cli.imports import ImportKind, _progress_bar, import_command
from bot.settings import get_settings
from storage.importer import KINDS

FIXTURES = Path(__file__).parent / "fixtures" / "import"

app = typer.Typer(cls=TouchpointGroup)  # as in the real app: a bad setting is one line
app.command("import")(import_command)


@app.callback()
def _root() -> None:
    """A group, as in the real ``touchpoint`` app, so the command is called by name."""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite database in TOUCHPOINT_DATABASE_URL and the fixtures in the working directory."""
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("TOUCHPOINT_DEFAULT_TIMEZONE", raising=False)
    monkeypatch.chdir(tmp_path)
    for name in ("people", "accounts", "usage"):
        shutil.copy(FIXTURES / f"{name}.csv", tmp_path / f"{name}.csv")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _import(kind: str, file: str) -> Result:
    return CliRunner().invoke(app, ["import", kind, file])


def test_kinds_match_the_importer() -> None:
    assert {k.value for k in ImportKind} == set(KINDS)


def test_import_prints_a_summary(workdir: Path) -> None:
    result = _import("people", "people.csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported 3 people rows from people.csv: 3 new, 0 updated, 0 unchanged.\n"
    assert result.stderr == ""  # no progress bar when stderr is not a terminal

    again = _import("people", "people.csv")
    assert again.exit_code == 0
    assert again.stdout == "Imported 3 people rows from people.csv: 0 new, 0 updated, 3 unchanged.\n"


def test_kind_is_case_insensitive(workdir: Path) -> None:
    assert _import("People", "people.csv").exit_code == 0


def test_problems_go_to_stderr_and_exit_1(workdir: Path) -> None:
    assert _import("people", "people.csv").exit_code == 0
    assert _import("accounts", "accounts.csv").exit_code == 0
    (workdir / "bad.csv").write_text(
        "account_external_id,date,metric,value\nACME-1,2026-02-30,logins,1\nNOPE,2026-02-01,logins,1\n"
    )
    result = _import("usage", "bad.csv")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "bad.csv:2: date: no such date: '2026-02-30'\n"
        "bad.csv:3: account_external_id: unknown account 'NOPE'\n"
        "Nothing was imported: 2 problems in bad.csv.\n"
    )


def test_long_problem_lines_are_not_wrapped(workdir: Path) -> None:
    (workdir / "people.csv").write_text(
        "email,name,role,manager_email\na@example.test,A,csm," + "m" * 30 + "@example.test\n"
    )
    result = _import("people", "people.csv")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "people.csv:2: manager_email: no person with email 'mmmmmmmmmmmmmmmmmmmmmmmmmmmmmm@example.test' "
        "in the database or this file"
    )


def test_missing_file(workdir: Path) -> None:
    result = _import("usage", "nope.csv")
    assert result.exit_code == 1
    assert result.stderr == "nope.csv: no such file\n"


def test_empty_file(workdir: Path) -> None:
    (workdir / "empty.csv").write_bytes(b"")
    result = _import("usage", "empty.csv")
    assert result.exit_code == 1
    assert result.stderr == "empty.csv: the file is empty (a header row is required)\n"


def test_file_that_is_not_utf8(workdir: Path) -> None:
    (workdir / "latin.csv").write_bytes("email,name,role\nzoé@example.test,Zoé,csm\n".encode("latin-1"))
    result = _import("people", "latin.csv")
    assert result.exit_code == 1
    assert result.stderr == (
        "latin.csv:2: not valid UTF-8 (byte 0xE9 at position 3 of the line); save the file as UTF-8\n"
        "Nothing was imported: 1 problem in latin.csv.\n"
    )


def test_unknown_kind_is_a_usage_error(workdir: Path) -> None:
    result = _import("deals", "usage.csv")
    assert result.exit_code == 2


def test_default_timezone_comes_from_settings(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUCHPOINT_DEFAULT_TIMEZONE", "Nowhere/Atlantis")
    get_settings.cache_clear()
    result = _import("people", "people.csv")
    assert result.exit_code == 1
    assert result.stderr == (
        "touchpoint: TOUCHPOINT_DEFAULT_TIMEZONE: 'Nowhere/Atlantis' is not a time zone; write an IANA "
        "name such as Europe/Berlin or UTC\n"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with _progress_bar(Path("usage.csv")) as progress:
        assert progress is None
    monkeypatch.setattr(sys, "stderr", _Terminal())
    with _progress_bar(Path("usage.csv")) as progress:
        assert progress is not None
        progress("checking", 10, 100)
        progress("checking", 100, 100)
        progress("writing", 100, 100)
