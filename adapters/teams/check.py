"""Are the Teams settings usable? They must fit together (as botbuilder needs them), and Microsoft
must hand the app a Bot Framework token for them: the client-credentials request botbuilder makes
before every send, against ``TOUCHPOINT_TEAMS_LOGIN_URL``.

:func:`check_teams` answers what it found, or raises: ``ValueError`` for settings that cannot work,
``PermissionError`` when Microsoft refuses the credentials (both need a person), ``ConnectionError``
when Microsoft could not be asked (it may work a minute later).
"""

from __future__ import annotations

from typing import Any

import aiohttp
from botframework.connector.auth import AuthenticationConstants

from adapters.teams.auth import SettingsError, check_settings
from bot.settings import Settings

TIMEOUT_SECONDS = 10
TOKEN_PATH = "/oauth2/v2.0/token"


def token_url(settings: Settings) -> str:
    """Where botbuilder asks for the app's token: the app's tenant (SingleTenant) or Bot Framework's."""
    tenant = AuthenticationConstants.DEFAULT_CHANNEL_AUTH_TENANT
    if settings.microsoft_app_type == "SingleTenant" and settings.microsoft_app_tenant_id:
        tenant = settings.microsoft_app_tenant_id
    return settings.teams_login_url.rstrip("/") + f"/{tenant}{TOKEN_PATH}"


async def check_teams(settings: Settings, *, seconds: float = TIMEOUT_SECONDS) -> str:
    """What Teams runs as, after checking the settings and asking for a token (see the module's doc)."""
    try:
        check_settings(settings)
    except SettingsError as error:
        raise ValueError(str(error)) from None
    app_id = settings.microsoft_app_id
    if not app_id:
        return "Bot Framework Emulator mode (no MicrosoftAppId): unauthenticated, this machine only"
    if settings.microsoft_app_type == "UserAssignedMSI":
        return f"app {app_id} with a managed identity: its token is only issued on Azure, not checked here"
    assert settings.microsoft_app_password is not None  # check_settings made sure
    form = {
        "grant_type": "client_credentials",
        "client_id": app_id,
        "client_secret": settings.microsoft_app_password.get_secret_value(),
        "scope": f"{AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE}/.default",
    }
    url = token_url(settings)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session,
            session.post(url, data=form) as response,
        ):
            status = response.status
            answer = await _json(response)
    except (aiohttp.ClientError, OSError) as error:  # TimeoutError is an OSError
        reason = str(error) or type(error).__name__
        raise ConnectionError(
            f"TOUCHPOINT_TEAMS_LOGIN_URL: cannot reach {url} ({reason}); check the network"
        ) from None
    if status == 200 and answer.get("access_token"):
        return f"app {app_id} ({settings.microsoft_app_type}) gets a Bot Framework token"
    if 400 <= status < 500 and answer.get("error"):
        said = _first_sentence(str(answer.get("error_description") or answer["error"]))
        if answer["error"] == "invalid_client":  # RFC 6749: the client's authentication failed
            raise PermissionError(
                f"MicrosoftAppPassword: Microsoft refused the app's credentials ({said}); set a current "
                "client secret of the app registration (Certificates & secrets), and check MicrosoftAppId"
            )
        raise PermissionError(
            f"MicrosoftAppId: Microsoft refused the app ({said}); check MicrosoftAppId, MicrosoftAppType "
            "and MicrosoftAppTenantId against the Azure Bot"
        )
    raise ConnectionError(f"TOUCHPOINT_TEAMS_LOGIN_URL: {url} answered {status}; try again shortly")


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _first_sentence(text: str) -> str:
    """ "AADSTS7000215: Invalid client secret provided." from a description that goes on with trace ids."""
    line = text.strip().splitlines()[0] if text.strip() else text
    head, dot, _rest = line.partition(". ")
    return (head + dot).strip().rstrip(".")
