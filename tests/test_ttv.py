"""Time to value: the arithmetic, the set-based read, the account card's line and ``ttv [SEGMENT]``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.core.dispatch import Bot
from bot.success.ttv import (
    Benchmark,
    TtvFacts,
    account_ttv,
    is_onboarding,
    median_days,
    read_ttv_facts,
    ttv_days,
    ttv_report,
)
from bot.types import Actor, Reply
from storage.db import Database
from storage.models import Account
from storage.names import name_key
from tests.factories import (
    MAYA,
    TODAY,
    actor_for,
    add_milestone,
    add_person,
    ask,
    button,
    day,
    make_bot,
    press,
    text_of,
)


def facts(
    name: str,
    *,
    segment: str | None = "enterprise",
    stage: str | None = None,
    start: date | None = None,
    value: date | None = None,
) -> TtvFacts:
    return TtvFacts(0, name, segment, stage, start, value)


# -------------------------------------------------------------------------------------- arithmetic


def test_median_of_odd_and_even_counts() -> None:
    assert median_days([]) is None
    assert median_days([40]) == 40
    assert median_days([60, 20, 40]) == 40
    assert median_days([30, 90, 50, 70]) == 60
    assert median_days([10, 11]) == 10.5


def test_ttv_days_from_contract_start_to_first_value() -> None:
    start = date(2026, 1, 1)
    assert ttv_days(start, date(2026, 2, 4)) == 34
    assert ttv_days(start, start) == 0
    assert ttv_days(start, date(2025, 12, 20)) == 0  # value shown in a pilot, before the contract
    assert ttv_days(None, date(2026, 2, 4)) is None
    assert ttv_days(start, None) is None


def test_who_counts_as_onboarding() -> None:
    started = day(-30)
    assert is_onboarding(facts("a", stage="onboarding", start=started), TODAY)
    assert is_onboarding(facts("b", stage=None, start=started), TODAY)  # no stage, contract started
    assert not is_onboarding(facts("c", stage="adopting", start=started), TODAY)
    assert not is_onboarding(facts("d", stage="onboarding", start=started, value=day(-1)), TODAY)
    assert not is_onboarding(facts("e", stage="onboarding", start=None), TODAY)
    assert not is_onboarding(facts("f", stage=None, start=day(3)), TODAY)  # contract not started yet


def test_a_small_segment_falls_back_to_the_overall_median() -> None:
    start = day(-400)
    rows = [
        facts("e1", segment="Enterprise", start=start, value=start + timedelta(30)),
        facts("e2", segment="enterprise ", start=start, value=start + timedelta(50)),
        facts("e3", segment="enterprise", start=start, value=start + timedelta(70)),
        facts("s1", segment="smb", start=start, value=start + timedelta(10)),
        facts("s2", segment="smb", start=start, value=start + timedelta(20)),
        facts("late", segment="smb", stage="onboarding", start=day(-45)),
        facts("new", segment="enterprise", stage="onboarding", start=day(-20)),
        facts("loose", segment=None, stage=None, start=day(-10)),
    ]
    report = ttv_report(rows, TODAY)
    assert report.overall == Benchmark(30, 5)  # 10 20 30 50 70
    assert report.benchmark("ENTERPRISE") == Benchmark(50, 3, segment="Enterprise")
    assert report.benchmark("smb") == Benchmark(30, 5, segment="smb", fallback=True)
    assert report.benchmark(None) == Benchmark(30, 5, segment=None, fallback=True)
    assert [(r.facts.name, r.days) for r in report.reached] == [
        ("e3", 70),
        ("e2", 50),
        ("e1", 30),
        ("s2", 20),
        ("s1", 10),
    ]
    assert [(o.facts.name, o.elapsed, o.beyond) for o in report.onboarding] == [
        ("late", 45, 15),
        ("loose", 10, -20),
        ("new", 20, -30),
    ]


# -------------------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Portfolio:
    """Today is Wed 25 Nov 2026. Reached first value (days): enterprise 30 50 70 90 (median 60),
    mid-market 20 40 60 (median 40), smb 10 (too few). All eight: median 45.

    Onboarding: Ember (enterprise, day 100: 40 beyond), Sable (smb, day 50 against the overall 45),
    Moss (mid-market, no stage, day 45: 5 beyond), Elm (enterprise, day 61, its first-value milestone
    still open: 1 beyond), Mint (mid-market, day 10: within). Aspen is adopting without first value,
    Pine in the public sector has no contract start: neither counts.
    """

    ids: dict[str, int]


ISSUED = datetime(2025, 1, 1, tzinfo=UTC).date()


async def seed(db: Database) -> Portfolio:
    ids: dict[str, int] = {}
    async with db.transaction() as s:
        owner = await add_person(s, MAYA, "Maya Chen", "csm")

        async def account(name: str, segment: str, stage: str | None, start: date | None) -> int:
            row = Account(
                external_id=name.upper(),
                name=name,
                name_key=name_key(name),
                owner_id=owner,
                segment=segment,
                lifecycle_stage=stage,
                contract_start=start,
            )
            s.add(row)
            await s.flush()
            ids[name] = row.id
            return row.id

        async def reached(name: str, segment: str, days: int, *, stage: str = "adopting") -> None:
            account_id = await account(name, segment, stage, ISSUED)
            done = datetime.combine(ISSUED + timedelta(days), time(15), tzinfo=UTC)
            await add_milestone(
                s, account_id, "First value", day(-300), kind="first_value", completed_at=done
            )

        await reached("Eagle", "enterprise", 90)
        await reached("Falcon", "enterprise", 70)
        await reached("Heron", "enterprise", 50)
        await reached("Ibis", "enterprise", 30)
        await reached("Jay", "mid-market", 60)
        await reached("Kite", "mid-market", 40, stage="mature")
        await reached("Lark", "mid-market", 20)
        await reached("Robin", "smb", 10)
        # A second, later first-value milestone and a completed go-live do not change Ibis' 30 days.
        later = datetime.combine(ISSUED + timedelta(80), time(9), tzinfo=UTC)
        await add_milestone(
            s, ids["Ibis"], "First value, phase 2", day(-200), kind="first_value", completed_at=later
        )
        early = datetime.combine(ISSUED + timedelta(5), time(9), tzinfo=UTC)
        await add_milestone(s, ids["Ibis"], "Go-live", day(-200), kind="go_live", completed_at=early)

        await account("Ember", "enterprise", "onboarding", day(-100))
        await account("Sable", "smb", "onboarding", day(-50))
        await account("Moss", "mid-market", None, day(-45))
        elm = await account("Elm", "enterprise", "onboarding", day(-61))
        await add_milestone(s, elm, "First value", day(-5), kind="first_value")
        await account("Mint", "mid-market", "onboarding", day(-10))
        await account("Aspen", "enterprise", "adopting", day(-200))
        await account("Pine", "Public Sector", "onboarding", None)
    return Portfolio(ids)


@pytest.fixture
async def portfolio(db: Database) -> Portfolio:
    return await seed(db)


@pytest.fixture
def bot(db: Database) -> Bot:
    return make_bot(db)


@pytest.fixture
async def maya(db: Database, portfolio: Portfolio) -> Actor:
    return await actor_for(db, MAYA)


async def test_facts_come_from_the_earliest_completed_first_value_milestone(
    db: Database, portfolio: Portfolio
) -> None:
    async with db.sessions() as s:
        found = {f.name: f for f in await read_ttv_facts(s)}
        reached = {f.name for f in await read_ttv_facts(s, reached_only=True)}
        one = await read_ttv_facts(s, account_id=portfolio.ids["Ibis"])
    assert len(found) == 15
    assert found["Ibis"].first_value_on == ISSUED + timedelta(30)
    assert found["Elm"].first_value_on is None  # its first-value milestone is still open
    assert found["Ember"] == TtvFacts(
        portfolio.ids["Ember"], "Ember", "enterprise", "onboarding", day(-100), None
    )
    assert reached == {"Eagle", "Falcon", "Heron", "Ibis", "Jay", "Kite", "Lark", "Robin"}
    assert one == [found["Ibis"]]


async def test_the_account_card_line(db: Database, portfolio: Portfolio) -> None:
    async def line(name: str) -> str | None:
        async with db.sessions() as s:
            view = await account_ttv(s, portfolio.ids[name], TODAY)
        return None if view is None else view.text

    assert await line("Ibis") == "Time to value: 30 days (segment median 60 days)"
    assert await line("Robin") == "Time to value: 10 days (median 45 days over all accounts, too few in smb)"
    assert await line("Ember") == "Onboarding: day 100, segment median 60 days"
    assert await line("Sable") == "Onboarding: day 50, median 45 days over all accounts, too few in smb"
    assert await line("Mint") == "Onboarding: day 10, segment median 40 days"
    assert await line("Aspen") is None
    assert await line("Pine") is None
    async with db.sessions() as s:
        view = await account_ttv(s, portfolio.ids["Ember"], TODAY)
        assert await account_ttv(s, 999_999, TODAY) is None
    assert view is not None
    assert (view.reached, view.days, view.benchmark) == (False, 100, Benchmark(60, 4, segment="enterprise"))


async def test_the_card_line_without_any_median(db: Database) -> None:
    async with db.transaction() as s:
        row = Account(external_id="X", name="Solo", name_key="solo", contract_start=day(-12))
        s.add(row)
        await s.flush()
    async with db.sessions() as s:
        view = await account_ttv(s, row.id, TODAY)
    assert view is not None and view.text == "Onboarding: day 12"


# ------------------------------------------------------------------------------------- the command

TTV_PAGE_1 = """\
# Time to value
**Median 45 days** over 8 accounts
enterprise: 60 days (4 accounts)
mid-market: 40 days (3 accounts)
Public Sector: none reached first value yet
smb: 1 account, too few for a median
**Slowest to first value (1-5 of 8)**
**Eagle** 90 days · enterprise
**Falcon** 70 days · enterprise
**Jay** 60 days · mid-market
**Heron** 50 days · enterprise
**Kite** 40 days · mid-market
[Eagle] [Falcon] [Jay] [Heron] [Kite]
**Onboarding, furthest beyond the median (4)**
**Ember** day 100 · 40 days beyond the enterprise median (60 days)
**Sable** day 50 · 5 days beyond the median of all accounts (45 days), too few in smb
**Moss** day 45 · 5 days beyond the mid-market median (40 days)
**Elm** day 61 · 1 day beyond the enterprise median (60 days)
[Ember] [Sable] [Moss] [Elm]
Time to value: days from contract start to the first-value milestone's completion
[More (3 left)]"""


async def test_ttv_overall(bot: Bot, maya: Actor, portfolio: Portfolio) -> None:
    reply = await ask(bot, maya, "ttv")
    assert text_of(reply) == TTV_PAGE_1
    assert reply.summary == "Time to value: median 45 days"
    assert reply.shared is False
    opens = [b for b in reply.buttons if b.action == "account.open"]
    assert opens[0].payload == {"account_id": portfolio.ids["Eagle"]}
    assert opens[5].payload == {"account_id": portfolio.ids["Ember"]}


async def test_ttv_pages_and_buttons_open_the_card(bot: Bot, maya: Actor) -> None:
    first = await ask(bot, maya, "ttv")
    second = await press(bot, maya, button(first, "More"))
    assert isinstance(second, Reply) and second.replace is True
    lines = text_of(second).splitlines()
    assert lines[6:11] == [
        "**Slowest to first value (6-8 of 8)**",
        "**Ibis** 30 days · enterprise",
        "**Lark** 20 days · mid-market",
        "**Robin** 10 days · smb",
        "[Ibis] [Lark] [Robin]",
    ]
    assert "Onboarding, furthest" not in text_of(second)
    assert not any(b.label.startswith("More") for b in second.buttons)
    card = await press(bot, maya, button(first, "Ember"))
    assert isinstance(card, Reply) and text_of(card).startswith("# Ember\n")


async def test_ttv_of_a_segment(bot: Bot, maya: Actor) -> None:
    reply = await ask(bot, maya, "ttv Enterprise share")
    assert text_of(reply) == (
        "# Time to value: enterprise\n"
        "**Median 60 days** over 4 accounts; all accounts: 45 days over 8 accounts\n"
        "**Slowest to first value (4)**\n"
        "**Eagle** 90 days · enterprise\n"
        "**Falcon** 70 days · enterprise\n"
        "**Heron** 50 days · enterprise\n"
        "**Ibis** 30 days · enterprise\n"
        "[Eagle] [Falcon] [Heron] [Ibis]\n"
        "**Onboarding, furthest beyond the median (2)**\n"
        "**Ember** day 100 · 40 days beyond the enterprise median (60 days)\n"
        "**Elm** day 61 · 1 day beyond the enterprise median (60 days)\n"
        "[Ember] [Elm]\n"
        "Time to value: days from contract start to the first-value milestone's completion"
    )
    assert reply.shared is True
    assert reply.summary == "Time to value in enterprise: median 60 days"


async def test_ttv_of_a_segment_too_small_for_its_own_median(bot: Bot, maya: Actor) -> None:
    reply = await ask(bot, maya, "ttv smb")
    lines = text_of(reply).splitlines()
    assert lines[:2] == [
        "# Time to value: smb",
        "1 account in smb reached first value: too few for a median of their own (3 needed), "
        "so smb is measured against all accounts: 45 days over 8 accounts.",
    ]
    assert "**Sable** day 50 · 5 days beyond the median of all accounts (45 days), too few in smb" in lines
    assert reply.summary == "Time to value in smb: median 45 days"


async def test_ttv_of_an_unknown_segment_lists_the_known_ones(bot: Bot, maya: Actor) -> None:
    reply = await ask(bot, maya, "ttv startups")
    assert reply.summary == (
        "No segment “startups”. Known segments: enterprise, mid-market, Public Sector, smb. "
        "Try `ttv` for all of them."
    )


async def test_ttv_with_no_data(db: Database) -> None:
    await add_person(db, MAYA, "Maya Chen", "csm")
    bot = make_bot(db)
    reply = await ask(bot, await actor_for(db, MAYA), "ttv")
    assert text_of(reply) == (
        "# Time to value\n"
        "No account has reached first value yet.\n"
        "Time to value: days from contract start to the first-value milestone's completion"
    )
    assert reply.summary == "Time to value: no data yet"
    failed = await ask(bot, await actor_for(db, MAYA), "ttv smb")
    assert failed.summary == "No segment “smb”. No account has a segment yet. Try `ttv` for all of them."
