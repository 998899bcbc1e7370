"""Stored Teams conversations: the migration matches the model, and the store's rules hold on every
backend (welcome once, refresh only on change, forget on removal)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Connection

from adapters.teams.conversations import ConversationStore
from storage.db import Database
from storage.models import Base, TeamsConversation

REFERENCE: dict[str, Any] = {
    "serviceUrl": "https://smba.trafficmanager.net/amer/",
    "channelId": "msteams",
    "conversation": {"id": "a:1personal", "conversationType": "personal"},
    "bot": {"id": "28:bot"},
    "user": {"id": "29:user", "aadObjectId": "aad-1"},
}


def remember_kwargs(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "conversation_id": "a:1personal",
        "kind": "personal",
        "tenant_id": "tenant-1",
        "service_url": "https://smba.trafficmanager.net/amer/",
        "bot_id": "28:bot",
        "user_aad_id": "aad-1",
        "reference": REFERENCE,
    }
    return {**values, **changes}


async def test_migration_0003_matches_the_model(db: Database) -> None:
    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [
            diff for diff in compare_metadata(context, Base.metadata) if "teams_conversation" in repr(diff)
        ]

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_remember_writes_once_and_refreshes_on_change(db: Database) -> None:
    store = ConversationStore(db)
    assert await store.remember(**remember_kwargs())
    assert not await store.remember(**remember_kwargs()), "nothing changed: no write"
    assert await store.remember(**remember_kwargs(service_url="https://smba.trafficmanager.net/emea/"))
    stored = await store.get("a:1personal")
    assert stored is not None
    assert stored.service_url == "https://smba.trafficmanager.net/emea/"
    assert stored.reference["user"]["aadObjectId"] == "aad-1"
    assert (await store.personal_for("aad-1")) == stored
    async with db.sessions() as session:
        assert len((await session.execute(select(TeamsConversation))).scalars().all()) == 1


async def test_channels_keep_no_person(db: Database) -> None:
    store = ConversationStore(db)
    await store.remember(**remember_kwargs(conversation_id="19:c@thread.tacv2", kind="channel"))
    stored = await store.get("19:c@thread.tacv2")
    assert stored is not None and stored.user_aad_id is None
    assert await store.personal_for("aad-1") is None


async def test_a_conversation_is_welcomed_once(db: Database) -> None:
    store = ConversationStore(db)
    await store.remember(**remember_kwargs())
    assert await store.claim_welcome("a:1personal")
    assert not await store.claim_welcome("a:1personal")
    await store.release_welcome("a:1personal")
    assert await store.claim_welcome("a:1personal"), "a welcome that failed to send may be tried again"
    assert not await store.claim_welcome("a:unknown")


async def test_forget(db: Database) -> None:
    store = ConversationStore(db)
    await store.remember(**remember_kwargs())
    await store.forget("a:1personal")
    assert await store.get("a:1personal") is None


async def test_migration_0003_downgrades_and_upgrades_again(sqlite_db: Database) -> None:
    from alembic import command

    from storage.migrate import alembic_config, current_revision, head_revision, upgrade

    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "0002")

    async with sqlite_db.engine.begin() as connection:
        await connection.run_sync(downgrade)
    assert await current_revision(sqlite_db) == "0002"
    await upgrade(sqlite_db)
    assert await current_revision(sqlite_db) == head_revision()
    await ConversationStore(sqlite_db).remember(**remember_kwargs())
