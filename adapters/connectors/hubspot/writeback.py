"""Writing each linked company's health back to HubSpot, so sales sees it too (``write_back = true``).

Five custom company properties, ``{write_back_prefix}_score`` (a number, empty when there is too little
data to score), ``_band`` (red, yellow, green or unknown), ``_trend`` (points against 30 days earlier),
``_drivers`` (the top three reasons, as text) and ``_date`` (the day the health was computed), from the
latest stored health snapshots. They are sent with HubSpot's batch update (100 a call) only for the
companies whose values differ from what was last written (a digest kept on the link), so a sync that
finds nothing new writes nothing. A company HubSpot refuses is reported and left for the next sync to
try again; the others are written. A dry run reports what it would write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date

from adapters.connectors.config import HubSpotConfig
from adapters.connectors.hubspot.client import HubSpotClient
from adapters.connectors.runs import SyncTally
from bot.health.service import AccountHealth, latest_health
from storage import connectors as store
from storage.db import Database
from storage.queries import latest_snapshot_day

COMPANIES = "companies"
CHUNK = 500  # links whose health is read at once
TOP_DRIVERS = 3


def health_values(health: AccountHealth | None, day: date) -> dict[str, str]:
    """The five values written for one account (``None``: no snapshot that day)."""
    if health is None:
        return {"score": "", "band": "unknown", "trend": "", "drivers": "", "date": day.isoformat()}
    score = "" if health.score is None else f"{health.score:.0f}"
    trend = "" if health.trend_30 is None else f"{health.trend_30:.0f}"
    drivers = "; ".join(d.reason for d in health.drivers[:TOP_DRIVERS])
    return {
        "score": score,
        "band": health.band.value,
        "trend": trend,
        "drivers": drivers or (health.reason or ""),
        "date": health.day.isoformat(),
    }


def digest(values: dict[str, str]) -> str:
    return hashlib.blake2b(json.dumps(values, sort_keys=True).encode(), digest_size=16).hexdigest()


async def write_back(
    db: Database,
    client: HubSpotClient,
    config: HubSpotConfig,
    tally: SyncTally,
    *,
    connector: str,
    today: date,
    dry_run: bool,
    planned: list[tuple[str, dict[str, str]]] | None = None,
) -> None:
    """Write the changed health of every linked company; ``planned`` collects what a dry run would send."""
    async with db.sessions() as session:
        day = await latest_snapshot_day(session, today)
        links = await store.active_links(session, connector)
    if day is None or not links:
        return
    names = config.write_back_properties()
    for start in range(0, len(links), CHUNK):
        chunk = links[start : start + CHUNK]
        health = await latest_health(db, [link.account_id for link in chunk], day, compute_missing=False)
        updates: list[tuple[str, dict[str, str]]] = []
        digests: dict[str, str] = {}
        for link in chunk:
            values = health_values(health.get(link.account_id), day)
            fingerprint = digest(values)
            if fingerprint == link.written:
                continue
            updates.append((link.crm_id, {names[key]: value for key, value in values.items()}))
            digests[link.crm_id] = fingerprint
        if not updates:
            continue
        if dry_run:
            tally.add("written", len(updates))
            if planned is not None:
                planned.extend(updates)
            continue
        await _send(db, client, tally, connector, updates, digests)


async def _send(
    db: Database,
    client: HubSpotClient,
    tally: SyncTally,
    connector: str,
    updates: Sequence[tuple[str, dict[str, str]]],
    digests: dict[str, str],
) -> None:
    result = await client.batch_update(COMPANIES, updates)
    async with db.transaction() as session:
        await store.save_written(session, connector, {crm_id: digests[crm_id] for crm_id in result.updated})
    tally.add("written", len(result.updated))
    tally.add("write_failed", len(result.failed))
    for crm_id, reason in result.failed:
        tally.problem(f"company {crm_id}", "write-back", f"{reason} (tried again on the next sync)")
