"""Change marks: every write to what an account card shows marks it, whoever writes (plain SQL too), so a
cached card or name index is served again only while it is current, in any process.

Both backends: on SQLite the marks are counters, on PostgreSQL one row per writing transaction with a
reader's stamp at its snapshot's ``xmin`` (the case of a write still running while a reader stamps is
covered below).
"""

from __future__ import annotations

import asyncio
import importlib
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.core.cache import AccountCache, Built
from bot.core.lookup import AccountIndex
from storage import changes
from storage.db import Database
from tests.factories import (
    MAYA,
    TODAY,
    Team,
    actor_for,
    add_account,
    ask,
    make_bot,
    seed_team,
    text_of,
)

MIGRATION = importlib.import_module("storage.migrations.versions.0009c_change_marks")


@pytest.fixture
async def team(db: Database) -> Team:
    return await seed_team(db)


async def _stamp(db: Database, topics: tuple[changes.Topic, ...]) -> changes.Stamp:
    """A stamp under which the marks already written count as seen.

    On PostgreSQL a stamp is the oldest transaction still running anywhere on the server, so while a
    transaction that began before the test's own writes runs (another test's, in another database), those
    writes still count as possibly unseen: conservative, never wrong. Wait for such transactions to end."""
    for _ in range(2400):
        async with db.sessions() as session:
            _, stamp = await changes.check(session, topics, None)
            current, _ = await changes.check(session, topics, stamp)
        if current:
            return stamp
        await asyncio.sleep(0.025)
    raise AssertionError("a transaction on the server kept running for a minute")


async def _current(db: Database, topics: tuple[changes.Topic, ...], stamp: changes.Stamp) -> bool:
    async with db.sessions() as session:
        current, _ = await changes.check(session, topics, stamp)
    return current


async def _sql(db: Database, statement: str, **params: Any) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text(statement), params)


async def test_every_trigger_exists_at_head(db: Database) -> None:
    """A later migration that rebuilds a table on SQLite drops its triggers: they must all be there."""
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            rows = await connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            expected = {
                f"tp_mark_{table}_{event.lower()}"
                for table in MIGRATION.ALL_TABLES
                for event in ("INSERT", "UPDATE", "DELETE")
                if MIGRATION._bumps(table, event)
            }
        else:
            rows = await connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
            expected = {f"tp_mark_{table}" for table in MIGRATION.ALL_TABLES}
        assert expected <= {name for (name,) in rows}


# Plain SQL on each table an account card reads: a change to the account's card.
ACCOUNT_WRITES = [
    "INSERT INTO usage_metric (account_id, day, metric, value) VALUES (:a, :d, 'active_users', 3)",
    "UPDATE health_snapshot SET score = 12 WHERE account_id = :a",
    "DELETE FROM health_snapshot WHERE account_id = :a",
    "UPDATE milestone SET name = name || ' (moved)' WHERE account_id = :a",
    "UPDATE follow_up SET summary = 'Changed' WHERE account_id = :a",
    "DELETE FROM survey_response WHERE account_id = :a",
    "UPDATE account SET arr = 1 WHERE id = :a",
]


@pytest.mark.parametrize("statement", ACCOUNT_WRITES)
async def test_a_write_to_what_a_card_shows_marks_that_account_only(
    db: Database, team: Team, statement: str
) -> None:
    mine, other = changes.account_topics(team.acme_rockets), ((changes.ACCOUNT, team.brightwater),)
    before_mine, before_other = await _stamp(db, mine), await _stamp(db, other)
    assert await _current(db, mine, before_mine), "nothing changed yet"

    await _sql(db, statement, a=team.acme_rockets, d=TODAY)

    assert not await _current(db, mine, before_mine)
    assert await _current(db, other, before_other), "another account's card is still current"
    assert await _current(db, mine, await _stamp(db, mine)), "a stamp taken after the write is current"


async def test_a_name_change_marks_the_name_index_and_a_stage_change_every_card(
    db: Database, team: Team
) -> None:
    names = await _stamp(db, ((changes.NAMES, 0),))
    everyone = await _stamp(db, ((changes.EVERY_ACCOUNT, 0),))
    await _sql(db, "UPDATE account SET arr = 5 WHERE id = :a", a=team.brightwater)
    assert await _current(db, ((changes.NAMES, 0),), names), "ARR is not a name"
    assert await _current(db, ((changes.EVERY_ACCOUNT, 0),), everyone)

    await _sql(db, "UPDATE account SET lifecycle_stage = 'onboarding' WHERE id = :a", a=team.brightwater)
    assert not await _current(db, ((changes.EVERY_ACCOUNT, 0),), everyone), "time-to-value medians"
    await _sql(db, "UPDATE account SET name = 'Brightwater Labs' WHERE id = :a", a=team.brightwater)
    assert not await _current(db, ((changes.NAMES, 0),), names)


