"""``ask QUESTION``: a question in plain words, answered from the data with the filter shown.

The question is read into a :class:`~bot.ask.filter.Filter` (by the language model when one is set up,
else, and whenever the model fails, by the deterministic reader), the filter runs as SQL
(:mod:`bot.ask.run`), and the answer says above the accounts exactly how the question was read, and
which words it could not use. A question that cannot be read well enough gets that said, with two
example questions: nothing is guessed silently. In a DM with the bot, a message that reads as a question
comes here without the command word (:func:`bot.ask.question.reads_as_question`).
"""

from __future__ import annotations

import time
import weakref
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from bot.ask.filter import Filter
from bot.ask.reader import Reading, Vocabulary, read_question
from bot.ask.run import find, totals
from bot.ask.words import filter_words
from bot.core.context import BotContext
from bot.core.paging import PAGE_SIZE, offset_of, page_of
from bot.core.registry import Registry
from bot.errors import BadArguments
from bot.format import money, plural
from bot.health.service import latest_health
from bot.types import Block, Context, Reply, Request, Response, Text
from handlers.accounts import list_reply
from storage.db import Database
from storage.models import Account, Person

MAX_QUESTION = 500
EXAMPLES = (
    "which of my accounts renew next month and are red?",
    "how much ARR is in enterprise accounts that dropped 10 points this month?",
)
VOCABULARY_SECONDS = 60.0  # people, segments and tiers change rarely: read them once a minute at most


def register(registry: Registry) -> None:
    registry.command(
        "ask",
        usage="ask QUESTION",
        summary="a question in plain words: which accounts, how many, how much ARR",
    )(ask_command)


@dataclass(frozen=True, slots=True)
class _Names:
    people: dict[str, int]
    shared: frozenset[str]  # names more than one person has: a question cannot tell them apart
    segments: tuple[str, ...]
    tiers: tuple[str, ...]
    read_at: float


_names: weakref.WeakKeyDictionary[Database, _Names] = weakref.WeakKeyDictionary()


async def vocabulary_for(ctx: BotContext, request: Request) -> Vocabulary:
    """The names a question may use (people, segments, tiers), read at most once a minute."""
    names = _names.get(ctx.db)
    if names is None or time.monotonic() - names.read_at > VOCABULARY_SECONDS:
        async with ctx.db.sessions() as session:
            rows = (await session.execute(select(Person.id, Person.name).order_by(Person.id))).all()
            people = {name: pid for pid, name in rows}
            shared = frozenset(
                name for name, count in Counter(name for _pid, name in rows).items() if count > 1
            )
            segments = await session.scalars(
                select(Account.segment).where(Account.segment.is_not(None)).distinct()
            )
            tiers = await session.scalars(select(Account.tier).where(Account.tier.is_not(None)).distinct())
            names = _Names(
                people,
                shared,
                tuple(sorted(value for value in segments if value)),
                tuple(sorted(value for value in tiers if value)),
                time.monotonic(),
            )
        _names[ctx.db] = names
    return Vocabulary(
        today=ctx.today(request.actor), people=names.people, segments=names.segments, tiers=names.tiers
    )


async def _read(ctx: BotContext, question: str, vocabulary: Vocabulary) -> Reading:
    reader = ctx.model_reader
    if reader is not None:
        return await reader.read(question, vocabulary)
    return read_question(question, vocabulary)


def _refusal(question: str, reading: Reading, shared: bool) -> Reply:
    lines = [f"I could not read “{question}” well enough to answer it."]
    if reading.unknown:
        lines.append("I did not understand " + ", ".join(f"“{word}”" for word in reading.unknown) + ".")
    lines.append("Try a question like:\n" + "\n".join(f"• `ask {example}`" for example in EXAMPLES))
    blocks: list[Block] = [Text("\n".join(lines))]
    small = [*reading.notes, "`help` lists the commands."]
    blocks.append(Context(tuple(small)))
    return Reply(summary=lines[0], blocks=tuple(blocks), shared=shared)


