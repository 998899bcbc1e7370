"""Which connectors this install has, built from the settings and ``touchpoint.toml``, and one sync of
one of them: what the CLI (``touchpoint sync``) and the scheduled jobs of ``serve`` both call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from adapters.connectors.config import HubSpotConfig, SalesforceConfig, load_connectors_config
from adapters.connectors.errors import ConnectorError
from adapters.connectors.hubspot.client import HubSpotClient
from adapters.connectors.hubspot.sync import NAME as HUBSPOT
from adapters.connectors.hubspot.sync import HubSpotSync
from adapters.connectors.runs import Lease, SyncOutcome, SyncTally, run_sync
from adapters.connectors.salesforce.client import SalesforceClient
from adapters.connectors.salesforce.sync import NAME as SALESFORCE
from adapters.connectors.salesforce.sync import SalesforceSync
from handlers.sync_status import LABELS
from storage.db import Database

CONNECTORS = (HUBSPOT, SALESFORCE)


class NotConfigured(ConnectorError):
    """The connector lacks its credentials or its ``[connectors.*]`` table."""


@dataclass(frozen=True, slots=True)
class Configured:
    """A connector ready to run: its name, its mapping and its credentials."""

    name: str
    config: HubSpotConfig | SalesforceConfig
    base_url: str  # HubSpot's API, or the Salesforce org's My Domain URL
    token: str  # HubSpot's key, or the connected app's client id
    secret: str  # the connected app's client secret ("" for HubSpot)
    source: str  # the configuration file, for messages


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def configured(settings: Any, name: str) -> Configured:
    """The connector ``name`` as this install sets it up; :class:`NotConfigured` says what is missing."""
    source = str(settings.config_file)
    connectors = load_connectors_config(Path(settings.config_file))
    if name == HUBSPOT:
        token = _secret(settings.hubspot_access_token)
        if not token:
            raise NotConfigured(
                "HUBSPOT_ACCESS_TOKEN is not set: create a service key in HubSpot (Settings > Integrations > "
                "Service Keys) with the scopes the README lists, and set it",
                system=LABELS[HUBSPOT],
            )
        return Configured(
            HUBSPOT, connectors.hubspot or HubSpotConfig(), settings.hubspot_api_url, token, "", source
        )
    if name == SALESFORCE:
        client_id, secret = _secret(settings.salesforce_client_id), _secret(settings.salesforce_client_secret)
        missing = [
            setting
            for setting, value in (
                ("SALESFORCE_CLIENT_ID", client_id),
                ("SALESFORCE_CLIENT_SECRET", secret),
                ("SALESFORCE_LOGIN_URL", settings.salesforce_login_url),
            )
            if not value
        ]
        if missing:
            raise NotConfigured(
                f"{' and '.join(missing)} not set: create a connected app with the client credentials flow "
                "in Salesforce (see the README) and set its consumer key, secret and your My Domain URL",
                system=LABELS[SALESFORCE],
            )
        config = connectors.salesforce or SalesforceConfig()
        return Configured(SALESFORCE, config, settings.salesforce_login_url, client_id, secret, source)
    raise NotConfigured(f"unknown connector {name!r} (expected one of {', '.join(CONNECTORS)})", system=name)


def scheduled(settings: Any) -> list[Configured]:
    """The connectors ``serve`` syncs on a schedule: credentials set, and ``every`` not "off"."""
    found = []
    for name in CONNECTORS:
        try:
            connector = configured(settings, name)
        except NotConfigured:
            continue
        if connector.config.every is not None:
            found.append(connector)
    return found


class Sync(Protocol):
    planned: list[tuple[str, dict[str, Any]]]

    async def run(self, tally: SyncTally, lease: Lease, *, full: bool, dry_run: bool) -> None: ...


@asynccontextmanager
async def connector_sync(
    db: Database,
    connector: Configured,
    *,
    clock: Callable[[], datetime],
    default_timezone: str,
    progress: Callable[[int], object] | None,
) -> AsyncIterator[Sync]:
    """The connector's sync, with its client open."""
    config = connector.config
    if isinstance(config, SalesforceConfig):
        login = connector.base_url
        async with SalesforceClient(
            login, connector.token, connector.secret, api_version=config.api_version
        ) as salesforce:
            yield SalesforceSync(
                db, salesforce, config, clock=clock, default_timezone=default_timezone, progress=progress
            )
        return
    async with HubSpotClient(connector.base_url, connector.token) as hubspot:
        yield HubSpotSync(
            db, hubspot, config, clock=clock, default_timezone=default_timezone, progress=progress
        )


async def sync_once(
    db: Database,
    connector: Configured,
    *,
    full: bool,
    dry_run: bool,
    clock: Callable[[], datetime],
    default_timezone: str = "UTC",
    progress: Callable[[int], object] | None = None,
    planned: list[tuple[str, dict[str, Any]]] | None = None,
) -> SyncOutcome:
    """One sync of ``connector`` (see :func:`adapters.connectors.runs.run_sync`); a dry run adds what
    it would write back to ``planned``."""
    async with connector_sync(
        db, connector, clock=clock, default_timezone=default_timezone, progress=progress
    ) as sync:

        async def work(tally: SyncTally, lease: Lease) -> None:
            await sync.run(tally, lease, full=full, dry_run=dry_run)
            if planned is not None:
                planned.extend(sync.planned)

        return await run_sync(db, connector.name, work, full=full, dry_run=dry_run, clock=clock)