async def test_a_write_running_while_a_reader_stamps_is_seen_next_time(db: Database, team: Team) -> None:
    """The reader stamps, then reads what it caches without the write that was still running; when that
    write commits, the stamp must no longer be current (on PostgreSQL: its mark is at or above xmin)."""
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time and readers see only committed counters")
    topics = changes.account_topics(team.acme_rockets)
    async with db.engine.connect() as writer:
        transaction = await writer.begin()
        await writer.execute(text("UPDATE account SET arr = 2 WHERE id = :a"), {"a": team.acme_rockets})
        async with db.sessions() as session:  # the write is not committed: the reader cannot see it
            _, stamp = await changes.check(session, topics, None)
        await transaction.commit()
    assert not await _current(db, topics, stamp)


async def test_the_card_is_built_once_and_again_after_any_change(db: Database, team: Team) -> None:
    bot, maya = make_bot(db), await actor_for(db, MAYA)
    await _stamp(db, changes.account_topics(team.acme_rockets))  # the seeding counts as seen
    first = text_of(await ask(bot, maya, "account acme rockets"))
    again = text_of(await ask(bot, maya, "account acme rockets"))
    cache = bot.context.cache("account_card")
    assert again == first and (cache.misses, cache.hits) == (1, 1)

    # Another process (a second engine on the same database) changes the ARR by plain SQL.
    other = Database(db.url)
    try:
        await _sql(other, "UPDATE account SET arr = 123456 WHERE id = :a", a=team.acme_rockets)
    finally:
        await other.dispose()
    changed = text_of(await ask(bot, maya, "account acme rockets"))
    assert "ARR: $123k" in changed and "ARR: $123k" not in first
    assert cache.misses == 2


async def test_the_plan_is_read_once_and_again_after_a_change(db: Database, team: Team) -> None:
    bot, maya = make_bot(db), await actor_for(db, MAYA)
    await _stamp(db, changes.account_topics(team.acme_rockets))  # the seeding counts as seen
    first = text_of(await ask(bot, maya, "plan acme rockets"))
    again = text_of(await ask(bot, maya, "plan acme rockets"))
    cache = bot.context.cache("plan_card")
    assert again == first and (cache.misses, cache.hits) == (1, 1)

    other = Database(db.url)  # another process renames the account by plain SQL
    try:
        await _sql(other, "UPDATE account SET name = 'Acme Rockets Group' WHERE id = :a", a=team.acme_rockets)
    finally:
        await other.dispose()
    changed = text_of(await ask(bot, maya, "plan acme rockets"))
    assert "Success plan: Acme Rockets Group" in changed and cache.misses == 2


async def test_a_card_is_kept_per_day_and_one_resting_on_unsaved_health_is_not_kept(db: Database) -> None:
    cache: AccountCache[str] = AccountCache(db)
    built: list[str] = []

    async def build(value: str, keep: bool = True) -> Built[str]:
        built.append(value)
        return Built(value, keep=keep)

    account = await add_account(db, "X-1", "Xenon", owner_id=None)
    await _stamp(db, changes.account_topics(account))  # the write counts as seen (see _stamp)
    assert await cache.get(account, date(2026, 11, 25), lambda: build("a")) == "a"
    assert await cache.get(account, date(2026, 11, 25), lambda: build("b")) == "a"
    assert await cache.get(account, date(2026, 11, 25) + timedelta(days=1), lambda: build("c")) == "c"
    assert await cache.get(2, date(2026, 11, 25), lambda: build("d", keep=False)) == "d"
    assert await cache.get(2, date(2026, 11, 25), lambda: build("e")) == "e"
    assert built == ["a", "c", "d", "e"]


async def test_the_name_index_sees_a_rename_made_elsewhere(db: Database, team: Team) -> None:
    index = AccountIndex(db)
    assert (await index.find("brightwater")).match is not None
    await _sql(
        db,
        "UPDATE account SET name = 'Clearwater', name_key = 'clearwater' WHERE id = :a",
        a=team.brightwater,
    )
    found = await index.find("clearwater")
    assert found.match is not None and found.match.id == team.brightwater


async def test_old_marks_are_forgotten_and_recent_ones_kept(db: Database, team: Team) -> None:
    await _sql(db, "UPDATE account SET arr = 3 WHERE id = :a", a=team.acme_rockets)
    if db.is_sqlite:
        assert await changes.forget_old(db) == 0, "SQLite keeps one counter per topic and account"
        return
    async with db.engine.connect() as connection:
        recent = (await connection.execute(text("SELECT count(*) FROM change_mark"))).scalar_one()
    await _sql(
        db,
        "INSERT INTO change_mark (topic, account_id, mark, at) "
        "VALUES ('account', :a, 1, clock_timestamp() - interval '3 days')",
        a=team.acme_rockets,
    )
    assert await changes.forget_old(db) == 1
    async with db.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM change_mark"))).scalar_one() == recent
