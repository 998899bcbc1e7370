"""Living messages: posts that are edited in place as their subject changes, and their threads.

A subject (a feedback item, a health alert) is posted through the outbox like any message, with a
:class:`storage.models.LivingMessage` row per post naming it by its outbox key (:func:`post`). Each
later state is queued as an *edit* of every post of the subject (:func:`edit`): an outbox row whose
``edit_of`` is the post's key. The worker looks up the post's platform id when it sends the edit
(:func:`edit_target`), so an edit queued before its post went out waits for it, and an edit overtaken
by a newer one is dropped rather than shown after it.

Replies written in a post's thread are matched back to the subject by the platform's id of the post
(:func:`subject_of_thread`) and kept as :class:`storage.models.ThreadReply` rows (:func:`add_reply`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import FeedbackItem, HealthAlert, LivingMessage, OutboxMessage, OutboxStatus, ThreadReply
from storage.outbox import NewMessage, enqueue_in

SUPERSEDED = "superseded by a newer edit"
# The subjects that have living messages, and where each keeps its account.
FEEDBACK = "feedback"
ALERT = "alert"
_ACCOUNT_OF: dict[str, Any] = {FEEDBACK: FeedbackItem, ALERT: HealthAlert}


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str
    id: int


@dataclass(frozen=True, slots=True)
class EditTarget:
    """What an edit should do now: rewrite ``message_id``; wait for the post (``waiting``); or nothing
    (no id: the post never went out; ``superseded``: a newer edit of the same post is queued)."""

    message_id: str | None = None
    waiting: bool = False
    superseded: bool = False


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def post(
    db: Database,
    subject: Subject,
    posts: Sequence[NewMessage],
    *,
    others: Sequence[NewMessage] = (),
    now: datetime,
) -> set[str]:
    """Queue ``posts`` as the living messages of ``subject`` (and ``others``, plain messages, in the
    same transaction). Returns the keys that were new."""
    async with db.transaction() as session:
        return await post_in(session, [(subject, message) for message in posts], others=others, now=now)


async def post_in(
    session: AsyncSession,
    posts: Sequence[tuple[Subject, NewMessage]],
    *,
    others: Sequence[NewMessage] = (),
    now: datetime,
) -> set[str]:
    """:func:`post` for several subjects, in the caller's transaction."""
    new = await enqueue_in(session, [*(message for _, message in posts), *others], now=now)
    rows = [
        {
            "subject_kind": subject.kind,
            "subject_id": subject.id,
            "outbox_key": message.idempotency_key,
            "platform": message.platform,
            "conversation": str(message.address.get("target") or ""),
            "content": message.payload,
            "created_at": now,
        }
        for subject, message in posts
        if message.idempotency_key in new
    ]
    if rows:
        await session.execute(
            _insert(session)(LivingMessage).on_conflict_do_nothing(index_elements=["outbox_key"]), rows
        )
    return new


async def contents_in(session: AsyncSession, subject: Subject) -> list[dict[str, Any]]:
    """What each post of ``subject`` shows now, oldest post first."""
    rows = await session.scalars(
        select(LivingMessage.content)
        .where(LivingMessage.subject_kind == subject.kind, LivingMessage.subject_id == subject.id)
        .order_by(LivingMessage.id)
    )
    return [content for content in rows if content]


async def edit(
    db: Database, subject: Subject, payload: dict[str, Any], *, revision: str, purpose: str, now: datetime
) -> int:
    """Queue an edit of every post of ``subject`` to show ``payload``; ``revision`` names the change
    (a transition's id), so the same change is queued once. Older edits of a post not yet started are
    dropped. Returns how many edits were queued."""
    async with db.transaction() as session:
        return await edit_in(session, subject, payload, revision=revision, purpose=purpose, now=now)


async def edit_in(
    session: AsyncSession,
    subject: Subject,
    payload: dict[str, Any],
    *,
    revision: str,
    purpose: str,
    now: datetime,
) -> int:
    """:func:`edit` in the caller's transaction, so the edit commits with the change it shows."""
    living = (
        await session.scalars(
            select(LivingMessage)
            .where(LivingMessage.subject_kind == subject.kind, LivingMessage.subject_id == subject.id)
            .order_by(LivingMessage.id)
        )
    ).all()
    if not living:
        return 0
    keys = [row.outbox_key for row in living]
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.edit_of.in_(keys),
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.send_started_at.is_(None),
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .values(status=OutboxStatus.SENT.value, sent_at=now, last_error=SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    for row in living:
        row.content = payload
    edits = [
        NewMessage(
            idempotency_key=f"{row.outbox_key}:edit:{revision}"[:255],
            purpose=purpose,
            platform=row.platform,
            address={"platform": row.platform, "target": row.conversation, "private": False},
            payload=payload,
            edit_of=row.outbox_key,
        )
        for row in living
    ]
    return len(await enqueue_in(session, edits, now=now))


async def edit_target(db: Database, *, edit_id: int, edit_of: str) -> EditTarget:
    """Where the edit row ``edit_id`` of the post ``edit_of`` should go now."""
    async with db.sessions() as session:
        newer = await session.scalar(
            select(
                exists().where(
                    OutboxMessage.edit_of == edit_of,
                    OutboxMessage.id > edit_id,
                    OutboxMessage.last_error.is_distinct_from(SUPERSEDED),
                )
            )
        )
        if newer:
            return EditTarget(superseded=True)
        message_id = await session.scalar(
            select(LivingMessage.message_id).where(LivingMessage.outbox_key == edit_of)
        )
        if message_id:
            return EditTarget(message_id=message_id)
        row = (
            await session.execute(
                select(OutboxMessage.status, OutboxMessage.external_id).where(
                    OutboxMessage.idempotency_key == edit_of
                )
            )
        ).first()
    if row is None:
        return EditTarget()
    status, external_id = row
    if status == OutboxStatus.SENT.value and external_id:
        return EditTarget(message_id=external_id)
    return EditTarget(waiting=status == OutboxStatus.PENDING.value)


async def subject_of_thread(
    db: Database, *, platform: str, root: str, conversations: Sequence[str]
) -> Subject | None:
    """The subject whose post ``root`` (the platform's id of the thread's first message) was sent to
    one of ``conversations`` (the address targets that lead to the thread's conversation)."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(LivingMessage.subject_kind, LivingMessage.subject_id)
                .where(
                    LivingMessage.platform == platform,
                    LivingMessage.message_id == root,
                    LivingMessage.conversation.in_(list(conversations)),
                )
                .limit(1)
            )
        ).first()
    return None if row is None else Subject(kind=row[0], id=row[1])


async def add_reply(
    db: Database,
    subject: Subject,
    *,
    author_id: int | None,
    platform: str,
    message_id: str,
    text: str,
    link: str | None,
    at: datetime,
) -> bool:
    """Keep a reply written in the thread of ``subject``'s post, on its account's timeline too; False
    when it was kept already."""
    async with db.transaction() as session:
        model = _ACCOUNT_OF.get(subject.kind)
        account_id = None
        if model is not None:
            account_id = await session.scalar(select(model.account_id).where(model.id == subject.id))
        result = await session.execute(
            _insert(session)(ThreadReply)
            .values(
                subject_kind=subject.kind,
                subject_id=subject.id,
                account_id=account_id,
                author_id=author_id,
                platform=platform,
                message_id=message_id,
                text=text,
                link=link,
                at=at,
            )
            .on_conflict_do_nothing(index_elements=["platform", "message_id"])
            .returning(ThreadReply.id)
        )
        return result.first() is not None
