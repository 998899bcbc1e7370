"""``ask`` end to end in the process: a question typed to the bot as a seeded person (today 2026-11-25,
the factories' fixed clock) is read, run against the database and answered with how it was read; paging,
sharing, refusals, the one-to-one routing without the command word, and the optional language model
(a loopback fake of the chat-completions API) with its fallback. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.console.session import ConsoleSession
from bot.ask.model_reader import FALLBACK_NOTES, ModelReader
from bot.ask.reader import Vocabulary, read_question
from bot.ask.words import filter_words
from bot.core.context import BotContext
from bot.core.dispatch import Bot
from bot.core.paging import PAGE_SIZE
from bot.core.registry import Registry
from bot.errors import NotRegistered
from bot.format import money, plural
from bot.settings import Settings
from bot.types import Actor, Context, Form, Header, Platform, Reply, Text
from handlers import build_bot, register_all
from handlers.ask import EXAMPLES, MAX_QUESTION
from storage.db import Database
from storage.models import Account, HealthSnapshot
from tests.factories import (
    MAYA,
    TODAY,
    Team,
    actor_for,
    add_account,
    add_person,
    add_snapshot,
    as_reply,
    ask,
    button,
    command,
    fixed_clock,
    make_bot,
    press,
    seed_team,
    settings_for,
    text_of,
)
from tests.fakes.chat_completions import FakeChatCompletions
from tests.fakes.chat_completions import fake as fake  # the fixture

RED_MINE = "which of my accounts are red?"
READ_RED_MINE = "Read as: Band red · owner you"
LONGEST = "pls " * 4 + "please " * 65 + RED_MINE  # 500 characters, and a question


@pytest.fixture
async def team(db: Database) -> Team:
    return await seed_team(db)


async def actor_for_maya(db: Database) -> Actor:
    return await actor_for(db, MAYA)


def context_lines(reply: Reply) -> tuple[str, ...]:
    return tuple(line for block in reply.blocks if isinstance(block, Context) for line in block.lines)


def listed(reply: Reply) -> str:
    """The account lines of a list answer."""
    [body] = [block.text for block in reply.blocks if isinstance(block, Text)]
    return body


async def red_today(db: Database, owner_id: int | None = None) -> tuple[int, Decimal]:
    """How many accounts are red on today's snapshot, and their ARR, straight from the tables."""
    query = select(Account.arr).join(HealthSnapshot, HealthSnapshot.account_id == Account.id)
    query = query.where(HealthSnapshot.day == TODAY, HealthSnapshot.band == "red")
    if owner_id is not None:
        query = query.where(Account.owner_id == owner_id)
    async with db.sessions() as session:
        values = list((await session.scalars(query)).all())
    return len(values), sum((value or Decimal(0) for value in values), Decimal(0))


# ------------------------------------------------------------------------------------------- answers


async def test_my_red_accounts_are_listed_with_how_the_question_was_read(db: Database, team: Team) -> None:
    reply = await ask(make_bot(db), await actor_for_maya(db), f"ask {RED_MINE}")
    assert reply.blocks[0] == Header("1 account, $438k ARR")
    assert "Acme Rockets" in listed(reply)
    assert "Grünfeld" not in text_of(reply)  # red too, but Leo's
    assert context_lines(reply) == ("1 in all", READ_RED_MINE)
    assert [b.label for b in reply.buttons] == ["Acme Rockets"]
    assert reply.shared is False


