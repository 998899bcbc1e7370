"""The start-up checks in-process: what ``touchpoint check`` reports and what stops ``touchpoint serve``,
against the fake Slack Web API and a fake Microsoft sign-in endpoint (never the real services)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from adapters.checks import SetupProblem
from adapters.checks.database import connection_problem, migrations_problem, ping
from adapters.checks.port import port_problem
from adapters.checks.run import Check, Status, run_checks, startup_checks
from adapters.web import build_web_app, serve
from bot.settings import Settings
from storage.db import Database
from tests.fakes.microsoft_login import APP_ID, SECRET, FakeMicrosoftLogin
from tests.fakes.slack import FakeSlack


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def fake_login() -> AsyncIterator[FakeMicrosoftLogin]:
    fake = FakeMicrosoftLogin()
    await fake.start()
    yield fake
    await fake.close()


def settings_for(tmp_path: Path, url: str | None = None, **values: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url or f"sqlite+aiosqlite:///{tmp_path / 'new.db'}",
        config_file=tmp_path / "touchpoint.toml",
        **values,
    )


def closed_port() -> int:
    """A loopback port nothing listens on (taken from the system, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def slack_settings(tmp_path: Path, fake: FakeSlack, **values: Any) -> Settings:
    return settings_for(
        tmp_path,
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        slack_api_url=fake.api_url,
        **values,
    )


def teams_settings(tmp_path: Path, fake: FakeMicrosoftLogin, **values: Any) -> Settings:
    values.setdefault("microsoft_app_password", SECRET)
    return settings_for(tmp_path, microsoft_app_id=APP_ID, teams_login_url=fake.url, **values)


# ------------------------------------------------------------------------------------- everything


async def test_a_new_sqlite_file_and_nothing_else_configured_passes(tmp_path: Path) -> None:
    checks = by_name(await run_checks(settings_for(tmp_path)))
    assert [c.status for c in checks.values()] == [Status.OK, Status.OK, Status.OK, Status.OFF, Status.OFF]
    assert "will be created" in checks["database"].detail
    assert not (tmp_path / "new.db").exists()  # checking never creates the file


async def test_a_migrated_database_passes(sqlite_db: Database, tmp_path: Path) -> None:
    checks = by_name(await run_checks(settings_for(tmp_path, sqlite_db.url)))
    assert checks["database"].status is Status.OK and checks["migrations"].status is Status.OK


async def test_migrations_behind_name_touchpoint_db_upgrade(tmp_path: Path) -> None:
    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        await ping(empty)  # creates the file, with no tables
        checks = by_name(await run_checks(settings_for(tmp_path, empty.url)))
    finally:
        await empty.dispose()
    assert checks["migrations"].status is Status.PROBLEM
    assert checks["migrations"].detail == (
        "TOUCHPOINT_DATABASE_URL: the database has no tables yet; run touchpoint db upgrade"
    )


async def test_a_schema_from_a_newer_version_is_named(db: Database) -> None:
    async with db.engine.begin() as connection:
        previous = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        await connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    try:
        problem = await migrations_problem(db)
    finally:
        async with db.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    assert problem is not None
    assert problem.startswith("the database is at revision f00dfeed, which this version of Touchpoint")


async def test_an_unreachable_database_skips_the_migrations(tmp_path: Path) -> None:
    port = closed_port()
    settings = settings_for(tmp_path, f"postgres://touchpoint@127.0.0.1:{port}/touchpoint")
    checks = by_name(await run_checks(settings))
    assert checks["database"].status is Status.PROBLEM
    assert checks["database"].detail == (
        f"TOUCHPOINT_DATABASE_URL: cannot connect to 127.0.0.1:{port} (connection refused); "
        "is the database running?"
    )
    assert checks["migrations"].status is Status.SKIPPED


async def test_a_missing_postgresql_database_is_named(postgres_url: str | None) -> None:
    if postgres_url is None:
        pytest.skip("needs TOUCHPOINT_TEST_DATABASE_URL")
    from sqlalchemy.engine import make_url

    missing = make_url(postgres_url).set(database="touchpoint_no_such_database")
    db = Database(missing.render_as_string(hide_password=False))
    try:
        with pytest.raises(SetupProblem) as caught:
            await ping(db)
    finally:
        await db.dispose()
    assert "the database 'touchpoint_no_such_database' does not exist on" in caught.value.line
    assert "createdb touchpoint_no_such_database" in caught.value.line


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TimeoutError(), "no answer from db.internal:5432 within 5s; is the host right, and the port open?"),
        (socket.gaierror(-2, "Name or service not known"), "cannot find the host 'db.internal'"),
        (OSError(113, "No route to host"), "cannot connect to db.internal:5432 (no route to host)"),
    ],
)
def test_connection_problems_say_where_and_what_to_do(error: BaseException, expected: str) -> None:
    line = connection_problem("postgresql+asyncpg://tp:hunter2@db.internal/tp", error)
    assert line.startswith(expected)
    assert "hunter2" not in line


