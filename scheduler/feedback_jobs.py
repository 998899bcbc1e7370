"""The feedback loop's scheduled side: escalation, recurring themes and feedback from survey answers.

- :func:`escalate_unacknowledged` (every 30 minutes): an item still ``new`` one business day after it
  was raised reminds its recipient; after three business days it goes to the recipient's manager.
  Business days are Monday to Friday in the recipient's time zone. ``FeedbackItem.escalation_level``
  goes 0 -> 1 -> 2 in the same transaction as the outbox row ``feedback:{id}:escalate:{level}``, so a
  level is never sent twice. An item found already past three business days (the scheduler was down)
  goes straight to the manager. A strongly negative item's messages carry the same marker as its card.
- :func:`detect_themes` (every 30 minutes): the same tag, or near-identical text, raised for
  ``min_accounts`` different accounts within ``window_days`` days is a systemic issue. It is alerted to
  the CX channel once (``FeedbackTheme.key`` is unique: ``tag:bug`` or ``text:<hash>``); items that join
  later get the theme's id and no second alert. :func:`acknowledge_theme` is the "Acknowledge all" button.
- :func:`feedback_from_surveys`: a detractor (NPS 0-6) or CSAT 1-2 answer with a comment becomes a feedback
  item to the account's CSM, once per answer (``FeedbackItem.survey_response_id`` is unique).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import actions
from bot.feedback import Routing, channel_address, submit_feedback
from bot.format import money, plural, truncate
from bot.log import get_logger
from bot.recipients import DEFAULT_WORKING_HOURS, WorkingHours, address_for, zone_of
from bot.sentiment import STRONGLY_NEGATIVE, strongly_negative_marker
from bot.serialize import outbox_message
from bot.types import Actions, Button, Context, Header, Reply, Text
from storage import outbox
from storage.db import Database
from storage.models import (
    Account,
    FeedbackItem,
    FeedbackState,
    FeedbackTheme,
    FeedbackTransition,
    Person,
    SurveyKind,
    SurveyResponse,
)

log = get_logger("touchpoint.scheduler.feedback")

PURPOSE = "feedback"
REMIND, MANAGER = 1, 2
TEXT_SIMILARITY = 90.0
MIN_TEXT_TOKENS = 3  # shorter texts ("bug", "slow") match everything under token_set_ratio
# Tags a survey item carries: they say where it came from, not what it is about.
SURVEY_TAGS = frozenset({SurveyKind.NPS.value, SurveyKind.CSAT.value, SurveyKind.CES.value})
DETRACTOR_MAX = {SurveyKind.NPS.value: 6, SurveyKind.CSAT.value: 2}
SURVEY_FRESH_DAYS = 30  # an imported answer older than this is history, not news
MAX_THEME_LINES = 15
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

_PUNCTUATION = re.compile(r"[^\w\s]+")


def normalise_text(text: str) -> str:
    """Case-, accent-, punctuation- and whitespace-free text, for comparing feedback."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_PUNCTUATION.sub(" ", folded).split())


def similar(a: str, b: str) -> bool:
    """Whether two normalised texts are near-identical (token set ratio >= 90)."""
    return fuzz.token_set_ratio(a, b) >= TEXT_SIMILARITY


def normalise_tag(tag: str) -> str:
    return tag.strip().lstrip("#").lower()


@dataclass(slots=True)
class _Item:
    id: int
    account_id: int
    tags: list[str]
    text: str
    theme_id: int | None
    created_at: datetime
    norm: str = ""


@dataclass(slots=True)
class _Cluster:
    key: str
    label: str
    items: list[_Item]


def text_clusters(items: Sequence[_Item]) -> list[list[_Item]]:
    """Items grouped by near-identical text, in order of their first item (single link to the first
    text of each group, compared oldest first)."""
    groups: list[list[_Item]] = []
    for item in sorted(items, key=lambda i: (i.created_at, i.id)):
        if len(item.norm.split()) < MIN_TEXT_TOKENS:
            continue
        for group in groups:
            if similar(group[0].norm, item.norm):
                group.append(item)
                break
        else:
            groups.append([item])
    return groups


