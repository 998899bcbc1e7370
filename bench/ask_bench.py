"""``ask``: a question in plain words read into a filter, and answered end to end, in process.

1. Reading: every question of the evaluation sets (``tests/ask_eval/*.jsonl``) through the
   deterministic reader (:func:`bot.ask.reader.read_question`), against the vocabulary of the benchmark
   database (its people, segments and tiers, as :func:`handlers.ask.vocabulary_for` reads them). The
   figure does not depend on the database engine (backend ""). Target: p99 under 5 ms.
2. Answering: ``bot.handle(request)`` (dispatch, reading, SQL, health look-up, reply) as the dataset's
   CSM, cycling over :data:`QUESTIONS`, one request at a time after a warm-up. Beside it, in the same run,
   the ceiling: ``account <exact name>`` through the same ``bot.handle``. Target: p99 under 50 ms.

Every question is checked once to be read (its answer says "Read as: ..."), so the figure never times
refusals. No language model is set up: questions are read by the deterministic reader alone.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

from sqlalchemy import func, select

from bench.common import BenchContext, Figure, median, percentile
from bot.ask.fuzzy import names_of, respell
from bot.ask.reader import Vocabulary, read_question
from bot.core.dispatch import Bot
from bot.core.grammar import parse
from bot.core.identity import find_by_platform_id
from bot.settings import Settings
from bot.types import Actor, Address, Context, Platform, Reply, Request, RequestKind, Response
from handlers import build_bot
from handlers.ask import vocabulary_for
from storage.db import Database
from storage.models import Account, Person, Role

ROOT = Path(__file__).resolve().parent.parent
EVALUATION = (ROOT / "tests" / "ask_eval" / "questions.jsonl", ROOT / "tests" / "ask_eval" / "holdout.jsonl")
READ_TARGET_MS = 5.0
ANSWER_TARGET_MS = 50.0
REQUESTS = 200  # timed per run, for ask and for the ceiling each
# What a CSM asks, mine and everyone's; {segment} and {person} are filled from the database.
QUESTIONS = (
    "which of my accounts are red, worst first?",
    "my accounts renewing next month",
    "which accounts renew this quarter?",
    "which of my accounts renew in the next 60 days?",
    "accounts over 100k ARR",
    "{segment} accounts",
    "{segment} accounts that dropped 10 points this month",
    "which of my accounts haven't been contacted in 30 days?",
    "accounts with detractors",
    "accounts with open feedback",
    "my accounts with overdue follow-ups",
    "my accounts with outcomes at risk",
    "my team's accounts",
    "top 5 accounts by ARR",
    "how many accounts are red?",
    "how much ARR is red?",
    "{person}'s accounts",
    "{person}'s accounts renewing this quarter",
    "which of my acounts are renewng next month?",
    "red {segment} accounts renewing this quarter",
)


async def run(ctx: BenchContext) -> list[Figure]:
    db = Database(ctx.url)
    try:
        noon = datetime.combine(ctx.dataset.today, clock_time(12, 0), tzinfo=UTC)
        settings = Settings(
            database_url=ctx.url,
            config_file=ctx.workdir / "no-touchpoint.toml",
            default_timezone="UTC",
            llm_url=None,
            llm_model=None,
        )
        bot = build_bot(db, settings, clock=lambda: noon)
        if bot.context.model_reader is not None:
            raise RuntimeError("a language model is set up; this benchmark measures the deterministic reader")
        actor = await find_by_platform_id(db, Platform.SLACK, ctx.dataset.csm_slack_user_id)
        if actor is None or actor.person_id is None:
            raise RuntimeError(f"the dataset's CSM {ctx.dataset.csm_slack_user_id} is not registered")
        vocabulary = await vocabulary_for(bot.context, command(actor, "ask how many accounts are red?"))
        questions = await fill_questions(db, vocabulary, actor)
        return [
            reading_figure(ctx, vocabulary),
            await answering_figure(ctx, bot, actor, questions),
        ]
    finally:
        await db.dispose()


def command(actor: Actor, text: str) -> Request:
    """A typed command as the Slack adapter makes it (:func:`adapters.slack.requests.command_request`)."""
    parsed = parse(text)
    address = Address(platform=actor.platform, target="CBENCHASK", user=actor.platform_user_id)
    return Request(
        kind=RequestKind.COMMAND,
        actor=actor,
        address=address,
        command=parsed.command,
        args=parsed.args,
        text=parsed.text,
        share=parsed.share,
    )


async def fill_questions(db: Database, vocabulary: Vocabulary, actor: Actor) -> list[str]:
    """:data:`QUESTIONS` with a segment of the data and a real person: the CSM (other than the asker)
    owning the most accounts among those whose name no one else has and who read as themselves."""
    segment = next((s for s in vocabulary.segments if s.lower() == "enterprise"), vocabulary.segments[0])
    async with db.sessions() as session:
        owners = (
            await session.execute(
                select(Person.id, Person.name)
                .join(Account, Account.owner_id == Person.id)
                .where(Person.role == Role.CSM, Person.id != actor.person_id)
                .group_by(Person.id, Person.name)
                .order_by(func.count(Account.id).desc(), Person.id)
            )
        ).all()
        names = Counter((await session.scalars(select(Person.name))).all())
    person = next(
        (
            name
            for person_id, name in owners
            if names[name] == 1 and reads_as(f"{name}'s accounts", vocabulary, person_id)
        ),
        None,
    )
    if person is None:
        raise RuntimeError("no CSM's name in the dataset reads as that person")
    return [q.format(segment=segment.lower(), person=person) for q in QUESTIONS]


def reads_as(question: str, vocabulary: Vocabulary, person_id: int) -> bool:
    flt = read_question(question, vocabulary).filter
    return flt is not None and flt.owner is not None and flt.owner.person_id == person_id


# ------------------------------------------------------------------------------------------ reading


def evaluation_questions() -> list[str]:
    lines = [line for path in EVALUATION for line in path.read_text(encoding="utf-8").splitlines()]
    return [str(json.loads(line)["q"]) for line in lines if line.strip()]


def reading_figure(ctx: BenchContext, vocabulary: Vocabulary) -> Figure:
    """Each run reads every question once. The names' index is built before (once per vocabulary, as in
    a server), but the typo cache is emptied before each run: a run must not find the previous run's
    words already respelled."""
    questions = evaluation_questions()
    names_of(vocabulary.people, vocabulary.segments, vocabulary.tiers)
    p99s, medians = [], []
    refused = 0
    for _ in range(ctx.runs):
        respell.cache_clear()
        timings = []
        refused = 0
        for question in questions:
            started = time.perf_counter()
            reading = read_question(question, vocabulary)
            timings.append((time.perf_counter() - started) * 1000)
            refused += reading.filter is None
        p99s.append(percentile(timings, 99))
        medians.append(median(timings))
    p99 = median(p99s)
    return Figure(
        name="Ask: a question read (deterministic reader)",
        backend="",
        target=f"p99 < {READ_TARGET_MS:.0f} ms",
        measured=f"p99 {p99:.2f} ms",
        passed=p99 < READ_TARGET_MS,
        runs=ctx.runs,
        note=(
            f"median {median(medians):.2f} ms; {len(questions)} questions of tests/ask_eval, {refused} "
            f"refused with this vocabulary (the {ctx.backend} database's: {len(vocabulary.people):,} "
            f"distinct people names, {len(vocabulary.segments)} segments, {len(vocabulary.tiers)} tiers)"
        ),
    )


# ---------------------------------------------------------------------------------------- answering


@dataclass(frozen=True, slots=True)
class AnswerRun:
    ask: list[tuple[str, float]]  # (question, ms)
    account: list[float]

    @property
    def ask_ms(self) -> list[float]:
        return [ms for _, ms in self.ask]


def read_as(response: Response) -> str | None:
    """The "Read as: ..." line of an ``ask`` answer; None for a refusal, an error or anything else."""
    if not isinstance(response, Reply):
        return None
    lines = (line for b in response.blocks if isinstance(b, Context) for line in b.lines)
    return next((line for line in lines if line.startswith("Read as:")), None)


async def check_questions(bot: Bot, actor: Actor, questions: Sequence[str]) -> int:
    """Every question answered once, as read (not refused); how many matched no account."""
    empty = 0
    for question in questions:
        response = await bot.handle(command(actor, f"ask {question}"))
        if read_as(response) is None:
            summary = response.summary if isinstance(response, Reply) else type(response).__name__
            raise RuntimeError(f"ask {question!r} was not read: {summary}")
        empty += isinstance(response, Reply) and response.summary.startswith("No accounts match")
    return empty


async def timed(bot: Bot, requests: Sequence[Request]) -> list[float]:
    timings = []
    for request in requests:
        started = time.perf_counter()
        await bot.handle(request)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def answering_figure(ctx: BenchContext, bot: Bot, actor: Actor, questions: Sequence[str]) -> Figure:
    empty = await check_questions(bot, actor, questions)  # also the warm-up of ask
    asked = [questions[i % len(questions)] for i in range(REQUESTS)]
    ask_requests = [command(actor, f"ask {q}") for q in asked]
    names = ctx.dataset.sample_account_names
    ceiling = [command(actor, f'account "{names[i % len(names)]}"') for i in range(REQUESTS)]
    for request in ceiling[: len(names)]:  # the ceiling's warm-up: each name must give its card
        card = await bot.handle(request)
        if not isinstance(card, Reply) or ": health" not in card.summary:
            raise RuntimeError(f"account {request.arg_text!r} did not answer with the account's card")
    runs = []
    for _ in range(ctx.runs):
        ask = await timed(bot, ask_requests)
        runs.append(AnswerRun(list(zip(asked, ask, strict=True)), await timed(bot, ceiling)))
    p99 = median([percentile(r.ask_ms, 99) for r in runs])
    ceiling_p99 = median([percentile(r.account, 99) for r in runs])
    by_question: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        for question, ms in r.ask:
            by_question[question].append(ms)
    slowest = sorted(by_question, key=lambda q: median(by_question[q]), reverse=True)[:3]
    accounts = ctx.dataset.counts.get("account", 0)
    return Figure(
        name=f"Ask: a question answered end to end, {accounts:,} accounts",
        backend=ctx.backend,
        target=f"p99 < {ANSWER_TARGET_MS:.0f} ms",
        measured=f"p99 {p99:.1f} ms",
        passed=p99 < ANSWER_TARGET_MS,
        runs=len(runs),
        note=(
            f"median {median([median(r.ask_ms) for r in runs]):.1f} ms; {len(questions)} questions, "
            f"{REQUESTS} requests a run, {empty} match no account; ceiling `account EXACT NAME` through "
            f"bot.handle: p99 {ceiling_p99:.1f} ms, median {median([median(r.account) for r in runs]):.1f} "
            f"ms, ask/ceiling p99 {p99 / ceiling_p99:.1f}x; slowest (median): "
            + "; ".join(f"“{q}” {median(by_question[q]):.1f} ms" for q in slowest)
        ),
    )
