"""Recurring feedback across accounts: the same tag, or near-identical text, raised for several accounts
is a systemic issue for CX to fix at scale.

How texts are compared (:func:`normalise_text`, :func:`similar`, :func:`text_clusters`), how a theme's
alert reads (:func:`theme_reply`), and the "Acknowledge all" button (:func:`acknowledge_theme`), which
acknowledges every new item of the theme and tells each originator. Finding themes on a schedule is
:func:`scheduler.feedback_jobs.detect_themes`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rapidfuzz import fuzz
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions
from bot.feedback.messages import PURPOSE
from bot.format import money, plural, truncate
from bot.log import get_logger
from bot.recipients import address_for
from bot.serialize import outbox_message
from bot.types import Actions, Button, Header, Reply, Text
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
)

log = get_logger("touchpoint.feedback.themes")

TEXT_SIMILARITY = 90.0


MIN_TEXT_TOKENS = 3  # shorter texts ("bug", "slow") match everything under token_set_ratio


MAX_THEME_LINES = 15


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
class ThemeItem:
    id: int
    account_id: int
    tags: list[str]
    text: str
    theme_id: int | None
    created_at: datetime
    norm: str = ""


def text_clusters(items: Sequence[ThemeItem]) -> list[list[ThemeItem]]:
    """Items grouped by near-identical text, in order of their first item (single link to the first
    text of each group, compared oldest first)."""
    groups: list[list[ThemeItem]] = []
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


def theme_reply(
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


async def theme_accounts(
    session: AsyncSession, items: Iterable[ThemeItem]
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


# Tags a survey item carries: they say where it came from, not what it is about.
SURVEY_TAGS = frozenset({SurveyKind.NPS.value, SurveyKind.CSAT.value, SurveyKind.CES.value})
