"""Health over the database: recomputing the daily snapshots, and reading an account's health with its
trend and drivers.

``recompute`` walks the accounts in id ranges of ``chunk_size``: per range a handful of set-based
queries (see ``bot.health.load``), pure scoring, and one batched upsert, committed per range so a
long recompute never holds a write lock for long. Snapshot components are stored as JSON,
``name -> {"score", "weight", "reason"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.health.components import COMPONENT_NAMES, ComponentScore
from bot.health.engine import Driver, HealthResult, compute_health, drivers, not_enough_data_reason
from bot.health.load import Accounts, account_id_ranges, load_inputs
from bot.health.model import HealthModel, load_health_model
from storage.db import Database
from storage.models import Band, HealthSnapshot
from storage.types import utcnow
from storage.upsert import upsert

DEFAULT_CHUNK_SIZE = 5000
TREND_DAYS = (7, 30)


@dataclass(frozen=True, slots=True)
class RecomputeSummary:
    day: date
    accounts: int
    bands: Mapping[str, int] = field(default_factory=dict)  # band value -> number of accounts


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """An account's health on ``day``, how it moved, and what pulls it down.

    ``trend_7``/``trend_30`` are score points against the stored snapshots 7 and 30 days earlier
    (None when either score is missing). ``stored`` is False when no snapshot existed for ``day`` and
    the health was computed on the fly (and not saved).
    """

    account_id: int
    day: date
    score: float | None
    band: Band
    confidence: float
    components: tuple[ComponentScore, ...]
    trend_7: float | None
    trend_30: float | None
    drivers: tuple[Driver, ...]
    reason: str | None = None  # why there is no score, when there is none
    stored: bool = True


# ----------------------------------------------------------------------------------------- (de)coding


def components_json(components: Iterable[ComponentScore]) -> dict[str, dict[str, Any]]:
    return {c.name: {"score": c.score, "weight": c.weight, "reason": c.reason} for c in components}


def components_from_json(data: Mapping[str, Any]) -> tuple[ComponentScore, ...]:
    """Stored components in display order (registry order, then any component no longer known)."""

    def order(name: str) -> tuple[int, str]:
        return (COMPONENT_NAMES.index(name) if name in COMPONENT_NAMES else len(COMPONENT_NAMES), name)

    result = []
    for name in sorted(data, key=order):
        entry = data[name]
        score = entry.get("score")
        result.append(
            ComponentScore(
                name=name,
                score=None if score is None else float(score),
                weight=float(entry.get("weight", 0.0)),
                reason=str(entry.get("reason", "")),
            )
        )
    return tuple(result)


def snapshot_row(account_id: int, day: date, result: HealthResult) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "day": day,
        "score": result.score,
        "band": result.band.value,
        "confidence": result.confidence,
        "components": components_json(result.components),
        "computed_at": utcnow(),
    }


# ------------------------------------------------------------------------------------------- recompute


async def recompute(
    db: Database, day: date, *, model: HealthModel | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> RecomputeSummary:
    """Compute every account's health as of ``day`` and upsert one snapshot per account for that day."""
    model = model or load_health_model()
    async with db.sessions() as session:
        ranges = await account_id_ranges(session, chunk_size)
    bands: dict[str, int] = {}
    count = 0
    for first, last in ranges:
        async with db.transaction() as session:
            count += await _recompute_range_of_ids(session, day, Accounts.between(first, last), model, bands)
    return RecomputeSummary(day, count, dict(sorted(bands.items())))


async def recompute_accounts(
    db: Database, day: date, account_ids: Sequence[int], *, model: HealthModel | None = None
) -> None:
    """Refresh the snapshots of a few accounts for ``day``, after a change that moves their health
    (a logged follow-up is engagement; a milestone done no longer counts as overdue)."""
    if not account_ids:
        return
    async with db.transaction() as session:
        await _recompute_range_of_ids(
            session, day, Accounts.of(account_ids), model or load_health_model(), {}
        )


async def _recompute_range_of_ids(
    session: AsyncSession, day: date, accounts: Accounts, model: HealthModel, bands: dict[str, int]
) -> int:
    rows = []
    for inputs in await load_inputs(session, day, accounts):
        result = compute_health(inputs, model)
        bands[result.band.value] = bands.get(result.band.value, 0) + 1
        rows.append(snapshot_row(inputs.account_id, day, result))
    await upsert(session, HealthSnapshot, rows, key=["account_id", "day"])
    return len(rows)


