"""The feedback loop's scheduled side: escalation and recurring themes.

- :func:`escalate_unacknowledged` (every 30 minutes): an item still ``new`` one business day after it
  was raised reminds its recipient; after three business days it goes to the recipient's manager.
  Business days are Monday to Friday in the recipient's time zone. ``FeedbackItem.escalation_level``
  goes 0 -> 1 -> 2 in the same transaction as the outbox row ``feedback:{id}:escalate:{level}``, so a
  level is never sent twice. An item found already past three business days (the scheduler was down)
  goes straight to the manager. A strongly negative item's messages carry the same marker as its card.
- :func:`detect_themes` (every 30 minutes): the same tag, or near-identical text, raised for
  ``min_accounts`` different accounts within ``window_days`` days is a systemic issue. It is alerted to
  the CX channel once (``FeedbackTheme.key`` is unique: ``tag:bug`` or ``text:<hash>``); items that join
  later get the theme's id and no second alert. How texts are compared, how the alert reads and the
  "Acknowledge all" button are in :mod:`bot.feedback.themes`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import actions
from bot.feedback.messages import PURPOSE
from bot.feedback.routing import channel_address
from bot.feedback.sentiment import STRONGLY_NEGATIVE, strongly_negative_marker
from bot.feedback.themes import (
    SURVEY_TAGS,
    ThemeItem,
    normalise_tag,
    normalise_text,
    text_clusters,
    theme_accounts,
    theme_reply,
)
from bot.format import plural, truncate
from bot.log import get_logger
from bot.recipients import DEFAULT_WORKING_HOURS, WorkingHours, address_for, zone_of
from bot.serialize import outbox_message
from bot.types import Actions, Button, Context, Reply, Text
from storage import outbox
from storage.db import Database
from storage.models import (
    Account,
    FeedbackItem,
    FeedbackState,
    FeedbackTheme,
    Person,
)

log = get_logger("touchpoint.scheduler.feedback")

REMIND, MANAGER = 1, 2
OPEN_STATES = (FeedbackState.NEW.value, FeedbackState.ACKNOWLEDGED.value)


# ------------------------------------------------------------------------------------------- helpers


def _quote(text: str, limit: int = 200) -> str:
    return "“" + truncate(" ".join(text.split()), limit) + "”"


# ---------------------------------------------------------------------------------------- escalation


def add_business_days(start: datetime, days: int, zone: tzinfo) -> datetime:
    """``start`` moved ``days`` business days (Monday to Friday) on in ``zone``, same wall-clock time.
    A start on a weekend counts from the Monday after, 00:00."""
    local = start.astimezone(zone)
    if local.weekday() >= 5:
        monday = local.date() + timedelta(days=7 - local.weekday())
        local = datetime.combine(monday, time(0), tzinfo=zone)
    day, at = local.date(), local.timetz().replace(tzinfo=None)
    for _ in range(days):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=zone)


def escalation_due(
    created_at: datetime, now: datetime, zone: tzinfo, business_days: tuple[int, int] = (1, 3)
) -> int:
    """The escalation level an item still ``new`` has reached at ``now``: 0, 1 (remind) or 2 (manager)."""
    if now >= add_business_days(created_at, business_days[1], zone):
        return MANAGER
    if now >= add_business_days(created_at, business_days[0], zone):
        return REMIND
    return 0


@dataclass(frozen=True, slots=True)
class EscalationStats:
    """One run. ``reminded``/``to_manager`` count the new outbox rows; ``no_manager`` are items whose
    recipient has no manager to escalate to, ``unreachable`` the people without Slack or Teams identity
    (those items are tried again next run)."""

    checked: int = 0
    reminded: int = 0
    to_manager: int = 0
    no_manager: tuple[int, ...] = ()
    unreachable: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Waiting:
    item_id: int
    level: int
    text: str
    created_at: datetime
    account_name: str | None
    recipient_id: int
    recipient_name: str
    manager_id: int | None
    sentiment: float | None = None


def _escalation_reply(
    item: _Waiting, level: int, now: datetime, zone: tzinfo, strongly_negative: float = STRONGLY_NEGATIVE
) -> Reply:
    about = f" about **{item.account_name}**" if item.account_name else ""
    age = max((now.astimezone(zone).date() - item.created_at.astimezone(zone).date()).days, 0)
    waited = plural(age, "day") if age else "less than a day"
    if level == REMIND:
        text = f"⏳ Feedback{about} has waited {waited} for you to acknowledge it: {_quote(item.text)}"
    else:
        text = (
            f"⚠️ Feedback{about} sent to {item.recipient_name} has not been acknowledged"
            f" in {waited}: {_quote(item.text)}"
        )
    marker = strongly_negative_marker(item.sentiment, threshold=strongly_negative)
    if marker:
        text = f"{text}\n**{marker}**"
    payload: dict[str, int | str | float | bool | None] = {"item_id": item.item_id}
    buttons = [Button(label="Acknowledge", action=actions.FEEDBACK_ACK, payload=payload, style="primary")]
    if level == MANAGER:
        buttons.append(Button(label="Reassign", action=actions.FEEDBACK_REASSIGN, payload=payload))
    return Reply(
        summary=text.replace("**", ""),
        blocks=(Text(text), Context((f"Feedback #{item.item_id}",)), Actions(tuple(buttons))),
    )


async def escalate_unacknowledged(
    db: Database,
    *,
    now: datetime,
    business_days: tuple[int, int] = (1, 3),
    hours: WorkingHours | None = DEFAULT_WORKING_HOURS,
    strongly_negative: float = STRONGLY_NEGATIVE,
) -> EscalationStats:
    """Remind recipients of items still ``new`` after ``business_days[0]`` business days and tell their
    manager after ``business_days[1]``. Messages wait for the addressee's working hours unless ``hours``
    is None; items whose tone is at or below ``strongly_negative`` are marked as such."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    first, second = business_days
    if not 0 < first < second:
        raise ValueError("business_days must be two increasing positive numbers of days")
    recipient, manager = aliased(Person), aliased(Person)
    # n business days are at least n calendar days minus a DST hour: the cheap filter for the index.
    oldest = now - timedelta(days=first) + timedelta(hours=1)
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(
                    FeedbackItem.id,
                    FeedbackItem.escalation_level,
                    FeedbackItem.text,
                    FeedbackItem.created_at,
                    Account.name,
                    recipient.id,
                    recipient.name,
                    recipient.timezone,
                    recipient.slack_user_id,
                    recipient.teams_user_id,
                    recipient.manager_id,
                    manager.timezone,
                    manager.slack_user_id,
                    manager.teams_user_id,
                    FeedbackItem.sentiment,
                )
                .join(recipient, recipient.id == FeedbackItem.recipient_id)
                .outerjoin(manager, manager.id == recipient.manager_id)
                .outerjoin(Account, Account.id == FeedbackItem.account_id)
                .where(
                    FeedbackItem.state == FeedbackState.NEW.value,
                    FeedbackItem.escalation_level < MANAGER,
                    FeedbackItem.created_at <= oldest,
                )
                .order_by(FeedbackItem.id)
            )
        ).all()
        messages: list[outbox.NewMessage] = []
        raised: dict[int, list[int]] = defaultdict(list)
        no_manager: list[int] = []
        unreachable: set[int] = set()
        for row in rows:
            (item_id, level, text, created_at, account_name, person_id, person_name, zone_name) = row[:8]
            slack, teams, manager_id, manager_zone, manager_slack, manager_teams, sentiment = row[8:]
            zone = zone_of(zone_name)
            due = escalation_due(created_at, now, zone, business_days)
            if due <= level:
                continue
            item = _Waiting(
                item_id, level, text, created_at, account_name, person_id, person_name, manager_id, sentiment
            )
            if due == MANAGER:
                if manager_id is None:
                    no_manager.append(item_id)
                    continue
                address = address_for(manager_id, manager_slack, manager_teams)
                target_id, target_zone = manager_id, zone_of(manager_zone)
            else:
                address = address_for(person_id, slack, teams)
                target_id, target_zone = person_id, zone
            if address is None:
                unreachable.add(target_id)
                continue
            not_before = hours.next_open(now, target_zone) if hours is not None else None
            reply = _escalation_reply(item, due, now, zone, strongly_negative)
            messages.append(
                outbox_message(
                    f"feedback:{item_id}:escalate:{due}", PURPOSE, address, reply, not_before=not_before
                )
            )
            raised[due].append(item_id)
        await outbox.enqueue_in(session, messages, now=now)
        for level, ids in raised.items():
            await session.execute(
                update(FeedbackItem)
                .where(FeedbackItem.id.in_(ids), FeedbackItem.escalation_level < level)
                .values(escalation_level=level)
                .execution_options(synchronize_session=False)
            )
    for person_id in sorted(unreachable):
        log.warning("feedback_escalation_unreachable", person_id=person_id)
    stats = EscalationStats(
        checked=len(rows),
        reminded=len(raised.get(REMIND, [])),
        to_manager=len(raised.get(MANAGER, [])),
        no_manager=tuple(no_manager),
        unreachable=tuple(sorted(unreachable)),
    )
    log.info(
        "feedback_escalated",
        checked=stats.checked,
        reminded=stats.reminded,
        to_manager=stats.to_manager,
        no_manager=len(stats.no_manager),
        unreachable=len(stats.unreachable),
    )
    return stats


