"""Writing each linked record's health back to the CRM, so sales sees it too (``write_back = true``).

Five values from the latest stored health snapshots: the score (empty when there is too little data to
score), the band (red, yellow, green or unknown), the trend (points against 30 days earlier), the top
three drivers as text, and the day the health was computed. Each connector ``render``s them into its
fields and ``send``s them in its batches; only the records whose values differ from what was last
written (a digest kept on the link) are sent, so a sync that finds nothing new writes nothing. A record
the CRM refuses is reported and left for the next sync to try again; the others are written. A dry run
collects what it would send.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, Protocol

from adapters.connectors.runs import SyncTally
from bot.health.service import AccountHealth, latest_health
from storage import connectors as store
from storage.db import Database
from storage.queries import latest_snapshot_day

CHUNK = 500  # links whose health is read at once
TOP_DRIVERS = 3
VALUES = ("score", "band", "trend", "drivers", "date")

HealthValues = dict[str, float | str | None]
Fields = dict[str, Any]


class Written(Protocol):
    """What a CRM's batch update answers: the ids written, and (id, reason) for each refused."""

    @property
    def updated(self) -> tuple[str, ...]: ...

    @property
    def failed(self) -> tuple[tuple[str, str], ...]: ...


Render = Callable[[HealthValues], Fields]
Send = Callable[[Sequence[tuple[str, Fields]]], Awaitable[Written]]


def health_values(health: AccountHealth | None, day: date) -> HealthValues:
    """The five values written for one account (``None``: no snapshot that day)."""
    if health is None:
        return {"score": None, "band": "unknown", "trend": None, "drivers": "", "date": day.isoformat()}
    drivers = "; ".join(d.reason for d in health.drivers[:TOP_DRIVERS])
    return {
        "score": None if health.score is None else round(health.score),
        "band": health.band.value,
        "trend": None if health.trend_30 is None else round(health.trend_30),
        "drivers": drivers or (health.reason or ""),
        "date": health.day.isoformat(),
    }


def digest(values: HealthValues) -> str:
    return hashlib.blake2b(json.dumps(values, sort_keys=True).encode(), digest_size=16).hexdigest()


async def write_back(
    db: Database,
    connector: str,
    tally: SyncTally,
    *,
    label: str,
    render: Render,
    send: Send,
    today: date,
    dry_run: bool,
    planned: list[tuple[str, Fields]] | None = None,
) -> None:
    """Write the changed health of every linked record; ``label`` names one in problems ("company")."""
    async with db.sessions() as session:
        day = await latest_snapshot_day(session, today)
        links = await store.active_links(session, connector)
    if day is None or not links:
        return
    for start in range(0, len(links), CHUNK):
        chunk = links[start : start + CHUNK]
        health = await latest_health(db, [link.account_id for link in chunk], day, compute_missing=False)
        updates: list[tuple[str, Fields]] = []
        digests: dict[str, str] = {}
        for link in chunk:
            values = health_values(health.get(link.account_id), day)
            fingerprint = digest(values)
            if fingerprint == link.written:
                continue
            updates.append((link.crm_id, render(values)))
            digests[link.crm_id] = fingerprint
        if not updates:
            continue
        if dry_run:
            tally.add("written", len(updates))
            if planned is not None:
                planned.extend(updates)
            continue
        result = await send(updates)
        async with db.transaction() as session:
            done = {crm_id: digests[crm_id] for crm_id in result.updated if crm_id in digests}
            await store.save_written(session, connector, done)
        tally.add("written", len(result.updated))
        tally.add("write_failed", len(result.failed))
        for crm_id, reason in result.failed:
            tally.problem(f"{label} {crm_id}", "write-back", f"{reason} (tried again on the next sync)")