@dataclass(frozen=True, slots=True)
class ThemeStats:
    """One run: ``alerted`` new themes (one alert each), ``joined`` items added to a theme."""

    items: int = 0
    alerted: int = 0
    joined: int = 0
    theme_ids: tuple[int, ...] = field(default=())


def _theme_reply(
    theme_id: int, label: str, accounts: Sequence[tuple[str, Decimal | None, int]], window_days: int
) -> Reply:
    total = sum((arr for _, arr, _ in accounts if arr is not None), Decimal(0))
    title = f"Recurring feedback: {label}"
    lines = [
        f"• **{name}** · {money(arr)} ARR" + (f" · {plural(n, 'item')}" if n > 1 else "")
        for name, arr, n in accounts[:MAX_THEME_LINES]
    ]
    if len(accounts) > MAX_THEME_LINES:
        lines.append(f"…and {len(accounts) - MAX_THEME_LINES} more")
    text = (
        f"Raised for **{plural(len(accounts), 'account')}** in the last {plural(window_days, 'day')}"
        f" ({money(total)} ARR in all):\n" + "\n".join(lines)
    )
    button = Button(
        label="Acknowledge all",
        action=actions.FEEDBACK_THEME_ACK,
        payload={"theme_id": theme_id},
        style="primary",
    )
    summary = f"{title}: {plural(len(accounts), 'account')}, {money(total)} ARR"
    return Reply(
        summary=summary,
        blocks=(Header(title), Text(text), Actions((button,))),
        shared=True,
    )


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
            _Item(item_id, account_id, list(tags or ()), text, theme_id, created_at)
            for item_id, account_id, tags, text, theme_id, created_at in rows
            if account_id is not None
        ]
        for item in items:
            item.norm = normalise_text(item.text)
        existing = dict(
            (await session.execute(select(FeedbackTheme.key, FeedbackTheme.id))).all()
        )  # themes are few: one per systemic issue

        by_tag: dict[str, list[_Item]] = defaultdict(list)
        for item in items:
            for tag in dict.fromkeys(normalise_tag(t) for t in item.tags or ()):
                if tag and tag not in SURVEY_TAGS:
                    by_tag[tag].append(item)

        alerted: list[int] = []
        joined = 0
        messages: list[outbox.NewMessage] = []

        async def settle(key: str, label: str, members: list[_Item], theme_id: int | None) -> None:
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
                    accounts = await _theme_accounts(session, free)
                    reply = _theme_reply(theme_id, label, accounts, window_days)
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


async def _theme_accounts(
    session: AsyncSession, items: Iterable[_Item]
) -> list[tuple[str, Decimal | None, int]]:
    """(name, ARR, items) of the accounts of ``items``, largest ARR first."""
    counts: dict[int, int] = defaultdict(int)
    for item in items:
        counts[item.account_id] += 1
    rows = (
        await session.execute(select(Account.id, Account.name, Account.arr).where(Account.id.in_(counts)))
    ).all()
    found = [(name, arr, counts[account_id]) for account_id, name, arr in rows]
    return sorted(found, key=lambda a: (-(a[1] or 0), a[0]))