async def test_how_many_and_how_much_arr_come_from_the_database(db: Database, team: Team) -> None:
    bot, maya = make_bot(db), await actor_for_maya(db)
    assert await red_today(db) == (2, Decimal(450_000))  # Acme Rockets 438k and Grünfeld 12k
    zephyr = await add_account(db, "ZEP-001", "Zephyr Labs", owner_id=team.leo, arr=7_700)
    await add_snapshot(db, zephyr, TODAY, 12.0)
    count, arr = await red_today(db)
    assert (count, arr) == (3, Decimal(457_700))

    how_many = await ask(bot, maya, "ask how many accounts are red")
    assert how_many.blocks == (
        Text(f"**{plural(count, 'account')}**, {money(arr)} ARR."),
        Context(("Read as: Band red",)),
    )
    assert how_many.summary == "3 accounts, $458k ARR."

    how_much = await ask(bot, maya, "ask how much ARR is red?")
    assert how_much.blocks[0] == Text(f"**{money(arr)} ARR** in {plural(count, 'account')}.")
    assert how_much.summary == "$458k ARR in 3 accounts."

    mine = await ask(bot, maya, "ask how many of my accounts are red?")
    assert text_of(mine).splitlines() == ["**1 account**, $438k ARR.", READ_RED_MINE]
    assert await red_today(db, team.maya) == (1, Decimal(438_000))


async def test_one_unknown_word_is_named_beside_the_answer(db: Database, team: Team) -> None:
    reply = await ask(make_bot(db), await actor_for_maya(db), "ask which of my accounts are red and wobbly?")
    assert "Acme Rockets" in listed(reply)
    assert context_lines(reply) == ("1 in all", READ_RED_MINE, "I did not understand “wobbly”.")


async def test_a_question_that_cannot_be_read_is_refused_with_examples(db: Database, team: Team) -> None:
    reply = await ask(make_bot(db), await actor_for_maya(db), "ask why is the sky so blue?")
    assert reply.blocks == (
        Text(
            "I could not read “why is the sky so blue?” well enough to answer it.\n"
            "I did not understand “sky”, “blue”.\n"
            "Try a question like:\n"
            f"• `ask {EXAMPLES[0]}`\n"
            f"• `ask {EXAMPLES[1]}`"
        ),
        Context(("`help` lists the commands.",)),
    )
    assert reply.summary == "I could not read “why is the sky so blue?” well enough to answer it."
    # Nothing guessed: no accounts, no totals, no buttons.
    assert reply.buttons == () and "ARR" not in text_of(reply).replace(EXAMPLES[1], "")


async def test_contractions_are_read_as_typed(db: Database, team: Team) -> None:
    quiet = await add_account(db, "QH-001", "Quiet Harbour", owner_id=team.leo, arr=20_000)
    await add_snapshot(db, quiet, TODAY, 25.0)  # red, and no follow-up ever
    question = "which accounts haven't been touched in 30 days and aren't green?"
    reply = await ask(make_bot(db), await actor_for_maya(db), f"ask {question}")
    assert context_lines(reply) == (
        "1 in all",
        "Read as: Band red or yellow · no follow-up logged in 30 days",
    )
    assert "Quiet Harbour" in listed(reply)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ask", f"What would you like to know? For example `ask {EXAMPLES[0]}`"),
        ("ask    ", f"What would you like to know? For example `ask {EXAMPLES[0]}`"),
        ("ask share", f"What would you like to know? For example `ask {EXAMPLES[0]}`"),
        (f"ask a{LONGEST}", f"Ask in at most {MAX_QUESTION} characters."),  # 501
    ],
    ids=["empty", "blank", "only-share", "too-long"],
)
async def test_an_empty_or_too_long_question_gets_a_clear_message(
    db: Database, team: Team, typed: str, message: str
) -> None:
    reply = await ask(make_bot(db), await actor_for_maya(db), typed)
    assert reply.blocks == (Text(message),) and reply.summary == message


async def test_a_question_of_exactly_the_limit_is_answered(db: Database, team: Team) -> None:
    assert len(LONGEST) == MAX_QUESTION and " ".join(LONGEST.split()) == LONGEST
    reply = await ask(make_bot(db), await actor_for_maya(db), f"ask {LONGEST}")
    assert context_lines(reply) == ("1 in all", READ_RED_MINE)


