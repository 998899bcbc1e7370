"""Health alerts, run after each daily recompute: tell an account's owner when it turns red or falls fast.

Two kinds, both read from the stored snapshots:

- ``red``: the band on ``day`` is red and the account's previous snapshot (the latest before ``day``)
  was not. An account with no earlier snapshot has nothing to cross from and is not alerted;
- ``drop``: the score on ``day`` is at least ``drop_points`` (15) below the score 7 days earlier.

Churned accounts are not alerted on (a snapshot stored on the day the account churned, before it did,
does not bring one).

The same kind is not repeated for the same account within ``repeat_days`` (7) days: every alert sent is
recorded as a :class:`storage.models.HealthAlert` row. When both kinds fire for an account on the same
day the owner gets one message (keyed as the red alert) and both are recorded. Outbox keys are
``alert:{account}:{kind}:{day}``, so a second run for the same day adds nothing.

The alert rows and the message commit together. The message is a living message (:mod:`storage.living`):
a follow-up logged from its button, and the account leaving red (:func:`note_recoveries`, run after the
alerts each day), are written on it in place. Messages wait for the owner's working hours
(``not_before``) unless ``hours`` is None.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from bot import actions
from bot.format import day_text, days_until_text, money, score_text
from bot.health.alert_notes import alert_subject, note_in
from bot.health.service import AccountHealth, latest_health
from bot.log import get_logger
from bot.recipients import DEFAULT_WORKING_HOURS, WorkingHours, address_for, zone_of
from bot.serialize import outbox_message
from bot.types import Actions, Block, Button, Fields, Reply, Text
from scheduler.reminders_messages import health_text
from storage import living
from storage.db import Database
from storage.models import Account, Band, HealthAlert, HealthSnapshot, Person
from storage.queries import not_churned

log = get_logger("touchpoint.scheduler.alerts")

PURPOSE = "alert"
RED = "red"
DROP = "drop"
DROP_POINTS = 15.0
DROP_DAYS = 7
REPEAT_DAYS = 7
RECOVERY_DAYS = 30  # a red alert this recent says so when its account leaves red


@dataclass(frozen=True, slots=True)
class AlertStats:
    """One run. ``red``/``drop`` count the alerts due after de-duplication, ``suppressed`` those left out
    because the same kind was sent for the account in the last ``repeat_days`` days; ``enqueued`` the new
    outbox rows. ``no_owner`` are accounts that alerted with nobody to tell, ``unreachable`` owners with
    no Slack or Teams identity: callers report both to the admins."""

    red: int = 0
    drop: int = 0
    suppressed: int = 0
    enqueued: int = 0
    no_owner: tuple[int, ...] = ()
    unreachable: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Crossing:
    account_id: int
    score: float | None
    previous_band: str
    previous_score: float | None
    previous_day: date


@dataclass(frozen=True, slots=True)
class _Drop:
    account_id: int
    score: float
    before: float


@dataclass(slots=True)
class _Alert:
    account_id: int
    name: str
    owner_id: int | None
    arr: Decimal | None
    renewal_date: date | None
    crossing: _Crossing | None = None
    drop: _Drop | None = None

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, found in ((RED, self.crossing), (DROP, self.drop)) if found is not None]


async def enqueue_health_alerts(
    db: Database,
    *,
    day: date,
    now: datetime,
    drop_points: float = DROP_POINTS,
    repeat_days: int = REPEAT_DAYS,
    hours: WorkingHours | None = DEFAULT_WORKING_HOURS,
) -> AlertStats:
    """Queue the alerts the snapshots of ``day`` call for, and record them."""
    current = aliased(HealthSnapshot)
    earlier = aliased(HealthSnapshot)
    inner = aliased(HealthSnapshot)
    previous_day = (
        select(func.max(inner.day))
        .where(inner.account_id == current.account_id, inner.day < day)
        .correlate(current)
        .scalar_subquery()
    )
    crossings = (
        select(
            current.account_id,
            current.score,
            earlier.band,
            earlier.score,
            earlier.day,
            Account.name,
            Account.owner_id,
            Account.arr,
            Account.renewal_date,
        )
        .select_from(current)
        .join(earlier, and_(earlier.account_id == current.account_id, earlier.day == previous_day))
        .join(Account, Account.id == current.account_id)
        .where(current.day == day, current.band == Band.RED.value, earlier.band != Band.RED.value)
        .where(not_churned())
    )
    drops = (
        select(
            current.account_id,
            current.score,
            earlier.score,
            Account.name,
            Account.owner_id,
            Account.arr,
            Account.renewal_date,
        )
        .select_from(current)
        .join(
            earlier,
            and_(earlier.account_id == current.account_id, earlier.day == day - timedelta(days=DROP_DAYS)),
        )
        .join(Account, Account.id == current.account_id)
        .where(
            current.day == day,
            current.score.is_not(None),
            earlier.score.is_not(None),
            earlier.score - current.score >= drop_points,
            not_churned(),
        )
    )
    found: dict[int, _Alert] = {}
    async with db.sessions() as session:
        for (
            account_id,
            score,
            band,
            before,
            before_day,
            name,
            owner_id,
            arr,
            renewal,
        ) in await session.execute(crossings):
            alert = found.setdefault(account_id, _Alert(account_id, name, owner_id, arr, renewal))
            alert.crossing = _Crossing(account_id, score, band, before, before_day)
        for account_id, score, before, name, owner_id, arr, renewal in await session.execute(drops):
            alert = found.setdefault(account_id, _Alert(account_id, name, owner_id, arr, renewal))
            if score is not None and before is not None:  # both are, by the query
                alert.drop = _Drop(account_id, score, before)
        if not found:
            return AlertStats()
        window = timedelta(days=repeat_days)
        recent_rows = await session.execute(
            select(HealthAlert.account_id, HealthAlert.kind).where(
                HealthAlert.day > day - window, HealthAlert.day < day + window
            )
        )
        recent = {(account_id, kind) for account_id, kind in recent_rows}
        suppressed = 0
        for alert in found.values():
            if alert.crossing is not None and (alert.account_id, RED) in recent:
                alert.crossing, suppressed = None, suppressed + 1
            if alert.drop is not None and (alert.account_id, DROP) in recent:
                alert.drop, suppressed = None, suppressed + 1
        alerts = [a for a in found.values() if a.kinds]
        owner_ids = sorted({a.owner_id for a in alerts if a.owner_id is not None})
        owners = {
            p.id: p
            for p in (
                await session.execute(
                    select(Person.id, Person.timezone, Person.slack_user_id, Person.teams_user_id).where(
                        Person.id.in_(owner_ids)
                    )
                )
            ).all()
        }

    no_owner = tuple(sorted(a.account_id for a in alerts if a.owner_id is None))
    unreachable: set[int] = set()
    sendable: list[tuple[_Alert, int]] = []
    for alert in alerts:
        if alert.owner_id is None:
            log.warning("health_alert_without_owner", account_id=alert.account_id, kinds=alert.kinds)
            continue
        owner = owners.get(alert.owner_id)
        if owner is None or address_for(owner.id, owner.slack_user_id, owner.teams_user_id) is None:
            log.warning(
                "health_alert_owner_unreachable", account_id=alert.account_id, person_id=alert.owner_id
            )
            unreachable.add(alert.owner_id)
            continue
        sendable.append((alert, alert.owner_id))

    health = await latest_health(db, [a.account_id for a, _ in sendable], day, compute_missing=False)
    enqueued = 0
    if sendable:
        # The alert rows, the messages and their living posts commit together: a crash leaves either
        # all of them or none, and the next run decides again.
        async with db.transaction() as session:
            rows = {
                alert.account_id: [
                    HealthAlert(account_id=alert.account_id, kind=kind, day=day, created_at=now)
                    for kind in alert.kinds
                ]
                for alert, _ in sendable
            }
            session.add_all(row for group in rows.values() for row in group)
            await session.flush()
            posts = []
            for alert, owner_id in sendable:
                owner = owners[owner_id]
                address = address_for(owner.id, owner.slack_user_id, owner.teams_user_id)
                assert address is not None
                not_before = hours.next_open(now, zone_of(owner.timezone)) if hours is not None else None
                alert_id = rows[alert.account_id][0].id
                message = outbox_message(
                    alert_key(alert.account_id, alert.kinds[0], day),
                    PURPOSE,
                    address,
                    alert_reply(alert, health.get(alert.account_id), day, alert_id=alert_id),
                    not_before=None if not_before == now else not_before,
                )
                posts.append((alert_subject(alert_id), message))
            enqueued = len(await living.post_in(session, posts, now=now))
    by_kind: dict[str, int] = defaultdict(int)
    for alert in alerts:
        for kind in alert.kinds:
            by_kind[kind] += 1
    stats = AlertStats(
        red=by_kind[RED],
        drop=by_kind[DROP],
        suppressed=suppressed,
        enqueued=enqueued,
        no_owner=no_owner,
        unreachable=tuple(sorted(unreachable)),
    )
    log.info(
        "health_alerts_enqueued",
        day=day.isoformat(),
        red=stats.red,
        drop=stats.drop,
        suppressed=stats.suppressed,
        enqueued=stats.enqueued,
        no_owner=len(stats.no_owner),
        unreachable=len(stats.unreachable),
    )
    return stats


def alert_key(account_id: int, kind: str, day: date) -> str:
    return f"alert:{account_id}:{kind}:{day.isoformat()}"


def alert_reply(alert: _Alert, health: AccountHealth | None, day: date, *, alert_id: int) -> Reply:
    lines = []
    if alert.crossing is not None:
        was = f"{score_text(alert.crossing.previous_score)} ({alert.crossing.previous_band})"
        lines.append(
            f"🔴 **{alert.name}** turned red: health {score_text(alert.crossing.score)}, "
            f"was {was} on {day_text(alert.crossing.previous_day)}."
        )
    if alert.drop is not None:
        fall = alert.drop.before - alert.drop.score
        lines.append(
            f"📉 **{alert.name}** health fell {fall:.0f} points in {DROP_DAYS} days: "
            f"{score_text(alert.drop.before)} → {score_text(alert.drop.score)}."
        )
    renewal = "n/a"
    if alert.renewal_date is not None:
        renewal = f"{day_text(alert.renewal_date)} ({days_until_text(alert.renewal_date, day)})"
    blocks: list[Block] = [
        Text("\n".join(lines)),
        Fields((("Health", health_text(health)), ("ARR", money(alert.arr)), ("Renewal", renewal))),
    ]
    if health is not None and health.drivers:
        blocks.append(Text("**Why:** " + "; ".join(d.reason for d in health.drivers)))
    blocks.append(
        Actions(
            (
                Button(
                    label="Open account",
                    action=actions.ACCOUNT_OPEN,
                    payload={"account_id": alert.account_id},
                ),
                Button(
                    label="Log follow-up",
                    action=actions.FOLLOWUP_OPEN_FORM,
                    payload={"account_id": alert.account_id, "alert_id": alert_id},
                ),
            )
        )
    )
    return Reply(summary=" ".join(lines).replace("**", ""), blocks=tuple(blocks))


async def note_recoveries(db: Database, *, day: date, now: datetime, window_days: int = RECOVERY_DAYS) -> int:
    """Write on each red alert of the last ``window_days`` days whose account is no longer red on
    ``day`` that it recovered (once: ``recovered_on``); returns how many alerts were."""
    since = day - timedelta(days=window_days)
    found = (
        select(HealthAlert, HealthSnapshot.band, HealthSnapshot.score)
        .join(
            HealthSnapshot,
            and_(HealthSnapshot.account_id == HealthAlert.account_id, HealthSnapshot.day == day),
        )
        .where(
            HealthAlert.kind == RED,
            HealthAlert.recovered_on.is_(None),
            HealthAlert.day >= since,
            HealthAlert.day < day,
            HealthSnapshot.band != Band.RED.value,
        )
    )
    count = 0
    async with db.transaction() as session:
        for alert, band, score in (await session.execute(found)).all():
            alert.recovered_on = day
            line = f"✅ Out of red on {day_text(day)}: {band}, health {score_text(score)}."
            await note_in(
                session, alert.id, line, revision=f"recovered:{day.isoformat()}", now=now, closed=True
            )
            count += 1
    if count:
        log.info("health_alert_recoveries_noted", day=day.isoformat(), count=count)
    return count