async def recompute_range(
    db: Database,
    since: date,
    until: date,
    *,
    model: HealthModel | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> list[RecomputeSummary]:
    """Backfill: :func:`recompute` for every day from ``since`` to ``until`` inclusive, oldest first."""
    if since > until:
        raise ValueError(f"since ({since}) is after until ({until})")
    model = model or load_health_model()
    summaries = []
    day = since
    while day <= until:
        summaries.append(await recompute(db, day, model=model, chunk_size=chunk_size))
        day += timedelta(days=1)
    return summaries


# ---------------------------------------------------------------------------------------------- reading


async def account_breakdown(
    db: Database, account_id: int, day: date, *, model: HealthModel | None = None
) -> AccountHealth | None:
    """One account's health on ``day`` with trend and drivers; None when the account does not exist."""
    return (await latest_health(db, [account_id], day, model=model)).get(account_id)


async def latest_health(
    db: Database,
    account_ids: Sequence[int],
    day: date,
    *,
    model: HealthModel | None = None,
    compute_missing: bool = True,
) -> dict[int, AccountHealth]:
    """The health on ``day`` of many accounts at once, keyed by account id.

    Stored snapshots are used where they exist; accounts without one for ``day`` are computed on the
    fly in one batch (unless ``compute_missing`` is False, when they are left out). Ids of accounts that
    do not exist are left out.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    days = [day, *(day - timedelta(days=n) for n in TREND_DAYS)]
    async with db.sessions() as session:
        snapshots = await _snapshots(session, ids, days)
        missing = [i for i in ids if (i, day) not in snapshots]
        computed: dict[int, HealthResult] = {}
        if missing and compute_missing:
            model = model or load_health_model()
            for inputs in await load_inputs(session, day, Accounts.of(missing)):
                computed[inputs.account_id] = compute_health(inputs, model)
    result: dict[int, AccountHealth] = {}
    for account_id in ids:
        snapshot = snapshots.get((account_id, day))
        if snapshot is not None:
            score, band, confidence, components = snapshot
            stored = True
        elif account_id in computed:
            health = computed[account_id]
            score, band, confidence, components = (
                health.score,
                health.band,
                health.confidence,
                health.components,
            )
            stored = False
        else:
            continue
        trends = []
        for n in TREND_DAYS:
            past = snapshots.get((account_id, day - timedelta(days=n)))
            trends.append(
                None if score is None or past is None or past[0] is None else round(score - past[0], 1)
            )
        result[account_id] = AccountHealth(
            account_id=account_id,
            day=day,
            score=score,
            band=band,
            confidence=confidence,
            components=components,
            trend_7=trends[0],
            trend_30=trends[1],
            drivers=drivers(components),
            reason=not_enough_data_reason(components) if score is None else None,
            stored=stored,
        )
    return result


_Snapshot = tuple[float | None, Band, float, tuple[ComponentScore, ...]]


async def _snapshots(
    session: AsyncSession, ids: Sequence[int], days: Sequence[date]
) -> dict[tuple[int, date], _Snapshot]:
    """The snapshots of ``ids`` on ``days``; only the first day's rows carry their components.

    The other days are read for their score (the trend): decoding their components JSON too cost
    about a third of a CSM digest batch.
    """
    h = HealthSnapshot
    found: dict[tuple[int, date], _Snapshot] = {}
    first, *others = days
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        stmt = select(h.account_id, h.day, h.score, h.band, h.confidence, h.components).where(
            and_(h.account_id.in_(chunk), h.day == first)
        )
        for account_id, day, score, band, confidence, components in await session.execute(stmt):
            found[(account_id, day)] = (
                score,
                _band(band),
                float(confidence),
                components_from_json(components or {}),
            )
        if others:
            trend = select(h.account_id, h.day, h.score, h.band, h.confidence).where(
                and_(h.account_id.in_(chunk), h.day.in_(others))
            )
            for account_id, day, score, band, confidence in await session.execute(trend):
                found[(account_id, day)] = (score, _band(band), float(confidence), ())
    return found


def _band(value: str) -> Band:
    try:
        return Band(value)
    except ValueError:
        return Band.UNKNOWN
