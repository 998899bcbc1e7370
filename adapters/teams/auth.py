"""Bot Framework authentication from Touchpoint's settings.

With no ``MicrosoftAppId`` botbuilder accepts requests without a token and sends without one: the
Bot Framework Emulator's mode, for a laptop only. With an app id every request must carry a valid
Bot Framework JWT and outgoing calls get a token for the app's credentials.

Connector clients are made with the HTTP library's own retries switched off: :mod:`adapters.
teams.delivery` retries (and honours Retry-After), so one failing call never turns into nine.

Checking a token must not hold anything else up, whoever sends it:

- :func:`token_problem` refuses, on the event loop and without any I/O, what cannot be a Bot Framework
  token (not a JWT, an algorithm or key id missing or not allowed, no issuer, expired).
- :class:`TokenVerifier` runs botbuilder's check (blocking HTTP for Microsoft's signing keys) on a few
  threads of its own, never the shared default pool that the rest of Touchpoint uses, and gives up
  after :data:`VERIFY_DEADLINE_SECONDS`.
- The signing keys are fetched with a timeout, by one thread at a time, and after a failed fetch not
  again for :data:`KEY_RETRY_SECONDS` (:class:`BoundedOpenIdMetadata`, installed in botbuilder's key
  cache when this module is imported). botbuilder's own fetch has no timeout and is tried again by
  every request while the keys are unreachable.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import jwt
import requests
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdMetadata

from bot.log import get_logger
from bot.settings import Settings

log = get_logger("touchpoint.teams.auth")

VERIFY_WORKERS = 4  # threads that check tokens; more requests wait for one (within the deadline)
VERIFY_DEADLINE_SECONDS = 10.0  # Teams waits 15 s for an answer
KEY_FETCH_TIMEOUT = (3.05, 5.0)  # seconds to connect, and to wait for each read, per key request
KEY_RETRY_SECONDS = 30.0  # after a failed key fetch, requests fail at once for this long
CLOCK_TOLERANCE_SECONDS = 5 * 60  # botbuilder's leeway on a token's expiry


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


# ------------------------------------------------------------------------------------ tokens


class TokenUncheckable(Exception):
    """The token could not be checked now (the signing keys are unreachable, or the check took too
    long): the request should be tried again later (503), not refused as forged."""


def token_problem(auth_header: str, *, now: float | None = None) -> str | None:
    """Why ``auth_header`` cannot carry a Bot Framework token, from the token alone (no signature
    check, no I/O); None when it may, and botbuilder must check it."""
    scheme, _, token = auth_header.partition(" ")
    if scheme != "Bearer" or not token or " " in token:
        return "not a bearer token"
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return "not a JWT"
    if header.get("alg") not in AuthenticationConstants.ALLOWED_SIGNING_ALGORITHMS:
        return "signing algorithm not allowed"
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        return "no key id"
    if not isinstance(claims.get("iss"), str):
        return "no issuer"
    expires = claims.get("exp")
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return "no expiry"
    if expires + CLOCK_TOLERANCE_SECONDS < (time.time() if now is None else now):
        return "expired"
    return None


class TokenVerifier:
    """Runs botbuilder's token check on threads of its own, bounded in time."""

    def __init__(self, *, workers: int = VERIFY_WORKERS, deadline_seconds: float | None = None) -> None:
        self._workers = workers
        self._deadline = deadline_seconds  # None: VERIFY_DEADLINE_SECONDS, read at each check
        self._pool: ThreadPoolExecutor | None = None

    async def authenticate(
        self, authentication: BotFrameworkAuthentication, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        """botbuilder's ``authenticate_request``; :class:`TokenUncheckable` when the keys cannot be had
        or the deadline passes, any other exception when the token is refused."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="teams-auth")
        check = functools.partial(_authenticate_in_thread, authentication, activity, auth_header)
        deadline = VERIFY_DEADLINE_SECONDS if self._deadline is None else self._deadline
        try:
            return await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(self._pool, check), deadline
            )
        except TimeoutError as error:
            raise TokenUncheckable(f"token check took over {deadline:g} s") from error

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _authenticate_in_thread(
    authentication: BotFrameworkAuthentication, activity: Activity, auth_header: str
) -> AuthenticateRequestResult:
    # botbuilder's check is a coroutine that blocks (requests); it gets an event loop of its own here.
    return asyncio.run(authentication.authenticate_request(activity, auth_header))


# ------------------------------------------------------------------------------- signing keys


class BoundedOpenIdMetadata(_OpenIdMetadata):  # type: ignore[misc]
    """botbuilder's cache of one OpenID configuration's signing keys, fetched with timeouts, by one
    thread at a time, and not again for :data:`KEY_RETRY_SECONDS` after a failure (stale keys are
    kept and used meanwhile). An unknown key id is "no key" rather than an ``IndexError``."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._lock = threading.Lock()
        self._failed_at: float | None = None

    async def get(self, key_id: str) -> Any:
        with self._lock:  # callers are threads of the verifier, each with its own event loop
            if self.last_updated < datetime.now() - timedelta(days=1):
                self._refresh_bounded(required=not self.keys)
            key = self._find(key_id)
            if key is None and self.last_updated < datetime.now() - timedelta(hours=1):
                self._refresh_bounded(required=False)
                key = self._find(key_id)
            return key

    def _refresh_bounded(self, *, required: bool) -> None:
        started = time.monotonic()
        if self._failed_at is not None and started - self._failed_at < KEY_RETRY_SECONDS:
            if required:
                raise TokenUncheckable("Bot Framework signing keys unavailable (fetch failed recently)")
            return
        try:
            response = requests.get(self.url, timeout=KEY_FETCH_TIMEOUT)
            response.raise_for_status()
            keys_response = requests.get(response.json()["jwks_uri"], timeout=KEY_FETCH_TIMEOUT)
            keys_response.raise_for_status()
            keys = keys_response.json()["keys"]
            if not isinstance(keys, list):
                raise TypeError("keys is not a list")
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            self._failed_at = time.monotonic()
            log.warning(
                "teams_signing_keys_unavailable",
                url=self.url,
                error=type(error).__name__,
                seconds=round(self._failed_at - started, 2),
            )
            if required:
                raise TokenUncheckable("Bot Framework signing keys unavailable") from error
            return
        self.keys = [key for key in keys if isinstance(key, dict)]
        self.last_updated = datetime.now()
        self._failed_at = None

    def _find(self, key_id: str) -> Any:
        if not any(key.get("kid") == key_id for key in self.keys):
            return None
        return super()._find(key_id)


_METADATA_LOCK = threading.Lock()


def bounded_metadata(metadata_url: str) -> BoundedOpenIdMetadata:
    """The key cache for ``metadata_url``, in botbuilder's own cache (replacing its unbounded kind)."""
    with _METADATA_LOCK:
        metadata = JwtTokenExtractor.metadataCache.get(metadata_url)
        if not isinstance(metadata, BoundedOpenIdMetadata):
            metadata = BoundedOpenIdMetadata(metadata_url)
            JwtTokenExtractor.metadataCache[metadata_url] = metadata
        return metadata


JwtTokenExtractor.get_open_id_metadata = staticmethod(bounded_metadata)