async def test_the_config_file_is_checked(tmp_path: Path) -> None:
    (tmp_path / "touchpoint.toml").write_text('[feedback]\ncx_chanel = "slack:C1"\n')
    checks = by_name(await run_checks(settings_for(tmp_path)))
    assert checks["config file"].status is Status.PROBLEM
    assert "touchpoint.toml: feedback.cx_chanel: unknown key" in checks["config file"].detail


# ------------------------------------------------------------------------------------------- Slack


async def test_slack_auth_test_ok(tmp_path: Path, fake_slack: FakeSlack) -> None:
    checks = by_name(await run_checks(slack_settings(tmp_path, fake_slack)))
    assert checks["slack"] == Check(
        "slack", Status.OK, "workspace Acme CS (T0001ACME) as bot user UBOT0001; HTTP at /slack/events"
    )
    [call] = fake_slack.of("auth.test")
    assert call.headers["Authorization"] == "Bearer xoxb-test"


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked"])
async def test_slack_refusing_the_token_is_a_problem(
    tmp_path: Path, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.fail_next("auth.test", 200, error=error)
    checks = by_name(await run_checks(slack_settings(tmp_path, fake_slack)))
    assert checks["slack"].status is Status.PROBLEM
    assert checks["slack"].detail == (
        f"SLACK_BOT_TOKEN: Slack refused the token ({error}); copy the Bot User OAuth Token (xoxb-...) "
        "from the Slack app's Install App page"
    )


async def test_a_token_of_another_workspace_is_a_problem(tmp_path: Path, fake_slack: FakeSlack) -> None:
    checks = by_name(await run_checks(slack_settings(tmp_path, fake_slack, slack_team_ids="T0OTHER")))
    assert checks["slack"].status is Status.PROBLEM
    assert checks["slack"].detail.startswith("TOUCHPOINT_SLACK_TEAM_IDS: the bot token belongs to workspace")


async def test_half_configured_slack_is_a_problem(tmp_path: Path) -> None:
    checks = by_name(await run_checks(settings_for(tmp_path, slack_bot_token="xoxb-test")))
    assert checks["slack"].status is Status.PROBLEM
    assert checks["slack"].detail.startswith("SLACK_SIGNING_SECRET: not set")


# ------------------------------------------------------------------------------------------- Teams


async def test_teams_credentials_ok(tmp_path: Path, fake_login: FakeMicrosoftLogin) -> None:
    checks = by_name(await run_checks(teams_settings(tmp_path, fake_login)))
    assert checks["teams"] == Check(
        "teams", Status.OK, f"app {APP_ID} (MultiTenant) gets a Bot Framework token"
    )
    [request] = fake_login.requests
    assert request == {
        "tenant": "botframework.com",
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": SECRET,
        "scope": "https://api.botframework.com/.default",
    }


async def test_single_tenant_asks_its_own_tenant(tmp_path: Path, fake_login: FakeMicrosoftLogin) -> None:
    settings = teams_settings(
        tmp_path, fake_login, microsoft_app_type="SingleTenant", microsoft_app_tenant_id="contoso-tenant"
    )
    assert by_name(await run_checks(settings))["teams"].status is Status.OK
    assert fake_login.requests[0]["tenant"] == "contoso-tenant"


async def test_a_wrong_secret_is_a_problem(tmp_path: Path, fake_login: FakeMicrosoftLogin) -> None:
    settings = teams_settings(tmp_path, fake_login, microsoft_app_password="wrong-secret-123")
    checks = by_name(await run_checks(settings))
    assert checks["teams"].status is Status.PROBLEM
    assert checks["teams"].detail == (
        "MicrosoftAppPassword: Microsoft refused the app's credentials (AADSTS7000215: Invalid client secret "
        "provided); set a current client secret of the app registration (Certificates & secrets), and check "
        "MicrosoftAppId"
    )


async def test_teams_settings_that_cannot_work(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, microsoft_app_id=APP_ID, microsoft_app_type="SingleTenant")
    checks = by_name(await run_checks(settings))
    assert checks["teams"].status is Status.PROBLEM
    assert "SingleTenant needs MicrosoftAppId, MicrosoftAppPassword and MicrosoftAppTenantId" in (
        checks["teams"].detail
    )


async def test_emulator_mode_is_reported_not_failed(tmp_path: Path) -> None:
    checks = by_name(await run_checks(settings_for(tmp_path, teams_enabled=True)))
    assert checks["teams"].status is Status.OK
    assert checks["teams"].detail.startswith("Bot Framework Emulator mode")


# ------------------------------------------------------------------------------------------ serve


async def test_startup_stops_on_a_refused_token(tmp_path: Path, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("auth.test", 200, error="invalid_auth")
    with pytest.raises(SetupProblem, match=r"^SLACK_BOT_TOKEN: Slack refused the token \(invalid_auth\)"):
        await startup_checks(slack_settings(tmp_path, fake_slack), host="127.0.0.1", port=0)


async def test_startup_goes_on_when_slack_or_microsoft_do_not_answer(
    tmp_path: Path, fake_slack: FakeSlack, fake_login: FakeMicrosoftLogin
) -> None:
    fake_slack.fail_next("auth.test", 503)
    fake_login.status_override = 503
    settings = slack_settings(
        tmp_path,
        fake_slack,
        microsoft_app_id=APP_ID,
        microsoft_app_password=SECRET,
        teams_login_url=fake_login.url,
    )
    with capture_logs() as logs:
        await startup_checks(settings, host="127.0.0.1", port=0)
    warned = {line["event"]: line["problem"] for line in logs if line["log_level"] == "warning"}
    assert set(warned) == {"slack_not_checked", "teams_not_checked"}
    assert "auth.test answered 503" in warned["slack_not_checked"]


async def test_startup_stops_on_a_config_typo_before_anything_else(tmp_path: Path) -> None:
    (tmp_path / "touchpoint.toml").write_text("[helth]\nmin_confidence = 0.4\n")
    with pytest.raises(SetupProblem) as caught:
        await startup_checks(settings_for(tmp_path), host="127.0.0.1", port=0)
    assert caught.value.line == (
        f"{tmp_path / 'touchpoint.toml'}: helth: unknown table (the file holds [health], [feedback] and "
        "[connectors.*]); "
        "fix or remove it"
    )


def test_a_busy_port_is_found_before_listening() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert port_problem("127.0.0.1", port) == (
            f"--port {port}: 127.0.0.1:{port} is already in use (another touchpoint serve?); stop that "
            "process or choose another --port"
        )
    assert port_problem("127.0.0.1", port) is None


async def test_a_port_taken_after_the_check_is_the_same_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SetupProblem, match=rf"^--port {port}: 127.0.0.1:{port} is already in use"):
            await serve(build_web_app(), host="127.0.0.1", port=port)
