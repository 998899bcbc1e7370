"""``touchpoint health recompute`` and ``touchpoint health show`` on a SQLite file."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from adapters.cli.errors import TouchpointGroup
from adapters.cli.health import health_app
from adapters.cli.support import console
from bot.settings import get_settings
from storage.db import Database
from storage.models import Account, HealthSnapshot
from tests.cli_progress import record_progress
from tests.test_health_recompute import D, add_accounts, ago, seed_trend_account

app = typer.Typer(cls=TouchpointGroup)  # as in the real app: a bad configuration file is one line
app.add_typer(health_app, name="health")
runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A SQLite file with two accounts (one with data, one without) that the CLI is pointed at."""
    path = tmp_path / "touchpoint.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"

    async def seed() -> None:
        db = Database(url)
        try:
            first, _second = await add_accounts(db, 2)
            await seed_trend_account(db, first)
            async with db.transaction() as s:
                account = await s.get(Account, first)
                assert account is not None
                account.name, account.name_key = "Société Générale", "societe generale"
        finally:
            await db.dispose()

    asyncio.run(seed())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", url)
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def invoke(*args: str) -> Result:
    """The command's output at 200 columns, whatever terminal (or none) the tests run in: the console
    fixes its width when it is made, from COLUMNS if that is set then."""
    width = console.width
    console.width = 200
    try:
        return runner.invoke(app, ["health", *args], env={"COLUMNS": "200"})
    finally:
        console.width = width


def snapshot_count(url: str) -> int:
    async def count() -> int:
        db = Database(url)
        try:
            async with db.sessions() as s:
                return (await s.execute(select(func.count()).select_from(HealthSnapshot))).scalar_one()
        finally:
            await db.dispose()

    return asyncio.run(count())


def test_recompute_one_day(database: str) -> None:
    result = invoke("recompute", "--day", D.isoformat())
    assert result.exit_code == 0, result.output
    assert "Health recomputed for 2 accounts on 2026-03-31: green 1, unknown 1." in result.output
    assert snapshot_count(database) == 2
    assert invoke("recompute", "--day", D.isoformat()).exit_code == 0
    assert snapshot_count(database) == 2


def test_recompute_backfill(database: str) -> None:
    result = invoke("recompute", "--since", ago(7).isoformat(), "--day", D.isoformat())
    assert result.exit_code == 0, result.output
    assert "8 days, 2026-03-24 to 2026-03-31" in result.output
    assert snapshot_count(database) == 16


def test_show_by_external_id_with_trend_and_drivers(database: str) -> None:
    assert invoke("recompute", "--since", ago(30).isoformat(), "--day", D.isoformat()).exit_code == 0
    result = invoke("show", "A0", "--day", D.isoformat())
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Société Générale (A0), health on 2026-03-31: 83.1 green" in out
    assert "Confidence 52%; change vs 7 days ago -1.9, vs 30 days ago -6.9." in out
    assert "license utilisation" in out and "80% of licensed seats active" in out
    assert "no data" in out and "no NPS answers in 90 days" in out
    assert "success plan" in out and "no success plan outcomes due" in out
    assert "Pulling the score down:" in out
    assert "1. engagement recency (58.3, costs 7.0 points): no follow-up logged in 40 days" in out


def test_show_by_name_ignores_case_and_accents(database: str) -> None:
    result = invoke("show", "SOCIETE generale", "--day", D.isoformat())
    assert result.exit_code == 0, result.output
    assert "Société Générale (A0)" in result.output
    assert "No snapshot stored for that day: computed now" in result.output


def test_a_churned_account_is_no_longer_scored_but_its_past_health_shows(database: str) -> None:
    assert invoke("recompute", "--day", ago(3).isoformat()).exit_code == 0

    async def churn() -> None:
        db = Database(database)
        try:
            async with db.transaction() as s:
                account = await s.get(Account, 1)
                assert account is not None
                account.lifecycle_stage, account.churned_on = "churned", ago(2)
        finally:
            await db.dispose()

    asyncio.run(churn())
    result = invoke("show", "A0", "--day", D.isoformat())
    assert result.exit_code == 0, result.output
    assert "Société Générale (A0) churned on 2026-03-29: its health is no longer scored." in result.output
    assert "Component" not in result.output
    before = invoke("show", "A0", "--day", ago(3).isoformat())
    assert "Société Générale (A0), health on 2026-03-28: " in before.output and "Component" in before.output


def test_show_without_enough_data(database: str) -> None:
    result = invoke("show", "Account 1", "--day", D.isoformat())
    assert result.exit_code == 0, result.output
    assert "unknown (not enough data: no component has data)" in result.output


def test_show_unknown_account(database: str) -> None:
    result = invoke("show", "Nobody Inc")
    assert result.exit_code == 1
    assert "No account matches 'Nobody Inc'. Nearest names: " in result.output


def test_invalid_configuration_is_reported(database: str, tmp_path: Path) -> None:
    (tmp_path / "touchpoint.toml").write_text("[health.weights]\nnpz = 5\n")
    result = invoke("recompute", "--day", D.isoformat())
    assert result.exit_code == 1
    assert "health.weights.npz: unknown component" in result.output
    assert snapshot_count(database) == 0


def test_invalid_dates(database: str) -> None:
    assert invoke("recompute", "--day", "2026-02-30").exit_code == 2
    reversed_range = invoke("recompute", "--since", D.isoformat(), "--day", ago(1).isoformat())
    assert reversed_range.exit_code == 1
    assert "--since 2026-03-31 is after --day 2026-03-30." in reversed_range.output


@pytest.mark.parametrize("typed", ["soc", "SOCIETE gen", "Societe Generle", "a0"])
def test_show_finds_the_account_as_chat_does(database: str, typed: str) -> None:
    result = invoke("show", typed, "--day", D.isoformat())
    assert result.exit_code == 0, result.output
    assert "Société Générale (A0), health on 2026-03-31" in result.output


def test_show_lists_several_close_matches(database: str) -> None:
    async def add_namesake() -> None:
        db = Database(database)
        try:
            async with db.transaction() as s:
                s.add(Account(external_id="B7", name="Société Anonyme", name_key="societe anonyme"))
        finally:
            await db.dispose()

    asyncio.run(add_namesake())
    result = invoke("show", "societe")
    assert result.exit_code == 1
    assert result.output == (
        "Several accounts match 'societe': Société Anonyme (B7), Société Générale (A0). "
        "Use the external id or more of the name.\n"
    )


def test_backfill_has_a_progress_bar_of_days(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.cli import health

    tasks = record_progress(monkeypatch, health)
    assert invoke("recompute", "--since", ago(7).isoformat(), "--day", D.isoformat()).exit_code == 0
    assert tasks == {"Recomputing health": [8, 8]}