# -------------------------------------------------------------------------------------------- themes


@dataclass(frozen=True, slots=True)
class ThemeStats:
    """One run: ``alerted`` new themes (one alert each), ``joined`` items added to a theme."""

    items: int = 0
    alerted: int = 0
    joined: int = 0
    theme_ids: tuple[int, ...] = field(default=())


async def _new_theme(session: AsyncSession, key: str, label: str, now: datetime) -> int | None:
    """Insert a theme; None when its key is already there (another run made it)."""
    bind = session.get_bind()
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(FeedbackTheme)
        .values(key=key, label=label[:200], created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(FeedbackTheme.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def detect_themes(
    db: Database,
    *,
    now: datetime,
    min_accounts: int = 3,
    window_days: int = 14,
    cx_channel: str | None,
) -> ThemeStats:
    """Find tags and near-identical texts raised for ``min_accounts`` accounts within ``window_days``
    days; alert each new one to ``cx_channel`` once and link its items (and later ones) to it."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if cx_channel is None:
        log.info("feedback_themes_skipped", reason="no CX channel configured")
        return ThemeStats()
    address = channel_address(cx_channel)
    if address is None:
        log.warning("feedback_themes_skipped", reason="the CX channel is not slack:ID or teams:ID")
        return ThemeStats()
    since = now - timedelta(days=window_days)
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(
                    FeedbackItem.id,
                    FeedbackItem.account_id,
                    FeedbackItem.tags,
                    FeedbackItem.text,
                    FeedbackItem.theme_id,
                    FeedbackItem.created_at,
                )
                .where(
                    FeedbackItem.account_id.is_not(None),
                    FeedbackItem.created_at >= since,
                    FeedbackItem.created_at <= now,
                )
                .order_by(FeedbackItem.created_at, FeedbackItem.id)
            )
        ).all()
        items = [
            ThemeItem(item_id, account_id, list(tags or ()), text, theme_id, created_at)
            for item_id, account_id, tags, text, theme_id, created_at in rows
            if account_id is not None
        ]
        for item in items:
            item.norm = normalise_text(item.text)
        existing = dict(
            (await session.execute(select(FeedbackTheme.key, FeedbackTheme.id))).all()
        )  # themes are few: one per systemic issue

        by_tag: dict[str, list[ThemeItem]] = defaultdict(list)
        for item in items:
            for tag in dict.fromkeys(normalise_tag(t) for t in item.tags or ()):
                if tag and tag not in SURVEY_TAGS:
                    by_tag[tag].append(item)

        alerted: list[int] = []
        joined = 0
        messages: list[outbox.NewMessage] = []

        async def settle(key: str, label: str, members: list[ThemeItem], theme_id: int | None) -> None:
            nonlocal joined
            free = [i for i in members if i.theme_id is None]
            if theme_id is None:
                if len({i.account_id for i in free}) < min_accounts:
                    return
                theme_id = await _new_theme(session, key, label, now)
                if theme_id is None:  # made meanwhile by another run: join it, no alert
                    theme_id = (
                        await session.execute(select(FeedbackTheme.id).where(FeedbackTheme.key == key))
                    ).scalar_one()
                else:
                    alerted.append(theme_id)
                    accounts = await theme_accounts(session, free)
                    reply = theme_reply(theme_id, label, accounts, window_days)
                    messages.append(outbox_message(f"feedback:theme:{theme_id}", PURPOSE, address, reply))
            if free:
                await session.execute(
                    update(FeedbackItem)
                    .where(FeedbackItem.id.in_([i.id for i in free]), FeedbackItem.theme_id.is_(None))
                    .values(theme_id=theme_id)
                    .execution_options(synchronize_session=False)
                )
                joined += len(free)
                for i in free:
                    i.theme_id = theme_id

        for tag, members in sorted(by_tag.items()):
            key = f"tag:{tag}"
            await settle(key, f"#{tag}", members, existing.get(key))
        for group in text_clusters(items):
            themed = [i.theme_id for i in group if i.theme_id is not None]
            digest = hashlib.sha1(group[0].norm.encode("utf-8")).hexdigest()[:16]
            label = _quote(group[0].text, 80)
            await settle(f"text:{digest}", label, group, themed[0] if themed else None)
        await outbox.enqueue_in(session, messages, now=now)
    stats = ThemeStats(items=len(items), alerted=len(alerted), joined=joined, theme_ids=tuple(alerted))
    log.info("feedback_themes", items=stats.items, alerted=stats.alerted, joined=stats.joined)
    return stats


# ------------------------------------------------------------------------------------------- surveys