def _read_as(flt: Filter, reading: Reading) -> tuple[str, ...]:
    small = [f"Read as: {filter_words(flt)}"]
    if reading.unknown:
        small.append("I did not understand " + ", ".join(f"“{word}”" for word in reading.unknown) + ".")
    return (*small, *reading.notes)


async def ask_command(ctx: BotContext, request: Request) -> Response:
    question = request.arg_text.strip()
    if not question:
        raise BadArguments(f"What would you like to know? For example `ask {EXAMPLES[0]}`")
    if len(question) > MAX_QUESTION:
        raise BadArguments(f"Ask in at most {MAX_QUESTION} characters.")
    vocabulary = await vocabulary_for(ctx, request)
    reading = await _read(ctx, question, vocabulary)
    flt = reading.filter
    if flt is None or flt.empty:
        return _refusal(question, reading, request.share)
    if flt.owner is not None and flt.owner.name is not None and flt.owner.name in _names[ctx.db].shared:
        text = f"More than one person is called {flt.owner.name}, so I cannot tell whose accounts you mean."
        return Reply(summary=text, blocks=(Text(text), Context(_read_as(flt, reading))), shared=request.share)
    today = vocabulary.today
    asker = request.actor.person_id
    if flt.aggregate is not None:
        async with ctx.db.sessions() as session:
            count, arr = await totals(session, flt, asker_id=asker, today=today)
        accounts = plural(count, "account")
        text = (
            f"**{money(arr)} ARR** in {accounts}."
            if flt.aggregate == "arr"
            else f"**{accounts}**, {money(arr)} ARR."
        )
        blocks: tuple[Block, ...] = (Text(text), Context(_read_as(flt, reading)))
        return Reply(summary=text.replace("**", ""), blocks=blocks, shared=request.share)
    async with ctx.db.sessions() as session:
        found = await find(
            session, flt, asker_id=asker, today=today, offset=offset_of(request), limit=PAGE_SIZE
        )
    if not found.total:
        text = "No accounts match."
        return Reply(summary=text, blocks=(Text(text), Context(_read_as(flt, reading))), shared=request.share)
    health = {}
    if found.day is not None:
        ids = [row.id for row in found.rows]
        health = await latest_health(ctx.db, ids, found.day, model=ctx.health_model, compute_missing=False)
    items = [(row, health.get(row.id)) for row in found.rows]
    page = page_of(items, request, offset=found.offset, total=found.total)
    title = f"{plural(found.total, 'account')}, {money(found.arr)} ARR"
    return list_reply(request, title, items, today, extra_context=_read_as(flt, reading), page=page)


# Questions offered when someone opens Touchpoint's assistant, each kept only when the asker's own
# portfolio has an answer to it (so a suggestion never leads to "No accounts match").
SUGGESTIONS = (
    ("My red accounts", "which of my accounts are red, worst first?"),
    ("Renewing soon", "which of my accounts renew in the next 60 days?"),
    ("Open feedback", "which of my accounts have open feedback?"),
    ("Falling", "which of my accounts dropped 10 points this month?"),
)
GENERIC = (("Try", "how much ARR is red?"), ("Try", "top 5 accounts by ARR renewing this quarter"))


async def suggested_questions(ctx: BotContext, request: Request) -> list[tuple[str, str]]:
    """Up to four (title, question) pairs drawn from the asker's own accounts; general ones when they
    own none that fit."""
    if request.actor.person_id is None:
        return list(GENERIC)
    vocabulary = await vocabulary_for(ctx, request)
    found: list[tuple[str, str]] = []
    async with ctx.db.sessions() as session:
        for title, question in SUGGESTIONS:
            reading = read_question(question, vocabulary)
            if reading.filter is None or reading.filter.empty:
                continue
            count, _arr = await totals(
                session, reading.filter, asker_id=request.actor.person_id, today=vocabulary.today
            )
            if count:
                found.append((title, question))
    return found or list(GENERIC)
