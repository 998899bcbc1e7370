"""Bot Framework authentication when an app id is set, and the Teams settings; forged tokens in bulk
while Microsoft's signing keys are unreachable hold up nothing else."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botframework.connector.auth import ChannelValidation
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from structlog.testing import capture_logs

from adapters.teams import auth
from adapters.teams.auth import SettingsError, check_settings
from bot.settings import Settings
from storage.db import Database
from storage.models import TeamsConversation
from tests.factories import count
from tests.teams_activities import bot_added, personal_message, user
from tests.teams_env import TEAMS_VARIABLES, TeamsEnv, assert_quiet, clear_teams_environment, teams_env

APP_ID = "6c1f3f0e-1d2b-4c5a-9e8f-0a1b2c3d4e5f"
MAYA_T = user("maya", "Maya Chen", "maya@example.com")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_teams_environment(monkeypatch)


@pytest.fixture
async def secured(sqlite_db: Database, tmp_path: Path) -> AsyncIterator[TeamsEnv]:
    async for env in teams_env(sqlite_db, tmp_path, app_id=APP_ID):
        yield env


def unsigned_jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT', 'kid': 'k1'})}.{part(claims)}.c2lnbmF0dXJl"


async def test_a_request_without_a_token_is_refused(secured: TeamsEnv) -> None:
    answer = await secured.post(personal_message("help", MAYA_T, service_url=secured.service_url))
    assert answer.status == 401
    assert not secured.fake.calls


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer a.b.c",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer " + unsigned_jwt({"iss": "https://attacker.example", "aud": APP_ID, "serviceurl": "x"}),
    ],
)
async def test_a_bad_token_is_refused(secured: TeamsEnv, header: str) -> None:
    answer = await secured.post(
        bot_added(MAYA_T, service_url=secured.service_url), headers={"Authorization": header}
    )
    assert answer.status == 401
    assert not secured.fake.calls


async def test_malformed_bodies_are_still_a_400_with_an_app_id(secured: TeamsEnv) -> None:
    answer = await secured.post("{oops", headers={"Authorization": "Bearer garbage"})
    assert answer.status == 400


# ------------------------------------------------------------------------------------- settings


def test_teams_is_on_when_an_app_id_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("MicrosoftAppPassword", "s3cret")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.microsoft_app_id == APP_ID
    assert settings.microsoft_app_password is not None
    assert settings.microsoft_app_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.teams_configured


def test_teams_enabled_decides_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUCHPOINT_TEAMS_ENABLED", "true")
    assert Settings(_env_file=None).teams_configured  # type: ignore[call-arg]
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("TOUCHPOINT_TEAMS_ENABLED", "false")
    assert not Settings(_env_file=None).teams_configured  # type: ignore[call-arg]


def test_teams_is_off_by_default_and_blank_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MicrosoftAppId", "  ")
    monkeypatch.setenv("MicrosoftAppPassword", "")
    monkeypatch.setenv("TOUCHPOINT_TEAMS_ENABLED", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.microsoft_app_id is None
    assert settings.microsoft_app_password is None
    assert settings.teams_enabled is None
    assert not settings.teams_configured
    assert settings.microsoft_app_type == "MultiTenant"


def test_tenant_ids_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUCHPOINT_TEAMS_TENANT_IDS", " 72F988BF-86f1-41af-91ab-2d7cd011db47, ,abc ")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.teams_tenant_ids == ["72f988bf-86f1-41af-91ab-2d7cd011db47", "abc"]


def test_app_type_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MicrosoftAppType", "singletenant")
    assert Settings(_env_file=None).microsoft_app_type == "SingleTenant"  # type: ignore[call-arg]
    monkeypatch.setenv("MicrosoftAppType", "Federated")
    with pytest.raises(ValueError, match="MultiTenant, SingleTenant or UserAssignedMSI"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (
            {"microsoft_app_type": "SingleTenant", "microsoft_app_id": APP_ID, "microsoft_app_password": "p"},
            "MicrosoftAppTenantId",
        ),
        ({"microsoft_app_type": "UserAssignedMSI", "microsoft_app_id": APP_ID}, "MicrosoftAppTenantId"),
        ({"microsoft_app_id": APP_ID}, "MicrosoftAppPassword"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_start(values: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        check_settings(Settings(_env_file=None, **values))  # type: ignore[call-arg]


def test_complete_settings_pass() -> None:
    check_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    check_settings(
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            microsoft_app_type="SingleTenant",
            microsoft_app_id=APP_ID,
            microsoft_app_password="p",
            microsoft_app_tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
        )
    )


def test_every_teams_setting_is_documented_in_env_example() -> None:
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text(encoding="utf-8")
    for name in TEAMS_VARIABLES:
        assert name in example, name


async def test_without_an_app_id_answers_only_go_to_this_machine(sqlite_db: Database, tmp_path: Path) -> None:
    """Unauthenticated (Emulator) mode: a stranger cannot claim to be Maya and have the answer sent to
    a service URL of their choosing."""
    async for env in teams_env(sqlite_db, tmp_path):
        activity = personal_message("my", MAYA_T, service_url="https://attacker.example/")
        answer = await env.post(activity)
        assert answer.status == 401
        assert not env.fake.calls
        local = personal_message(
            "help", MAYA_T, service_url=env.service_url.replace("127.0.0.1", "localhost")
        )
        assert (await env.post(local)).status == 201


# ---------------------------------------------------------------------------- forged tokens


def forged_token(service_url: str, *, issuer: str = "https://api.botframework.com") -> str:
    """A token shaped like Bot Framework's (issuer, audience, expiry, key id), signed by nobody."""

    def part(data: Mapping[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": "forged-key"}
    claims = {"iss": issuer, "aud": APP_ID, "serviceurl": service_url, "nbf": now - 60, "exp": now + 3600}
    return f"{part(header)}.{part(claims)}.c2lnbmF0dXJl"


class KeyServer:
    """Where botbuilder fetches Microsoft's signing keys, played by a server that accepts every
    connection and never answers (an outage as the client sees it)."""

    def __init__(self) -> None:
        self.connections = 0
        self.connected = asyncio.Event()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1/.well-known/openidconfiguration"

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        self.connected.set()

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        assert self._server is not None
        self._server.close()


@pytest.fixture
async def key_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[KeyServer]:
    server = KeyServer()
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", await server.start())
    monkeypatch.setattr(JwtTokenExtractor, "metadataCache", {})
    try:
        yield server
    finally:
        await server.close()


async def test_forged_tokens_in_bulk_hold_up_nothing_else(
    sqlite_db: Database,
    tmp_path: Path,
    key_server: KeyServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """More forged tokens at once than the shared thread pool has threads, while Microsoft's keys are
    unreachable: work on the shared pool (what the ingest API and imports use) goes on, and each forged
    request is answered (503: cannot check now) within the deadline."""
    monkeypatch.setattr(auth, "VERIFY_DEADLINE_SECONDS", 2.0, raising=False)
    shared_pool_size = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default executor
    async for env in teams_env(sqlite_db, tmp_path, app_id=APP_ID):
        token = forged_token(env.service_url)
        headers = {"Authorization": f"Bearer {token}"}
        with capture_logs() as logs:
            posts = [
                asyncio.create_task(env.post(bot_added(MAYA_T, service_url=env.service_url), headers=headers))
                for _ in range(shared_pool_size + 2)
            ]
            await asyncio.wait_for(key_server.connected.wait(), 10)
            assert await asyncio.wait_for(asyncio.to_thread(lambda: "done"), 2) == "done"
            answers = await asyncio.wait_for(asyncio.gather(*posts), 10)
        assert {a.status for a in answers} == {503}
        assert key_server.connections == 1, "one fetch of the keys at a time"
        assert not env.fake.calls
        assert await count(env.db, TeamsConversation) == 0
        assert_quiet(logs, caplog)


async def test_after_a_failed_key_fetch_forged_tokens_fail_fast(
    sqlite_db: Database, tmp_path: Path, key_server: KeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "KEY_FETCH_TIMEOUT", (0.5, 0.5))
    async for env in teams_env(sqlite_db, tmp_path, app_id=APP_ID):
        headers = {"Authorization": f"Bearer {forged_token(env.service_url)}"}
        first = await env.post(bot_added(MAYA_T, service_url=env.service_url), headers=headers)
        started = time.monotonic()
        again = [
            await env.post(bot_added(MAYA_T, service_url=env.service_url), headers=headers) for _ in range(5)
        ]
        assert first.status == 503 and {a.status for a in again} == {503}
        assert time.monotonic() - started < 1.0, "no new fetch while the last one failed recently"
        assert key_server.connections == 1


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("Basic dXNlcjpwYXNz", "not a bearer token"),
        ("Bearer", "not a bearer token"),
        ("Bearer a b", "not a bearer token"),
        ("Bearer garbage", "not a JWT"),
        ("Bearer e30.e30.c2ln", "signing algorithm not allowed"),  # {} and {}
    ],
)
def test_what_cannot_be_a_token_is_refused_without_a_thread_or_a_fetch(header: str, problem: str) -> None:
    assert auth.token_problem(header) == problem


def test_token_shape_checks_keep_a_real_looking_token() -> None:
    token = forged_token("https://smba.trafficmanager.net/amer/")
    assert auth.token_problem(f"Bearer {token}") is None
    assert auth.token_problem(f"Bearer {token}", now=time.time() + 3 * 3600) == "expired"


async def test_the_emulator_mode_checks_no_token_and_fetches_no_keys(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an app id a token is ignored: checking one would fetch keys with blocking HTTP on the
    event loop (a server that answers 500 at once stands in for the key endpoint)."""
    fetched: list[str] = []

    async def refuse(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.Response(status=500)

    keys = web.Application()
    keys.router.add_get("/{tail:.*}", refuse)
    server = TestServer(keys, host="127.0.0.1")
    await server.start_server()
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", str(server.make_url("/openid")))
    monkeypatch.setattr(JwtTokenExtractor, "metadataCache", {})
    try:
        async for env in teams_env(sqlite_db, tmp_path):
            headers = {"Authorization": f"Bearer {forged_token(env.service_url)}"}
            answer = await env.post(
                personal_message("help", MAYA_T, service_url=env.service_url), headers=headers
            )
            assert answer.status == 201
    finally:
        await server.close()
    assert fetched == []
