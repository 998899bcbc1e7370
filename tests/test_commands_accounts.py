"""Account commands through the core with a real database: the card, ``my``, ``risk`` and ``renewals``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.core.dispatch import Bot
from bot.types import Actor, Payload, Reply
from handlers import build_bot
from storage.db import Database
from storage.models import Account, ArrChange, Milestone, Outcome, SurveyResponse, UsageMetric
from tests.factories import (
    JONAS,
    LEO,
    MAYA,
    NOW,
    PRIYA,
    SAM,
    TODAY,
    Team,
    action,
    actor_for,
    add_account,
    add_follow_up,
    add_person,
    add_snapshot,
    as_form,
    as_reply,
    ask,
    button,
    command,
    day,
    make_bot,
    press,
    seed_team,
    settings_for,
    submit,
    text_of,
)


@pytest.fixture
async def team(db: Database) -> Team:
    return await seed_team(db)


@pytest.fixture
def bot(db: Database) -> Bot:
    return make_bot(db)


@pytest.fixture
async def maya(db: Database, team: Team) -> Actor:
    return await actor_for(db, MAYA)


# ------------------------------------------------------------------------------------------- the card

ACME_ROCKETS_CARD = """\
# Acme Rockets
🔴 **Health 37 (red)**  ▼ 9 in 7 days, ▼ 44 in 30 days
**Why:** 30% of licensed seats active; active users down 54% in 30 days; 3 detractors in 90 days
ARR: $438k
Segment: enterprise / gold
Stage: renewing
Owner: Maya Chen
Renewal: Tue 05 Jan 2027 (in 41 days)
**Milestones**
🔺 QBR Nov 2026: overdue 9 days
🔺 Renewal proposal sent: overdue 4 days
▫️ Renewal Jan 2027: in 41 days (Tue 05 Jan 2027)
**Open follow-ups (1)**
• Send the recording (overdue 5 days)
**Latest feedback**
NPS 3 (detractor) “Every release breaks one of our saved reports.”
CSAT 3
Last touch: call 2 days ago by Maya Chen | ID ACME-001 | Confidence 100%
[Log follow-up] [Milestones] [Timeline] [Success plan] [Send feedback to CX]"""


@pytest.mark.parametrize(
    "typed", ["account acme rockets", "account ACME-001", "health acme rockts", "card acme rock"]
)
async def test_account_card(bot: Bot, maya: Actor, team: Team, typed: str) -> None:
    reply = await ask(bot, maya, typed)
    # A typo opens the card of the one close name, saying quietly that it is the closest match.
    closest = "Closest match to “acme rockts”\n" if "rockts" in typed else ""
    assert text_of(reply) == ACME_ROCKETS_CARD.replace("\n", "\n" + closest, 1)
    assert reply.summary == "Acme Rockets: health 37"
    assert reply.shared is False
    assert [(b.action, b.payload, b.style) for b in reply.buttons] == [
        ("followup.open_form", {"account_id": team.acme_rockets}, "primary"),
        ("milestones.of_account", {"account_id": team.acme_rockets}, None),
        ("timeline.of_account", {"account_id": team.acme_rockets}, None),
        ("plan.open", {"account_id": team.acme_rockets}, None),
        ("feedback.open_form", {"account_id": team.acme_rockets}, None),
    ]


async def test_card_from_a_button_and_shared(bot: Bot, maya: Actor, team: Team) -> None:
    reply = as_reply(await bot.handle(action(maya, "account.open", {"account_id": team.acme_rockets})))
    assert text_of(reply) == ACME_ROCKETS_CARD
    assert (await ask(bot, maya, "account acme rockets share")).shared is True


async def test_everyone_registered_may_read_a_card(db: Database, bot: Bot, team: Team) -> None:
    for email in (LEO, JONAS, PRIYA, SAM):
        reply = await ask(bot, await actor_for(db, email), "account acme rockets")
        assert text_of(reply) == ACME_ROCKETS_CARD, email


async def test_card_shows_arr_change_time_to_value_plan_and_tone(
    db: Database, bot: Bot, maya: Actor, team: Team
) -> None:
    """The outcome metrics of the domain on the card: expansion, time to value, the success plan's
    outcomes at risk and achieved this week, and the tone of recent comments."""
    achieved_at = datetime.combine(day(-2), datetime.min.time(), tzinfo=UTC)
    async with db.transaction() as session:
        await session.execute(
            update(Account).where(Account.id == team.acme_rockets).values(contract_start=day(-500))
        )
        session.add_all(
            [
                ArrChange(account_id=team.acme_rockets, day=day(-400), arr=400_000, source="import"),
                ArrChange(
                    account_id=team.acme_rockets,
                    day=day(-100),
                    arr=438_000,
                    previous_arr=400_000,
                    source="import",
                ),
                Milestone(
                    account_id=team.acme_rockets,
                    name="First dashboard live",
                    kind="first_value",
                    due_date=day(-470),
                    completed_at=datetime.combine(day(-466), datetime.min.time(), tzinfo=UTC),
                ),
                Outcome(
                    account_id=team.acme_rockets,
                    title="Sign-off from the CFO",
                    start_date=day(-60),
                    due_date=day(30),
                    status="achieved",
                    achieved_at=achieved_at,
                    demonstrated_at=achieved_at,
                ),
                Outcome(
                    account_id=team.acme_rockets,
                    title="300 weekly active users",
                    metric="active_users",
                    target=300,
                    baseline=100,
                    start_date=day(-60),
                    due_date=day(60),
                ),
                SurveyResponse(
                    account_id=team.acme_rockets,
                    kind="csat",
                    score=1,
                    comment="Terrible support, nobody answered for a week.",
                    sentiment=-0.7,
                    submitted_at=NOW - timedelta(days=3),
                    natural_key="tone-1",
                ),
            ]
        )
        for offset in range(7):
            session.add(
                UsageMetric(account_id=team.acme_rockets, day=day(-offset), metric="active_users", value=110)
            )
    lines = text_of(await ask(bot, maya, "account acme rockets")).split("\n")
    assert "ARR +$38k (+10%) in 12 months" in lines
    assert "Time to value: 34 days" in "\n".join(lines)
    plan_at = lines.index("**Success plan** (2 outcomes: 1 at risk, 1 achieved this week)")
    # 110 active users from a baseline of 100 toward 300: 5% of the way, the line says 50% by now.
    assert (
        lines[plan_at + 1] == "🔴 300 weekly active users · ▱▱▱▱▱▱▱▱▱▱ 5% · due Sun 24 Jan 2027 (in 60 days)"
    )
    assert lines[plan_at + 2].startswith("✅ Sign-off from the CFO · achieved")
    tone = "Recent tone: strongly negative (-0.70 over 1 comment)"
    assert f"{tone}: “Terrible support, nobody answered for a week.”" in lines


async def test_card_without_health_data_or_owner(bot: Bot, maya: Actor) -> None:
    reply = await ask(bot, maya, "account nimbus")
    assert text_of(reply) == (
        "# Nimbus Freight\n"
        "⚪ **Health: not enough data**\n"
        "_not enough data: no component has data_\n"
        "ARR: $8.0k\nSegment: smb\nStage: n/a\nOwner: unassigned\nRenewal: n/a\n"
        "Last touch: none logged | ID NIM-001\n"
        "[Log follow-up] [Milestones] [Timeline] [Success plan] [Send feedback to CX]"
    )
    assert reply.summary == "Nimbus Freight: health n/a"


async def test_card_shows_three_overdue_milestones_and_three_follow_ups(
    db: Database, bot: Bot, maya: Actor, team: Team
) -> None:
    for n in range(4):
        await add_follow_up(
            db, team.cafe, author_id=team.maya, summary=f"Note {n}", next_step=f"Step {n}", due=day(n + 5)
        )
    reply = await ask(bot, maya, "account cafe lumiere")
    lines = text_of(reply).splitlines()
    start = lines.index("**Open follow-ups (5)**")
    assert lines[start : start + 5] == [
        "**Open follow-ups (5)**",
        "• Book a call with the sponsor (due in 2 days)",
        "• Step 0 (due in 5 days)",
        "• Step 1 (due in 6 days)",
        "…and 2 more",
    ]
    # The snoozed milestone stays hidden until its snooze ends.
    assert "**Milestones**\n▫️ Go-live: in 3 days (Sat 28 Nov 2026)" in text_of(reply)
    assert "Data migration" not in text_of(reply)


@pytest.mark.parametrize("typed", ["account", "health", "account share"])
async def test_account_without_a_name_asks_which(bot: Bot, maya: Actor, typed: str) -> None:
    reply = await ask(bot, maya, typed)
    assert reply.summary == "Which account? Try `account acme` or `account ACME-001`."


@pytest.mark.parametrize("payload", [{}, {"account_id": "abc"}, {"account_id": None}, {"account_id": ""}])
async def test_broken_open_button(bot: Bot, maya: Actor, payload: Payload) -> None:
    reply = as_reply(await bot.handle(action(maya, "account.open", payload)))
    assert reply.summary == "That button is missing what it refers to. Run the command again."


# ------------------------------------------------------------------------------------------------- my

MAYA_ROCKETS = "🔴 **Acme Rockets** 37 ▼9 · $438k · renews in 41 days · 30% of licensed seats active"
MAYA_CAFE = "🟡 **Café Lumière Studios** 55 · $96k · renews in 75 days · 4 detractors in 90 days"
MAYA_ROBOTICS = "🟢 **Acme Robotics** 92 · $139k · renews in 200 days"


async def test_my_accounts_worst_first(bot: Bot, maya: Actor, team: Team) -> None:
    reply = await ask(bot, maya, "my")
    assert text_of(reply) == "\n".join(
        [
            "# Your accounts",
            MAYA_ROCKETS,
            MAYA_CAFE,
            MAYA_ROBOTICS,
            "3 in all",
            "[Acme Rockets] [Café Lumière Studios] [Acme Robotics]",
        ]
    )
    assert reply.summary == "Your accounts: 3 in all"
    assert [b.payload for b in reply.buttons] == [
        {"account_id": team.acme_rockets},
        {"account_id": team.cafe},
        {"account_id": team.acme_robotics},
    ]
    card = as_reply(await press(bot, maya, button(reply, "Café Lumière Studios")))
    assert card.summary == "Café Lumière Studios: health 55"


@pytest.mark.parametrize(
    ("typed", "line", "title"),
    [
        ("my red", MAYA_ROCKETS, "Your red accounts"),
        ("my YELLOW", MAYA_CAFE, "Your yellow accounts"),
        ("my green share", MAYA_ROBOTICS, "Your green accounts"),
    ],
)
async def test_my_accounts_by_band(bot: Bot, maya: Actor, typed: str, line: str, title: str) -> None:
    reply = await ask(bot, maya, typed)
    assert list_lines(reply) == [line]
    assert reply.summary == f"{title}: 1 in all"
    assert reply.shared is typed.endswith("share")


def list_lines(reply: Reply) -> list[str]:
    """The lines of a list reply between its header and its caption and buttons."""
    return text_of(reply).splitlines()[1:-2]


async def test_my_accounts_of_another_csm(db: Database, bot: Bot, team: Team) -> None:
    reply = await ask(bot, await actor_for(db, LEO), "my")
    assert text_of(reply).splitlines()[1:3] == [
        "🔴 **Grünfeld Maschinenbau** 31 · $12k · renews in 270 days",
        "🟢 **Brightwater Logistics** 88 · $610k · renews in 25 days",
    ]
    assert (await ask(bot, await actor_for(db, LEO), "my yellow")).summary == "Your yellow accounts: none."


async def test_my_with_no_accounts(db: Database, bot: Bot, team: Team) -> None:
    reply = await ask(bot, await actor_for(db, JONAS), "my")
    assert text_of(reply) == "You own no accounts in Touchpoint."


@pytest.mark.parametrize("typed", ["my purple", "my acme", "my 3"])
async def test_my_with_a_bad_band(bot: Bot, maya: Actor, typed: str) -> None:
    reply = await ask(bot, maya, typed)
    assert reply.summary == "Use `my`, `my red`, `my yellow` or `my green`."


async def test_my_accounts_without_health_come_last(db: Database, bot: Bot, team: Team) -> None:
    await add_account(db, "AAA-1", "Aardvark Analytics", owner_id=team.maya, arr=5_000)
    reply = await ask(bot, await actor_for(db, MAYA), "my")
    assert text_of(reply).splitlines()[4] == "⚪ **Aardvark Analytics** n/a · $5.0k"


async def test_my_pages_ten_at_a_time(db: Database, bot: Bot, team: Team) -> None:
    pat = await add_person(db, "pat@example.com", "Pat Doe", "csm", manager_id=team.jonas)
    for n in range(1, 13):
        account = await add_account(db, f"P-{n:02}", f"Portfolio {n:02}", owner_id=pat, arr=1_000 * n)
        await add_snapshot(db, account, TODAY, 20 + n)
    actor = await actor_for(db, "pat@example.com")

    first = await ask(bot, actor, "my")
    lines = text_of(first).splitlines()
    assert lines[0] == "# Your accounts"
    assert lines[1:11] == [
        *(f"🔴 **Portfolio {n:02}** {20 + n} · ${n}.0k" for n in range(1, 10)),
        "🔴 **Portfolio 10** 30 · $10k",
    ]
    assert lines[11] == "1-10 of 12"
    assert [b.label for b in first.buttons] == [
        "Portfolio 01",
        "Portfolio 02",
        "Portfolio 03",
        "Portfolio 04",
        "More (2 left)",
    ]
    assert first.summary == "Your accounts: 1-10 of 12"
    assert first.replace is False

    second = as_reply(await press(bot, actor, button(first, "More")))
    assert text_of(second).splitlines() == [
        "# Your accounts",
        "🔴 **Portfolio 11** 31 · $11k",
        "🔴 **Portfolio 12** 32 · $12k",
        "11-12 of 12",
        "[Portfolio 11] [Portfolio 12]",
    ]
    assert second.replace is True

    # More for a band filter keeps the filter.
    red = await ask(bot, actor, "my red")
    assert button(red, "More").payload == {"command": "my", "args": "red", "offset": 10}
    assert as_reply(await press(bot, actor, button(red, "More"))).summary == "Your red accounts: 11-12 of 12"


# ----------------------------------------------------------------------------------------------- risk

RISK_CONTEXT = "Red, or down 10+ points in 30 days; health of 2026-11-25"


async def test_risk_lists_red_and_falling_accounts_with_arr_at_risk(bot: Bot, maya: Actor) -> None:
    reply = await ask(bot, maya, "risk")
    assert text_of(reply) == "\n".join(
        [
            "# At risk: 3 accounts, $546k ARR",
            "🔴 **Grünfeld Maschinenbau** 31 · $12k · renews in 270 days",
            MAYA_ROCKETS,
            MAYA_CAFE,  # yellow, but down 15 points in 30 days
            f"3 in all | {RISK_CONTEXT}",
            "[Grünfeld Maschinenbau] [Acme Rockets] [Café Lumière Studios]",
        ]
    )


@pytest.mark.parametrize(
    ("typed", "title", "names"),
    [
        ("risk enterprise", "At risk in enterprise: 1 account, $438k ARR", ["Acme Rockets"]),
        ("risk ENTERPRISE share", "At risk in ENTERPRISE: 1 account, $438k ARR", ["Acme Rockets"]),
        ("risk mid-market", "At risk in mid-market: 1 account, $96k ARR", ["Café Lumière Studios"]),
        ("risk smb", "At risk in smb: 1 account, $12k ARR", ["Grünfeld Maschinenbau"]),
    ],
)
async def test_risk_by_segment(bot: Bot, maya: Actor, typed: str, title: str, names: list[str]) -> None:
    reply = await ask(bot, maya, typed)
    assert text_of(reply).splitlines()[0] == f"# {title}"
    assert [b.label for b in reply.buttons] == names
    assert reply.shared is typed.endswith("share")


async def test_risk_in_a_segment_without_any(bot: Bot, maya: Actor) -> None:
    reply = await ask(bot, maya, "risk government")
    assert text_of(reply) == "No red or falling accounts in government. 🎉"


async def test_risk_before_any_health_was_computed(db: Database) -> None:
    await add_person(db, MAYA, "Maya Chen", "csm")
    await add_account(db, "X-1", "Xylo", owner_id=None)
    reply = await ask(make_bot(db), await actor_for(db, MAYA), "risk")
    assert text_of(reply) == "No health has been computed yet."


async def test_risk_uses_the_latest_health_on_or_before_today(db: Database) -> None:
    maya = await add_person(db, MAYA, "Maya Chen", "csm")
    account = await add_account(db, "X-1", "Xylo", owner_id=maya, arr=1_000)
    await add_snapshot(db, account, day(-3), 30)
    await add_snapshot(db, account, day(1), 90)  # a snapshot from the future is ignored
    reply = await ask(make_bot(db), await actor_for(db, MAYA), "risk")
    assert text_of(reply).splitlines()[0] == "# At risk: 1 account, $1.0k ARR"
    assert text_of(reply).splitlines()[-2].endswith("health of 2026-11-22")


async def test_risk_pages_with_the_segment_kept(db: Database, bot: Bot, team: Team) -> None:
    for n in range(1, 12):
        account = await add_account(
            db, f"R-{n:02}", f"Risky {n:02}", owner_id=team.leo, segment="smb", arr=1_000
        )
        await add_snapshot(db, account, TODAY, 10 + n)
    maya = await actor_for(db, MAYA)
    first = await ask(bot, maya, "risk smb")
    assert text_of(first).splitlines()[0] == "# At risk in smb: 12 accounts, $23k ARR"
    more = button(first, "More")
    assert more.payload == {"command": "risk", "args": "smb", "offset": 10}
    second = as_reply(await press(bot, maya, more))
    assert text_of(second).splitlines()[1:3] == [
        "🔴 **Risky 11** 21 · $1.0k",
        "🔴 **Grünfeld Maschinenbau** 31 · $12k · renews in 270 days",
    ]
    assert second.replace is True


# ------------------------------------------------------------------------------------------- renewals


async def test_renewals_in_the_next_90_days(bot: Bot, maya: Actor) -> None:
    reply = await ask(bot, maya, "renewals")
    assert text_of(reply) == "\n".join(
        [
            "# Renewals in the next 90 days: 3 accounts, $1.1M ARR",
            "🟢 **Brightwater Logistics** 88 · $610k · Sun 20 Dec 2026 (in 25 days) · Leo Park",
            "🔴 **Acme Rockets** 37 · $438k · Tue 05 Jan 2027 (in 41 days) · Maya Chen",
            "🟡 **Café Lumière Studios** 55 · $96k · Mon 08 Feb 2027 (in 75 days) · Maya Chen",
            "3 in all",
        ]
    )


@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ("renewals 30", "Renewals in the next 30 days: 1 account, $610k ARR"),
        ("renewal 41", "Renewals in the next 41 days: 2 accounts, $1.0M ARR"),
        ("renewals 730 share", "Renewals in the next 730 days: 5 accounts, $1.3M ARR"),
    ],
)
async def test_renewals_in_a_given_number_of_days(bot: Bot, maya: Actor, typed: str, title: str) -> None:
    reply = await ask(bot, maya, typed)
    assert reply.summary == title
    assert reply.shared is typed.endswith("share")


async def test_no_renewals(bot: Bot, maya: Actor) -> None:
    assert text_of(await ask(bot, maya, "renewals 1")) == "No renewals in the next 1 day."
    assert text_of(await ask(bot, maya, "renewals 24")) == "No renewals in the next 24 days."


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("renewals soon", "Use `renewals` or `renewals DAYS`, for example `renewals 30`."),
        ("renewals 30.5", "Use `renewals` or `renewals DAYS`, for example `renewals 30`."),
        ("renewals 0", "Give a number of days between 1 and 730."),
        ("renewals -5", "Give a number of days between 1 and 730."),
        ("renewals 731", "Give a number of days between 1 and 730."),
    ],
)
async def test_renewals_with_bad_days_explains(bot: Bot, maya: Actor, typed: str, message: str) -> None:
    reply = await ask(bot, maya, typed)
    assert reply == Reply(summary=message, blocks=reply.blocks)
    assert text_of(reply) == message


async def test_renewals_page_ten_at_a_time(db: Database, bot: Bot, team: Team, maya: Actor) -> None:
    for n in range(1, 11):
        await add_account(db, f"N-{n:02}", f"Renewing {n:02}", owner_id=None, arr=1_000, renewal=day(n))
    first = await ask(bot, maya, "renewals 30")
    assert first.summary == "Renewals in the next 30 days: 11 accounts, $620k ARR"
    assert [b.label for b in first.buttons] == ["More (1 left)"]
    assert button(first, "More").payload == {"command": "renewals", "args": "30", "offset": 10}
    assert (
        text_of(first)
        .splitlines()[1]
        .startswith("⚪ **Renewing 01** n/a · $1.0k · Thu 26 Nov 2026 (tomorrow) · unassigned")
    )
    second = as_reply(await press(bot, maya, button(first, "More")))
    assert text_of(second).splitlines()[1:] == [
        "🟢 **Brightwater Logistics** 88 · $610k · Sun 20 Dec 2026 (in 25 days) · Leo Park",
        "11-11 of 11",
    ]


async def test_last_touch_is_dated_in_the_readers_time_zone(db: Database, team: Team) -> None:
    # 02:00 UTC on the 26th is still 21:00 on the 25th in New York, where Maya works.
    evening = datetime(2026, 11, 26, 2, tzinfo=UTC)
    bot = build_bot(db, settings_for(db), clock=lambda: evening)
    maya = await actor_for(db, MAYA)
    form = as_form(await bot.handle(command(maya, "log acme robotics")))
    await bot.handle(submit(maya, form, {"kind": "call", "summary": "Evening call"}))
    card = text_of(await ask(bot, maya, "account acme robotics"))
    assert "Last touch: call today by Maya Chen" in card
    # For Sam in Singapore it is already the afternoon of the 26th: the call was today for him too.
    sam = await actor_for(db, SAM)
    assert "Last touch: call today by Maya Chen" in text_of(await ask(bot, sam, "account acme robotics"))
    # A day later it is "1 day ago".
    later = build_bot(db, settings_for(db), clock=lambda: evening + timedelta(days=1))
    assert "Last touch: call 1 day ago by Maya Chen" in text_of(
        await ask(later, maya, "account acme robotics")
    )