async def acknowledge_theme(db: Database, *, theme_id: int, actor_id: int | None, now: datetime) -> int:
    """Acknowledge every ``new`` item of the theme, with a transition each, and mark the theme
    acknowledged. Returns how many items changed (0 when the theme does not exist or all were seen)."""
    async with db.transaction() as session:
        theme = await session.get(FeedbackTheme, theme_id)
        if theme is None:
            return 0
        ids = list(
            (
                await session.execute(
                    update(FeedbackItem)
                    .where(FeedbackItem.theme_id == theme_id, FeedbackItem.state == FeedbackState.NEW.value)
                    .values(state=FeedbackState.ACKNOWLEDGED.value, updated_at=now)
                    .returning(FeedbackItem.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
        for item_id in sorted(ids):
            session.add(
                FeedbackTransition(
                    item_id=item_id,
                    actor_id=actor_id,
                    from_state=FeedbackState.NEW.value,
                    to_state=FeedbackState.ACKNOWLEDGED.value,
                    note=f"Acknowledged with the theme {theme.label}",
                    at=now,
                )
            )
        if theme.acknowledged_at is None:
            theme.acknowledged_at = now
            theme.acknowledged_by_id = actor_id
        await outbox.enqueue_in(
            session, await _originator_notes(session, ids, actor_id, theme.label), now=now
        )
    log.info("feedback_theme_acknowledged", theme_id=theme_id, items=len(ids), actor_id=actor_id)
    return len(ids)


async def _originator_notes(
    session: AsyncSession, item_ids: Sequence[int], actor_id: int | None, label: str
) -> list[outbox.NewMessage]:
    """Tell the originators of the acknowledged items (keyed as a one-by-one acknowledgement would be)."""
    if not item_ids:
        return []
    actor = await session.get(Person, actor_id) if actor_id is not None else None
    who = actor.name if actor is not None else "Someone"
    rows = (
        await session.execute(
            select(
                FeedbackItem.id,
                FeedbackItem.text,
                Account.name,
                Person.id,
                Person.slack_user_id,
                Person.teams_user_id,
            )
            .join(Person, Person.id == FeedbackItem.originator_id)
            .outerjoin(Account, Account.id == FeedbackItem.account_id)
            .where(FeedbackItem.id.in_(item_ids))
        )
    ).all()
    messages = []
    for item_id, text, account_name, person_id, slack, teams in rows:
        address = address_for(person_id, slack, teams)
        if address is None or person_id == actor_id:
            continue
        about = f" about **{account_name}**" if account_name else ""
        line = f"👀 {who} acknowledged your feedback{about} (#{item_id}) with the recurring theme {label}:"
        reply = Reply(
            summary=f"{who} acknowledged your feedback #{item_id}",
            blocks=(Text(f"{line}\n> {truncate(text, 300)}"),),
        )
        messages.append(
            outbox_message(f"feedback:{item_id}:acknowledged:originator", PURPOSE, address, reply)
        )
    return messages


# ------------------------------------------------------------------------------------------- surveys


def _survey_is_detractor() -> Any:
    return or_(
        *(
            and_(SurveyResponse.kind == kind, SurveyResponse.score <= high)
            for kind, high in DETRACTOR_MAX.items()
        )
    )


async def feedback_from_surveys(
    db: Database, *, since: datetime | None, now: datetime, routing: Routing
) -> int:
    """Make a feedback item to the owner CSM of every detractor answer (NPS 0-6, CSAT 1-2) with a
    comment submitted since ``since`` (None: any time) that has none yet. Returns how many were made."""
    clauses = [
        _survey_is_detractor(),
        SurveyResponse.comment.is_not(None),
        func.length(func.trim(SurveyResponse.comment)) > 0,
        SurveyResponse.submitted_at <= now,
        ~select(FeedbackItem.id).where(FeedbackItem.survey_response_id == SurveyResponse.id).exists(),
    ]
    if since is not None:
        clauses.append(SurveyResponse.submitted_at >= since)
    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(
                    SurveyResponse.id,
                    SurveyResponse.account_id,
                    SurveyResponse.kind,
                    SurveyResponse.comment,
                )
                .where(*clauses)
                .order_by(SurveyResponse.submitted_at, SurveyResponse.id)
            )
        ).all()
    made = 0
    for response_id, account_id, kind, comment in rows:
        item = await submit_feedback(
            db,
            originator_id=None,
            originator_team="cx",
            account_id=account_id,
            text=(comment or "").strip(),
            tags=[kind],
            urgent=False,
            source="survey",
            now=now,
            routing=routing,
            survey_response_id=response_id,
        )
        made += item is not None
    log.info("feedback_from_surveys", candidates=len(rows), made=made)
    return made


__all__ = [
    "SURVEY_FRESH_DAYS",
    "EscalationStats",
    "ThemeStats",
    "acknowledge_theme",
    "add_business_days",
    "detect_themes",
    "escalate_unacknowledged",
    "escalation_due",
    "feedback_from_surveys",
    "normalise_text",
    "similar",
]
