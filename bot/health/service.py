"""Health over the database: recomputing the daily snapshots, and reading an account's health with its
trend and drivers.

Churned accounts are not scored: a recompute for day D leaves out the accounts that had churned by D
(no new snapshot; their earlier ones stay, and a backfill still scores the days before a known churn
day). ``recompute`` walks the accounts in id ranges of ``chunk_size``: per range a handful of set-based
queries (see ``bot.health.load``), pure scoring, and one batched upsert, committed per range so a
long recompute never holds a write lock for long. Snapshot components are stored as JSON,
``name -> {"score", "weight", "reason"}``, with the fall against 30 days earlier (``bot.health.falls``).

One account cannot stop the others: when a range fails (its inputs make the engine or the database
fail), it is split in halves until the accounts that fail on their own are found, and each of those
is logged with its id and a reference and skipped (:attr:`RecomputeSummary.skipped`). A database that
cannot be reached is not one account's fault: that error ends the recompute as before. Reading an
account's health for its card leaves out, the same way, an account whose health cannot be computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import new_reference
from bot.health.components import COMPONENT_NAMES, ComponentScore
from bot.health.engine import Driver, HealthResult, compute_health, drivers, not_enough_data_reason
from bot.health.falls import refresh_falls, upsert_snapshots
from bot.health.load import Accounts, account_id_ranges, load_inputs
from bot.health.model import HealthModel, load_health_model
from bot.log import get_logger
from storage.db import Database
from storage.models import Account, Band, HealthSnapshot
from storage.models.accounts import FALL_DAYS
from storage.types import utcnow

log = get_logger("touchpoint.health")

DEFAULT_CHUNK_SIZE = 5000
TREND_DAYS = (7, 30)
# Skipped accounts logged with their traceback per recompute; later ones get one line each.
TRACEBACKS_PER_RUN = 3


@dataclass(frozen=True, slots=True)
class RecomputeSummary:
    day: date
    accounts: int
    bands: Mapping[str, int] = field(default_factory=dict)  # band value -> number of accounts
    skipped: tuple[int, ...] = ()  # ids of accounts whose health could not be computed or stored


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
    run = _Run(db, day, model)
    for first, last in ranges:
        await run.write(Accounts.between(first, last))
    return RecomputeSummary(day, run.count, dict(sorted(run.bands.items())), tuple(run.skipped))


async def recompute_accounts(
    db: Database, day: date, account_ids: Sequence[int], *, model: HealthModel | None = None
) -> None:
    """Refresh the snapshots of a few accounts for ``day``, after a change that moves their health
    (a logged follow-up is engagement; a milestone done no longer counts as overdue)."""
    if not account_ids:
        return
    await _Run(db, day, model or load_health_model()).write(Accounts.of(account_ids))


def _unreachable(error: Exception) -> bool:
    """Whether ``error`` says the database is gone (not that one account's data is wrong)."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated
    return isinstance(error, OSError | TimeoutError)


class _Run:
    """One recompute: writes ranges of accounts, each in a transaction of its own. When a range fails,
    it is split in halves until the accounts that fail on their own are found (a few transactions per
    bad account, not one per account of the range); those are logged and skipped."""

    def __init__(self, db: Database, day: date, model: HealthModel) -> None:
        self.db, self.day, self.model = db, day, model
        self.count = 0
        self.bands: dict[str, int] = {}
        self.skipped: list[int] = []

    async def write(self, accounts: Accounts) -> None:
        try:
            await self._write(accounts)
        except Exception as error:
            if _unreachable(error):
                raise
            await self._split(await self._ids(accounts), error)

    async def _split(self, ids: list[int], error: Exception) -> None:
        if len(ids) == 1:
            self._skip(ids[0], error)
            return
        middle = len(ids) // 2
        for half in (ids[:middle], ids[middle:]):
            try:
                await self._write(Accounts.of(half))
            except Exception as failure:
                if _unreachable(failure):
                    raise
                await self._split(half, failure)

    async def _write(self, accounts: Accounts) -> None:
        async with self.db.transaction() as session:
            rows = [
                snapshot_row(inputs.account_id, self.day, compute_health(inputs, self.model))
                for inputs in await load_inputs(session, self.day, accounts, scored_only=True)
            ]
            # The fall against 30 days earlier is stored with the snapshot (what ``risk`` reads), and
            # the snapshots 30 days later, if any, are compared with these new scores again.
            await upsert_snapshots(session, rows)
            await refresh_falls(session, self.day + timedelta(days=FALL_DAYS), accounts)
        self.count += len(rows)
        for row in rows:
            self.bands[row["band"]] = self.bands.get(row["band"], 0) + 1

    def _skip(self, account_id: int, error: Exception) -> None:
        self.skipped.append(account_id)
        log.warning(
            "health_account_skipped",
            account_id=account_id,
            day=self.day.isoformat(),
            reference=new_reference(),
            error=type(error).__name__,
            exc_info=error if len(self.skipped) <= TRACEBACKS_PER_RUN else None,
        )

    async def _ids(self, accounts: Accounts) -> list[int]:
        if accounts.ids is not None:
            return sorted(set(accounts.ids))
        async with self.db.sessions() as session:
            found = await session.scalars(
                select(Account.id).where(accounts.where(Account.id)).order_by(Account.id)
            )
            return list(found)


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
        computed = await _computed(db, day, missing, model or load_health_model())
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


async def _computed(
    db: Database, day: date, ids: Sequence[int], model: HealthModel
) -> dict[int, HealthResult]:
    """The health of ``ids`` computed now, in one batch; when the batch fails, one account at a time,
    leaving out (and logging) an account whose health cannot be computed."""

    async def compute(accounts: Accounts) -> dict[int, HealthResult]:
        async with db.sessions() as session:
            inputs = await load_inputs(session, day, accounts)
        return {i.account_id: compute_health(i, model) for i in inputs}

    try:
        return await compute(Accounts.of(ids))
    except Exception as error:
        if _unreachable(error):
            raise
        if len(ids) == 1:
            log.warning("health_not_computed", account_id=ids[0], reference=new_reference(), exc_info=error)
            return {}
    found: dict[int, HealthResult] = {}
    for account_id in ids:
        found.update(await _computed(db, day, [account_id], model))
    return found


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
