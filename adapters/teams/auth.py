"""Bot Framework authentication from Touchpoint's settings.

With no ``MicrosoftAppId`` botbuilder accepts requests without a token and sends without one: the
Bot Framework Emulator's mode, for a laptop only. With an app id every request must carry a valid
Bot Framework JWT and outgoing calls get a token for the app's credentials.

Connector clients are made with the HTTP library's own retries switched off: :mod:`adapters.teams.
delivery` retries (and honours Retry-After), so one failing call never turns into nine.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)

from bot.settings import Settings


class SettingsError(ValueError):
    """The Teams settings cannot work together."""


def check_settings(settings: Settings) -> None:
    app_type = settings.microsoft_app_type
    if app_type == "SingleTenant" and not (
        settings.microsoft_app_id and settings.microsoft_app_password and settings.microsoft_app_tenant_id
    ):
        raise SettingsError(
            "MicrosoftAppType=SingleTenant needs MicrosoftAppId, MicrosoftAppPassword "
            "and MicrosoftAppTenantId."
        )
    if app_type == "UserAssignedMSI" and not (settings.microsoft_app_id and settings.microsoft_app_tenant_id):
        raise SettingsError("MicrosoftAppType=UserAssignedMSI needs MicrosoftAppId and MicrosoftAppTenantId.")
    if settings.microsoft_app_id and app_type == "MultiTenant" and settings.microsoft_app_password is None:
        raise SettingsError("MicrosoftAppId is set but MicrosoftAppPassword is not.")


class _NoRetryConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        client = await self._inner.create(service_url, audience)
        client.config.retry_policy.retries = 0
        return client


class TouchpointAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """botbuilder's configuration-based authentication, with retry-free connector clients."""

    def __init__(self, settings: Settings) -> None:
        check_settings(settings)
        password = settings.microsoft_app_password
        configuration = SimpleNamespace(
            APP_ID=settings.microsoft_app_id,
            APP_PASSWORD=password.get_secret_value() if password is not None else None,
            APP_TYPE=settings.microsoft_app_type,
            APP_TENANTID=settings.microsoft_app_tenant_id,
        )
        self._inner = ConfigurationBotFrameworkAuthentication(configuration)

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await self._inner.authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _NoRetryConnectorFactory(result.connector_factory)
        return result

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _NoRetryConnectorFactory(self._inner.create_connector_factory(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        return await self._inner.create_user_token_client(claims_identity)

    def create_bot_framework_client(self) -> Any:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)
