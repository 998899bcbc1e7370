"""``touchpoint tokens create|list|revoke``: the secret is shown once, only its hash is stored."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.cli.main import app
from bot.settings import get_settings
from storage.api_tokens import hash_secret
from storage.db import Database
from storage.models import ApiToken

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    path = tmp_path / "touchpoint.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", url)
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _tokens(url: str) -> list[ApiToken]:
    async def body() -> list[ApiToken]:
        db = Database(url)
        try:
            async with db.sessions() as session:
                return list((await session.scalars(select(ApiToken))).all())
        finally:
            await db.dispose()

    return asyncio.run(body())


def test_create_list_revoke(database: str) -> None:
    result = runner.invoke(app, ["tokens", "create", "crm", "--kinds", "accounts,usage"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("tp_")
    (token,) = _tokens(database)
    assert token.token_hash == hash_secret(secret) and secret not in token.token_hash
    assert token.kinds == ["accounts", "usage"]
    assert runner.invoke(app, ["tokens", "create", "crm"]).exit_code == 1
    assert runner.invoke(app, ["tokens", "create", "x", "--kinds", "bogus"]).exit_code == 1
    listed = runner.invoke(app, ["tokens", "list"])
    assert "crm" in listed.output and "accounts,usage" in listed.output and secret not in listed.output
    assert runner.invoke(app, ["tokens", "revoke", "crm"]).exit_code == 0
    assert _tokens(database)[0].revoked_at is not None
    assert runner.invoke(app, ["tokens", "revoke", str(token.id)]).exit_code == 1
    assert "revoked" in runner.invoke(app, ["tokens", "list"]).output