async def test_a_long_answer_pages_with_the_same_filter(db: Database, team: Team) -> None:
    for n in range(1, PAGE_SIZE + 2):  # 11 more red accounts for Maya: 12 in all, 2 pages
        account = await add_account(db, f"RED-{n:02}", f"Red Zone {n:02}", owner_id=team.maya, arr=1_000)
        await add_snapshot(db, account, TODAY, 20.0)
    bot, maya = make_bot(db), await actor_for_maya(db)

    first = await ask(bot, maya, f"ask {RED_MINE}")
    assert first.blocks[0] == Header("12 accounts, $449k ARR")
    assert context_lines(first) == (f"1-{PAGE_SIZE} of 12", READ_RED_MINE)
    more = button(first, "More")
    assert more.label == "More (2 left)"
    assert more.payload == {"command": "ask", "args": RED_MINE, "offset": PAGE_SIZE}

    second = as_reply(await press(bot, maya, more))
    assert second.blocks[0] == Header("12 accounts, $449k ARR")
    assert context_lines(second) == ("11-12 of 12", READ_RED_MINE)
    assert [line.split("**")[1] for line in listed(second).splitlines()] == ["Red Zone 10", "Red Zone 11"]
    assert second.replace is True
    assert not [b for b in second.buttons if b.label.startswith("More")]
    assert "Grünfeld" not in text_of(first) + text_of(second)
    shown = listed(first) + listed(second)
    assert all(f"Red Zone {n:02}" in shown for n in range(1, 12)) and "Acme Rockets" in shown


async def test_private_by_default_and_shared_with_share(db: Database, team: Team) -> None:
    bot, maya = make_bot(db), await actor_for_maya(db)
    for question in (RED_MINE, "how much ARR is red?", "why is the sky so blue?"):
        private = await ask(bot, maya, f"ask {question}")
        shared = await ask(bot, maya, f"ask {question} share")
        assert (private.shared, shared.shared) == (False, True)
        # The same answer: "share" is not read as a word of the question.
        assert (shared.summary, shared.blocks) == (private.summary, private.blocks)


async def test_a_name_two_people_share_is_not_guessed(db: Database, team: Team) -> None:
    """Two people called Leo Park: whose accounts a question means cannot be told, so it is said."""
    await add_person(db, "leo.park@example.org", "Leo Park", "csm")
    reply = await ask(make_bot(db), await actor_for_maya(db), "ask leo park's red accounts")
    assert (
        reply.summary == "More than one person is called Leo Park, so I cannot tell whose accounts you mean."
    )
    assert "Grünfeld" not in text_of(reply) and not reply.buttons
    # Someone only one person is called is read as before.
    alone = await ask(make_bot(db), await actor_for_maya(db), "ask maya chen's red accounts")
    assert "Acme Rockets" in listed(alone)


async def test_only_a_registered_person_may_ask(db: Database, team: Team) -> None:
    stranger = Actor(platform=Platform.CONSOLE, platform_user_id="stranger")
    bot = make_bot(db)
    typed = await ask(bot, stranger, f"ask {RED_MINE}")
    asked = as_reply(await bot.handle(replace(command(stranger, RED_MINE), conversational=True)))
    for reply in (typed, asked):
        assert reply.blocks == (Text(NotRegistered().message),)
        assert "Acme" not in text_of(reply)


# ---------------------------------------------------------------------------------- without "ask"

RENEW_NEXT_MONTH = "which of my accounts renew next month?"


async def test_a_question_in_a_one_to_one_conversation_goes_to_ask(db: Database, team: Team) -> None:
    await add_account(
        db, "NW-001", "Northwind Traders", owner_id=team.maya, arr=50_000, renewal=date(2026, 12, 15)
    )
    bot, maya = make_bot(db), await actor_for_maya(db)
    read_as = "Read as: Renewal Tue 01 Dec 2026 – Thu 31 Dec 2026 · owner you"

    direct = as_reply(await bot.handle(replace(command(maya, RENEW_NEXT_MONTH), conversational=True)))
    assert direct.blocks[0] == Header("1 account, $50k ARR")
    assert "Northwind Traders" in listed(direct)
    assert "Brightwater" not in text_of(direct)  # renews in December too, but Leo's
    assert context_lines(direct) == ("1 in all", read_as)
    assert direct.shared is False

    # The same words with the command word give the same answer.
    assert (await ask(bot, maya, f"ask {RENEW_NEXT_MONTH}")).blocks == direct.blocks

    # In a channel (not one to one) the first word is taken as a command: the usual help.
    channel = await ask(bot, maya, RENEW_NEXT_MONTH)
    assert channel.blocks[0] == Text("I don't know the command `which`. Here is what I can do:")
    assert "Northwind" not in text_of(channel) and "Read as" not in text_of(channel)

    # The console is one to one: typed there, the question is answered; a word that is no question
    # still gets the help.
    shown: list[Reply | Form] = []
    console = ConsoleSession(bot, maya, read_line=lambda _: None, show=shown.append, say=lambda _: None)
    await console.handle_line(RENEW_NEXT_MONTH)
    await console.handle_line("frobnicate")
    answer, unknown = (as_reply(r) for r in shown)
    assert answer.blocks == direct.blocks
    assert unknown.blocks[0] == Text("I don't know the command `frobnicate`. Here is what I can do:")


