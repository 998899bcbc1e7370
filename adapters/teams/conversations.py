"""Stored Teams conversation references: where Touchpoint may post without being asked.

A row is written when the app is installed in a conversation or first spoken to there, and refreshed
when what matters for posting (service URL, bot id, tenant, person) changes, so an ordinary message
costs one read. Removal of the app deletes the row. Rows are plain JSON: no Bot Framework types here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import TeamsConversation
from storage.types import utcnow

PERSONAL = "personal"
CHANNEL = "channel"
GROUP_CHAT = "groupChat"
KINDS = frozenset({PERSONAL, CHANNEL, GROUP_CHAT})


@dataclass(frozen=True, slots=True)
class StoredConversation:
    conversation_id: str
    kind: str
    tenant_id: str | None
    service_url: str
    bot_id: str
    user_aad_id: str | None
    reference: dict[str, Any]
    welcomed_at: datetime | None
    membership: str | None = None  # a channel's type: "standard", "private" or "shared"


def _stored(row: TeamsConversation) -> StoredConversation:
    return StoredConversation(
        conversation_id=row.conversation_id,
        kind=row.kind,
        tenant_id=row.tenant_id,
        service_url=row.service_url,
        bot_id=row.bot_id,
        user_aad_id=row.user_aad_id,
        reference=dict(row.reference),
        welcomed_at=row.welcomed_at,
        membership=row.membership,
    )


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, conversation_id: str) -> StoredConversation | None:
        async with self._db.sessions() as session:
            row = (
                await session.execute(
                    select(TeamsConversation).where(TeamsConversation.conversation_id == conversation_id)
                )
            ).scalar_one_or_none()
        return _stored(row) if row is not None else None

    async def personal_for(self, aad_id: str) -> StoredConversation | None:
        """The personal chat with the person whose Azure AD object id is ``aad_id``, if there is one."""
        async with self._db.sessions() as session:
            row = (
                (
                    await session.execute(
                        select(TeamsConversation)
                        .where(TeamsConversation.user_aad_id == aad_id, TeamsConversation.kind == PERSONAL)
                        .order_by(TeamsConversation.updated_at.desc())
                        .limit(1)
                    )
                )
                .scalars()
                .first()
            )
        return _stored(row) if row is not None else None

    async def remember(
        self,
        *,
        conversation_id: str,
        kind: str,
        tenant_id: str | None,
        service_url: str,
        bot_id: str,
        user_aad_id: str | None,
        reference: dict[str, Any],
        membership: str | None = None,
    ) -> bool:
        """Store or refresh the reference; True when something was written. ``membership`` is kept
        when the activity said it (most activities do not, and leave the stored one as it was)."""
        kind = kind if kind in KINDS else PERSONAL
        user_aad_id = user_aad_id if kind == PERSONAL else None
        current = await self.get(conversation_id)
        if (
            current is not None
            and (
                current.service_url,
                current.bot_id,
                current.tenant_id,
                current.user_aad_id,
                current.kind,
            )
            == (service_url, bot_id, tenant_id, user_aad_id or current.user_aad_id, kind)
            and (membership is None or membership == current.membership)
        ):
            return False
        now = utcnow()
        values = {
            "conversation_id": conversation_id,
            "kind": kind,
            "tenant_id": tenant_id,
            "service_url": service_url,
            "bot_id": bot_id,
            "user_aad_id": user_aad_id,
            "reference": reference,
            "membership": membership,
            "created_at": now,
            "updated_at": now,
        }
        changes = {k: v for k, v in values.items() if k not in ("conversation_id", "created_at")}
        if user_aad_id is None:
            changes.pop("user_aad_id")
        if membership is None:
            changes.pop("membership")
        insert = postgresql.insert if self._db.engine.dialect.name == "postgresql" else sqlite.insert
        statement = (
            insert(TeamsConversation)
            .values(**values)
            .on_conflict_do_update(index_elements=["conversation_id"], set_=changes)
        )
        async with self._db.transaction() as session:
            await session.execute(statement)
        return True

    async def claim_welcome(self, conversation_id: str) -> bool:
        """True for exactly one caller, ever, per conversation (every replica agrees: it is one UPDATE)."""
        async with self._db.transaction() as session:
            result = await session.execute(
                update(TeamsConversation)
                .where(
                    TeamsConversation.conversation_id == conversation_id,
                    TeamsConversation.welcomed_at.is_(None),
                )
                .values(welcomed_at=utcnow())
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release_welcome(self, conversation_id: str) -> None:
        """The welcome could not be sent: let the next install event try again."""
        async with self._db.transaction() as session:
            await session.execute(
                update(TeamsConversation)
                .where(TeamsConversation.conversation_id == conversation_id)
                .values(welcomed_at=None)
            )

    async def forget(self, conversation_id: str) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                delete(TeamsConversation).where(TeamsConversation.conversation_id == conversation_id)
            )
