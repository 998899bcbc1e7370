"""Finding an account from what a person typed, in the index and through the bot."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from bot.core.lookup import AccountIndex, AccountRef, LookupResult
from bot.errors import BadArguments
from storage.db import Database
from storage.models import Account
from storage.names import name_key
from tests.factories import (
    MAYA,
    Team,
    actor_for,
    add_account,
    as_reply,
    ask,
    button,
    make_bot,
    press,
    seed_team,
    text_of,
)


@pytest.fixture
async def team(sqlite_db: Database) -> Team:
    return await seed_team(sqlite_db)


def names(refs: tuple[AccountRef, ...]) -> list[str]:
    return [r.name for r in refs]


async def matched(index: AccountIndex, query: str) -> str | None:
    found = await index.find(query)
    return found.match.name if found.match else None


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("Acme Rockets", "Acme Rockets"),
        ("ACME ROCKETS", "Acme Rockets"),
        ("  acme   rockets ", "Acme Rockets"),
        ("café lumière studios", "Café Lumière Studios"),
        ("CAFE LUMIERE STUDIOS", "Café Lumière Studios"),
        ("grunfeld maschinenbau", "Grünfeld Maschinenbau"),
        ("bright", "Brightwater Logistics"),  # a prefix of one name
        ("cafe", "Café Lumière Studios"),  # a prefix, accents ignored
        ("Grün", "Grünfeld Maschinenbau"),
        ("acme rockts", "Acme Rockets"),  # typos
        ("acme robotcs", "Acme Robotics"),
        ("brightwatr logistics", "Brightwater Logistics"),
        ("nimbus frieght", "Nimbus Freight"),
        ("lumiere", "Café Lumière Studios"),  # a word inside the name
        ("ACME-001", "Acme Rockets"),  # external ids, in any case
        ("acme-002", "Acme Robotics"),
        ("cafe-001", "Café Lumière Studios"),
    ],
)
async def test_one_match(sqlite_db: Database, team: Team, query: str, name: str) -> None:
    assert await matched(AccountIndex(sqlite_db), query) == name


async def test_match_carries_id_and_external_id(sqlite_db: Database, team: Team) -> None:
    found = await AccountIndex(sqlite_db).find("acme rockets")
    assert found == LookupResult(
        query="acme rockets",
        match=AccountRef(id=team.acme_rockets, name="Acme Rockets", external_id="ACME-001"),
    )


async def test_a_prefix_of_several_names_is_a_choice(sqlite_db: Database, team: Team) -> None:
    found = await AccountIndex(sqlite_db).find("acme")
    assert found.match is None
    assert names(found.candidates) == ["Acme Robotics", "Acme Rockets"]
    assert [r.id for r in found.candidates] == [team.acme_robotics, team.acme_rockets]


async def test_close_typos_of_several_names_are_a_choice(sqlite_db: Database, team: Team) -> None:
    await add_account(sqlite_db, "NW-1", "Northwind Traders", owner_id=team.maya)
    await add_account(sqlite_db, "NW-2", "Northwind Trading", owner_id=team.maya)
    index = AccountIndex(sqlite_db)
    found = await index.find("nortwind")
    assert found.match is None
    assert names(found.candidates) == ["Northwind Traders", "Northwind Trading"]
    # A clear winner is still taken.
    assert await matched(index, "northwind tradrs") == "Northwind Traders"


async def test_same_name_twice_is_a_choice(sqlite_db: Database, team: Team) -> None:
    first = await add_account(sqlite_db, "GLX-1", "Globex", owner_id=team.maya)
    second = await add_account(sqlite_db, "GLX-2", "GLOBEX", owner_id=team.leo)
    found = await AccountIndex(sqlite_db).find("globex")
    assert [r.id for r in found.candidates] == [first, second]
    assert await matched(AccountIndex(sqlite_db), "glx-2") == "GLOBEX"


async def test_choices_are_capped_at_five(sqlite_db: Database, team: Team) -> None:
    for n in range(8):
        await add_account(sqlite_db, f"PC-{n}", f"Paging Co {n}", owner_id=team.maya)
    found = await AccountIndex(sqlite_db).find("paging")
    assert names(found.candidates) == [f"Paging Co {n}" for n in range(5)]


async def test_no_match_gives_the_nearest_names(sqlite_db: Database, team: Team) -> None:
    found = await AccountIndex(sqlite_db).find("akme")
    assert found.match is None
    assert found.candidates == ()
    assert names(found.nearest) == ["Acme Robotics", "Acme Rockets", "Brightwater Logistics"]


async def test_no_accounts_at_all(sqlite_db: Database) -> None:
    assert await AccountIndex(sqlite_db).find("acme") == LookupResult(query="acme")


@pytest.mark.parametrize("query", ["", "   ", "\u0301"])
async def test_empty_query_asks_which_account(sqlite_db: Database, query: str) -> None:
    with pytest.raises(BadArguments, match="Which account"):
        await AccountIndex(sqlite_db).find(query)


async def test_index_follows_account_changes(db: Database) -> None:
    team = await seed_team(db)
    index = AccountIndex(db)
    assert await matched(index, "nimbus freight") == "Nimbus Freight"
    assert await matched(index, "stratus") is None

    # Renamed (the ORM bumps updated_at).
    async with db.transaction() as s:
        account = await s.get(Account, team.nimbus)
        assert account is not None
        account.name, account.name_key = "Stratus Freight", name_key("Stratus Freight")
    assert await matched(index, "stratus") == "Stratus Freight"
    after = await index.find("nimbus freight")
    assert "Nimbus Freight" not in [*names((*after.candidates, *after.nearest)), str(after.match)]

    # Added.
    await add_account(db, "ZEN-1", "Zenith Aerospace", owner_id=team.leo)
    assert await matched(index, "zenith") == "Zenith Aerospace"

    # Deleted.
    async with db.transaction() as s:
        await s.execute(delete(Account).where(Account.external_id == "ZEN-1"))
    assert await matched(index, "zenith aerospace") is None
    assert await matched(index, "ZEN-1") is None

    # Renamed with a Core UPDATE (as a bulk tool would): onupdate still moves updated_at.
    async with db.transaction() as s:
        await s.execute(
            update(Account)
            .where(Account.id == team.cafe)
            .values(name="Café Soleil", name_key=name_key("Café Soleil"))
        )
    assert await matched(index, "cafe soleil") == "Café Soleil"


# ------------------------------------------------------------------------------------ through the bot


async def test_ambiguous_name_offers_buttons_that_open_the_card(db: Database) -> None:
    team = await seed_team(db)
    bot = make_bot(db)
    maya = await actor_for(db, MAYA)
    reply = await ask(bot, maya, "account acme")
    assert text_of(reply) == "Several accounts match “acme”. Which one?\n[Acme Robotics] [Acme Rockets]"
    assert [(b.action, b.payload) for b in reply.buttons] == [
        ("account.open", {"account_id": team.acme_robotics}),
        ("account.open", {"account_id": team.acme_rockets}),
    ]
    card = as_reply(await press(bot, maya, button(reply, "Acme Rockets")))
    assert card.summary == "Acme Rockets: health 37"


@pytest.mark.parametrize("text", ["account akme", "log akme", "followups akme", "milestones akme"])
async def test_no_match_says_so_with_nearest_names(sqlite_db: Database, team: Team, text: str) -> None:
    reply = await ask(make_bot(sqlite_db), await actor_for(sqlite_db, MAYA), text)
    assert text_of(reply) == (
        "No account matches “akme”. Nearest names: Acme Robotics, Acme Rockets, Brightwater Logistics."
    )
    assert reply.buttons == ()


@pytest.mark.parametrize("text", ["log acme", "followups acme", "milestones acme"])
async def test_every_command_that_takes_an_account_offers_the_choice(
    sqlite_db: Database, team: Team, text: str
) -> None:
    reply = await ask(make_bot(sqlite_db), await actor_for(sqlite_db, MAYA), text)
    assert reply.summary == "Several accounts match “acme”. Which one?"
    assert [b.label for b in reply.buttons] == ["Acme Robotics", "Acme Rockets"]


async def test_bot_sees_accounts_added_after_it_started(sqlite_db: Database, team: Team) -> None:
    bot = make_bot(sqlite_db)
    maya = await actor_for(sqlite_db, MAYA)
    assert (await ask(bot, maya, "account zenith")).summary.startswith("No account matches “zenith”.")
    await add_account(sqlite_db, "ZEN-1", "Zenith Aerospace", owner_id=team.maya)
    assert (await ask(bot, maya, "account zenith")).summary == "Zenith Aerospace: health n/a"
    assert (await ask(bot, maya, "account zen-1")).summary == "Zenith Aerospace: health n/a"


async def test_quoted_name_and_share(sqlite_db: Database, team: Team) -> None:
    reply = await ask(
        make_bot(sqlite_db), await actor_for(sqlite_db, MAYA), '/cs account "Acme Rockets" share'
    )
    assert reply.summary == "Acme Rockets: health 37"
    assert reply.shared is True


# ------------------------------------------------------------------------- one, several, too many


async def test_one_close_name_is_the_card_with_a_quiet_line(sqlite_db: Database, team: Team) -> None:
    quill = await add_account(sqlite_db, "QF-1", "Quillfeather Analytics", owner_id=team.maya)
    found = await AccountIndex(sqlite_db).find("quilfeather")
    assert found.match is not None and found.match.id == quill
    assert found.closest is True and found.candidates == ()

    reply = await ask(make_bot(sqlite_db), await actor_for(sqlite_db, MAYA), "account quilfeather")
    assert reply.summary == "Quillfeather Analytics: health n/a"
    assert text_of(reply).splitlines()[:2] == ["# Quillfeather Analytics", "Closest match to “quilfeather”"]


async def test_an_id_name_or_prefix_gets_no_closest_line_and_a_typo_does(
    sqlite_db: Database, team: Team
) -> None:
    bot, maya = make_bot(sqlite_db), await actor_for(sqlite_db, MAYA)
    for text in ("account acme rockets", "account bright", "account ACME-001"):
        reply = await ask(bot, maya, text)
        assert "Closest match" not in text_of(reply), text
    assert (await AccountIndex(sqlite_db).find("bright")).closest is False
    reply = await ask(bot, maya, "account acme rockts")
    assert text_of(reply).splitlines()[:2] == ["# Acme Rockets", "Closest match to “acme rockts”"]


async def test_two_close_names_are_a_choice(sqlite_db: Database, team: Team) -> None:
    await add_account(sqlite_db, "NW-1", "Northwind Traders", owner_id=team.maya)
    await add_account(sqlite_db, "NW-2", "Northwind Trading", owner_id=team.maya)
    reply = await ask(make_bot(sqlite_db), await actor_for(sqlite_db, MAYA), "account nortwind")
    assert (
        text_of(reply)
        == "Several accounts match “nortwind”. Which one?\n[Northwind Traders] [Northwind Trading]"
    )


@pytest.mark.parametrize("typed", ["paging", "pagng co"])  # a prefix, and a typo
async def test_eight_matches_show_five_and_say_three_more(
    sqlite_db: Database, team: Team, typed: str
) -> None:
    for n in range(8):
        await add_account(sqlite_db, f"PC-{n}", f"Paging Co {n}", owner_id=team.maya)
    found = await AccountIndex(sqlite_db).find(typed)
    assert len(found.candidates) == 5 and found.more == 3 and found.more_complete

    reply = await ask(make_bot(sqlite_db), await actor_for(sqlite_db, MAYA), f"account {typed}")
    assert len(reply.buttons) == 5
    assert text_of(reply).splitlines()[-1] == "…and 3 more matched: type more of the name or its ID."


async def test_a_form_field_naming_several_says_how_many_more(sqlite_db: Database, team: Team) -> None:
    for n in range(7):
        await add_account(sqlite_db, f"PC-{n}", f"Paging Co {n}", owner_id=team.maya)
    account, problem = await AccountIndex(sqlite_db).pick("paging")
    assert account is None
    listed = ", ".join(f"Paging Co {n}" for n in range(5))
    assert problem == f"Several accounts match: {listed} (and 2 more)."


# ------------------------------------------------------------------------------------- search


async def test_search_ranks_ids_names_prefixes_then_close_names(sqlite_db: Database, team: Team) -> None:
    index = AccountIndex(sqlite_db)
    # Names starting with what was typed: the least left over first.
    assert names(tuple(await index.search("acme", limit=25))) == ["Acme Rockets", "Acme Robotics"]
    assert names(tuple(await index.search("ACME-002", limit=25)))[0] == "Acme Robotics"
    assert names(tuple(await index.search("acme rockts", limit=25)))[0] == "Acme Rockets"  # a typo
    assert "Café Lumière Studios" in names(tuple(await index.search("lumiere", limit=25)))
    assert await index.search("zzzzqqq", limit=25) == []
    assert await index.search("  ", limit=25) == []


async def test_search_pages_with_offset_and_limit(sqlite_db: Database, team: Team) -> None:
    for n in range(8):
        await add_account(sqlite_db, f"PC-{n}", f"Paging Co {n}", owner_id=team.maya)
    index = AccountIndex(sqlite_db)
    first = await index.search("paging", limit=5)
    rest = await index.search("paging", limit=5, offset=5)
    assert names(tuple(first)) == [f"Paging Co {n}" for n in range(5)]
    assert names(tuple(rest)) == [f"Paging Co {n}" for n in range(5, 8)]
    assert await index.search("paging", limit=0) == []
