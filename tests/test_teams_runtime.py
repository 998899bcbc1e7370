"""``touchpoint serve`` mounts Teams at /api/messages exactly when Teams is configured."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from adapters import runtime
from bot.settings import Settings
from tests.teams_env import clear_teams_environment, own_logging


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_teams_environment(monkeypatch)


async def routes_served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **settings: Any) -> set[str]:
    served: list[web.Application] = []

    async def fake_serve(app: web.Application, *, host: str, port: int, stop: asyncio.Event | None) -> None:
        served.append(app)

    monkeypatch.setattr(runtime, "serve", fake_serve)
    with own_logging():
        return await _serve(tmp_path, served, **settings)


async def _serve(tmp_path: Path, served: list[web.Application], **settings: Any) -> set[str]:
    config = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        config_file=tmp_path / "none.toml",
        **settings,
    )
    await runtime.run_server(config, host="127.0.0.1", port=0)
    [app] = served
    return {resource.canonical for resource in app.router.resources()}


async def test_teams_is_served_when_enabled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert "/api/messages" in await routes_served(monkeypatch, tmp_path, teams_enabled=True)


async def test_an_app_id_turns_teams_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    routes = await routes_served(
        monkeypatch,
        tmp_path,
        microsoft_app_id="6c1f3f0e-1d2b-4c5a-9e8f-0a1b2c3d4e5f",
        microsoft_app_password="secret",
    )
    assert "/api/messages" in routes


async def test_teams_is_off_otherwise(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    routes = await routes_served(monkeypatch, tmp_path)
    assert "/api/messages" not in routes
    assert "/healthz" in routes
