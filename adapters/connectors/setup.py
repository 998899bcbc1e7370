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
from adapters.connectors.segment.counts import NAME as SEGMENT
from adapters.connectors.segment.counts import SegmentCounts
from adapters.connectors.sources_config import SegmentConfig, ZendeskConfig
from adapters.connectors.zendesk.client import ZendeskClient
from adapters.connectors.zendesk.sync import ZendeskSync
from adapters.connectors.zendesk.tickets import NAME as ZENDESK
from bot.feedback.routing import Routing, routing_from_settings
from handlers.sync_status import LABELS
from storage.db import Database

CONNECTORS = (HUBSPOT, SALESFORCE, ZENDESK, SEGMENT)


class NotConfigured(ConnectorError):
    """The connector lacks its credentials or its ``[connectors.*]`` table."""


@dataclass(frozen=True, slots=True)
class Configured:
    """A connector ready to run: its name, its mapping and its credentials."""

    name: str
    config: HubSpotConfig | SalesforceConfig | ZendeskConfig | SegmentConfig
    base_url: str  # HubSpot's API, the Salesforce org's My Domain URL, the Zendesk account's URL
    token: str  # HubSpot's key, the connected app's client id, the Zendesk admin's email
    secret: str  # the connected app's client secret, the Zendesk API token ("" for HubSpot)
    source: str  # the configuration file, for messages
    routing: Routing | None = None  # where feedback from a source's survey comments goes


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
    if name == ZENDESK:
        api_token = _secret(settings.zendesk_api_token)
        missing = [
            setting
            for setting, value in (
                ("TOUCHPOINT_ZENDESK_URL", settings.zendesk_url),
                ("ZENDESK_EMAIL", settings.zendesk_email),
                ("ZENDESK_API_TOKEN", api_token),
            )
            if not value
        ]
        if missing:
            raise NotConfigured(
                f"{' and '.join(missing)} not set: create an API token in Zendesk (Admin Center > Apps and "
                "integrations > Zendesk API) and set it with your Zendesk URL and the admin's email",
                system=LABELS[ZENDESK],
            )
        return Configured(
            ZENDESK,
            connectors.zendesk or ZendeskConfig(),
            settings.zendesk_url,
            settings.zendesk_email,
            api_token,
            source,
            routing_from_settings(settings),
        )
    if name == SEGMENT:  # nothing to set: events arrive at /api/v1/segment; this counts them
        return Configured(SEGMENT, connectors.segment or SegmentConfig(), "", "", "", source)
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
    if isinstance(config, SegmentConfig):
        yield SegmentCounts(db, config, clock=clock, default_timezone=default_timezone, progress=progress)
        return
    if isinstance(config, ZendeskConfig):
        async with ZendeskClient(connector.base_url, connector.token, connector.secret) as zendesk:
            yield ZendeskSync(
                db,
                zendesk,
                config,
                clock=clock,
                default_timezone=default_timezone,
                progress=progress,
                routing=connector.routing,
            )
        return
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