# ---------------------------------------------------------------------------------- language model


def bot_with(db: Database, reader: ModelReader) -> Bot:
    registry = Registry()
    register_all(registry)
    context = BotContext(db=db, settings=settings_for(db), clock=fixed_clock, model_reader=reader)
    return Bot(context, registry)


async def test_the_model_s_filter_is_used_and_the_numbers_come_from_the_database(
    db: Database, team: Team, fake: FakeChatCompletions
) -> None:
    settings = Settings(
        database_url=db.url,
        config_file=Path(__file__).parent / "no-such-dir" / "touchpoint.toml",
        default_timezone="UTC",
        llm_url=fake.url,
        llm_model="gpt-4o-mini",
        llm_api_key="sk-test-ask",
    )
    bot = build_bot(db, settings, clock=fixed_clock)
    assert bot.context.model_reader is not None  # built from the settings
    maya = await actor_for_maya(db)
    question = "which accounts need attention?"
    # What the deterministic reader would make of it: something else.
    vocabulary = Vocabulary(today=TODAY, people={}, segments=(), tiers=())
    plain = read_question(question, vocabulary).filter
    assert plain is not None and filter_words(plain) == "Band yellow"

    fake.answer({"owner": {"kind": "me"}, "bands": ["red"], "sort": "score_asc"})
    reply = await ask(bot, maya, f"ask {question}")
    assert reply.blocks[0] == Header("1 account, $438k ARR")
    assert "Acme Rockets" in listed(reply) and "Café" not in text_of(reply)
    assert context_lines(reply) == ("1 in all", "Read as: Band red · owner you · worst health first")

    # A total the model cannot state: it only names the filter, the database counts and sums.
    fake.answer({"aggregate": "arr", "bands": ["red"]})
    total = await ask(bot, maya, "ask what is at stake?")
    count, arr = await red_today(db)
    assert total.blocks == (
        Text(f"**{money(arr)} ARR** in {plural(count, 'account')}."),
        Context(("Read as: Band red",)),
    )
    asked = [r.body["messages"][1]["content"] for r in fake.requests]
    assert asked == [question, "what is at stake?"]
    assert fake.requests[0].headers["Authorization"] == "Bearer sk-test-ask"
    assert "Maya Chen" in fake.requests[0].body["messages"][0]["content"]  # the people it may name


@pytest.mark.parametrize(("failure", "kind"), [("error", "server_error"), ("hang", "timeout")])
async def test_when_the_model_fails_the_deterministic_reader_answers_with_a_note(
    db: Database, team: Team, fake: FakeChatCompletions, failure: str, kind: str
) -> None:
    if failure == "hang":
        fake.hang()
    else:
        fake.fail(500)
    reader = ModelReader(base_url=fake.url, model="gpt-4o-mini", api_key=None, timeout=0.2)
    reply = await ask(bot_with(db, reader), await actor_for_maya(db), f"ask {RED_MINE}")
    assert len(fake.requests) == 1
    assert "Acme Rockets" in listed(reply) and "Grünfeld" not in text_of(reply)
    assert context_lines(reply) == ("1 in all", READ_RED_MINE, FALLBACK_NOTES[kind])
