"""Bot Framework authentication when an app id is set, and the Teams settings."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.teams.auth import SettingsError, check_settings
from bot.settings import Settings
from storage.db import Database
from tests.teams_activities import bot_added, personal_message, user
from tests.teams_env import TEAMS_VARIABLES, TeamsEnv, clear_teams_environment, teams_env

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
