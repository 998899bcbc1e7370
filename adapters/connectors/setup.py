"""Which connectors this install has, built from the settings and ``touchpoint.toml``, and one sync of
one of them: what the CLI (``touchpoint sync``) and the scheduled jobs of ``serve`` both call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.connectors.config import HubSpotConfig, load_connectors_config
from adapters.connectors.errors import ConnectorError
from adapters.connectors.hubspot.client import HubSpotClient
from adapters.connectors.hubspot.sync import NAME as HUBSPOT
from adapters.connectors.hubspot.sync import HubSpotSync
from adapters.connectors.runs import Lease, SyncOutcome, SyncTally, run_sync
from storage.db import Database

CONNECTORS = (HUBSPOT,)
LABELS = {HUBSPOT: "HubSpot"}


class NotConfigured(ConnectorError):
    """The connector lacks its credentials or its ``[connectors.*]`` table."""


@dataclass(frozen=True, slots=True)
class Configured:
    """A connector ready to run: its name and what it needs."""

    name: str
    config: HubSpotConfig
    base_url: str
    token: str
    source: str  # the configuration file, for messages


def configured(settings: Any, name: str) -> Configured:
    """The connector ``name`` as this install sets it up; :class:`NotConfigured` says what is missing."""
    if name != HUBSPOT:
        raise NotConfigured(
            f"unknown connector {name!r} (expected one of {', '.join(CONNECTORS)})", system=name
        )
    token = settings.hubspot_access_token.get_secret_value() if settings.hubspot_access_token else ""
    if not token:
        raise NotConfigured(
            "HUBSPOT_ACCESS_TOKEN is not set: create a service key in HubSpot (Settings > Integrations > "
            "Service Keys) with the scopes the README lists, and set it",
            system=LABELS[HUBSPOT],
        )
    config = load_connectors_config(Path(settings.config_file)).hubspot or HubSpotConfig()
    return Configured(HUBSPOT, config, settings.hubspot_api_url, token, str(settings.config_file))


def scheduled(settings: Any) -> list[Configured]:
    """The connectors ``serve`` syncs on a schedule: a token set, and ``every`` not "off"."""
    found = []
    for name in CONNECTORS:
        try:
            connector = configured(settings, name)
        except NotConfigured:
            continue
        if connector.config.every is not None:
            found.append(connector)
    return found


async def sync_once(
    db: Database,
    connector: Configured,
    *,
    full: bool,
    dry_run: bool,
    clock: Callable[[], datetime],
    default_timezone: str = "UTC",
    progress: Callable[[int], object] | None = None,
    planned: list[tuple[str, dict[str, str]]] | None = None,
) -> SyncOutcome:
    """One sync of ``connector`` (see :func:`adapters.connectors.runs.run_sync`); a dry run adds what
    it would write back to ``planned``."""
    async with HubSpotClient(connector.base_url, connector.token) as hubspot:
        sync = HubSpotSync(
            db, hubspot, connector.config, clock=clock, default_timezone=default_timezone, progress=progress
        )

        async def work(tally: SyncTally, lease: Lease) -> None:
            await sync.run(tally, lease, full=full, dry_run=dry_run)
            if planned is not None:
                planned.extend(sync.planned)

        return await run_sync(db, connector.name, work, full=full, dry_run=dry_run, clock=clock)
