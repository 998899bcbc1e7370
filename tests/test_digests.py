"""Digest subscriptions in chat (``digest subscribe|list|unsubscribe|preview``) and what digests say."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.core.context import BotContext
from bot.core.dispatch import Bot
from bot.digests.build import build_digest
from bot.digests.charts import png_size
from bot.digests.csm import build_csm_digest, build_csm_digests
from bot.digests.parts import QUIET, Digest
from bot.digests.team import CHART_NAME, CHART_URL, build_team_digest
from bot.types import Actions, Image, Reply
from storage.db import Database
from storage.models import ArrChange, DigestSubscription, Outcome, UsageMetric
from tests.factories import (
    NOW,
    TODAY,
    Component,
    actor_for,
    add_account,
    add_follow_up,
    add_milestone,
    add_person,
    add_snapshot,
    ask,
    count,
    day,
    make_bot,
    press,
    text_of,
)

JONAS, MAYA, LEO, SAM, PRIYA = (
    "jonas@example.com",
    "maya@example.com",
    "leo@example.com",
    "sam@example.com",
    "priya@example.com",
)
ATLAS_COMPONENTS: tuple[Component, ...] = (
    ("license_utilisation", 20.0, 20.0, "20% of licensed seats active"),
    ("usage_trend", 40.0, 15.0, "active users down 40% in 30 days"),
)


@dataclass(frozen=True)
class World:
    jonas: int
    maya: int
    leo: int
    sam: int
    priya: int
    atlas: int
    birch: int
    cobalt: int
    delta: int
    send_deck: int
    call_sponsor: int
    qbr: int
    go_live: int


async def seed(db: Database) -> World:
    """Jonas manages Maya; Leo has no manager; Sam is an admin, Priya CX. Today is Wed 25 Nov 2026.

    Maya: Atlas (red 35, was yellow 45 yesterday and 60 a week ago), Birch (green 80, yellow 65 a week
    ago), Cobalt (yellow 55, green 72 yesterday, 75 a week ago). Leo: Delta (red 30 for days).
    """
    async with db.transaction() as s:
        jonas = await add_person(s, JONAS, "Jonas Albrecht", "cs_manager", timezone="Europe/Berlin")
        maya = await add_person(
            s, MAYA, "Maya Chen", "csm", manager_id=jonas, timezone="America/New_York", slack_user_id="UMAYA"
        )
        leo = await add_person(s, LEO, "Leo Park", "csm")
        sam = await add_person(s, SAM, "Sam Okafor", "admin")
        priya = await add_person(s, PRIYA, "Priya Raman", "cx")
        atlas = await add_account(
            s, "ATL-1", "Atlas Corp", owner_id=maya, segment="enterprise", arr=400_000, renewal=day(20)
        )
        birch = await add_account(
            s, "BIR-1", "Birch Ltd", owner_id=maya, segment="smb", arr=50_000, renewal=day(50)
        )
        cobalt = await add_account(
            s, "COB-1", "Cobalt Inc", owner_id=maya, segment="enterprise", arr=120_000, renewal=day(80)
        )
        delta = await add_account(
            s, "DEL-1", "Delta GmbH", owner_id=leo, segment="enterprise", arr=900_000, renewal=day(10)
        )
        for account, scores in (
            (atlas, (60, 45, 35)),
            (birch, (65, 80, 80)),
            (cobalt, (75, 72, 55)),
            (delta, (50, 30, 30)),
        ):
            for offset, score in zip((-7, -1, 0), scores, strict=True):
                components = ATLAS_COMPONENTS if account == atlas and offset == 0 else ()
                await add_snapshot(s, account, day(offset), score, components=components)
        qbr = await add_milestone(s, atlas, "QBR", day(-3), kind="qbr")
        go_live = await add_milestone(s, birch, "Go-live", TODAY, kind="go_live")
        await add_milestone(s, cobalt, "Kickoff", day(-40), kind="kickoff", completed_at=NOW)
        await add_milestone(s, delta, "First value", day(-10), kind="first_value")
        send_deck = await add_follow_up(
            s, atlas, author_id=maya, summary="QBR prep", next_step="Send the deck", due=day(-2)
        )
        await add_follow_up(
            s, birch, author_id=maya, summary="Check-in", next_step="Plan training", due=day(5)
        )
        call_sponsor = await add_follow_up(
            s, cobalt, author_id=maya, summary="Email", next_step="Call sponsor", due=TODAY
        )
        await add_follow_up(
            s, delta, author_id=leo, summary="Escalation", next_step="Call the CTO", due=day(-1)
        )
    return World(
        jonas, maya, leo, sam, priya, atlas, birch, cobalt, delta, send_deck, call_sponsor, qbr, go_live
    )


def context_of(bot: Bot) -> BotContext:
    return bot.context


async def subscriptions(db: Database) -> list[DigestSubscription]:
    async with db.sessions() as s:
        return list((await s.execute(select(DigestSubscription).order_by(DigestSubscription.id))).scalars())


# -------------------------------------------------------------------------------------------- subscribe


async def test_a_csm_subscribes_themselves_with_the_defaults(db: Database) -> None:
    w = await seed(db)
    bot = make_bot(db)
    reply = await ask(bot, await actor_for(db, MAYA), "digest subscribe")
    assert text_of(reply) == (
        "✅ Digest #1 for you: weekdays at 09:00 America/New_York, own accounts. "
        "See it now with `digest preview 1`; stop it with `digest unsubscribe 1`."
    )
    [row] = await subscriptions(db)
    assert (row.person_id, row.created_by_id, row.channel, row.platform) == (w.maya, w.maya, None, "console")
    assert (row.scope, row.segment, row.cadence, row.weekday, row.at_time, row.timezone, row.active) == (
        "mine",
        None,
        "weekdays",
        None,
        "09:00",
        "America/New_York",
        True,
    )


async def test_subscribing_and_stopping_tell_the_scheduler_at_once(db: Database) -> None:
    await seed(db)
    bot = make_bot(db)
    calls: list[str] = []
    bot.context.subscriptions_changed = lambda: calls.append("changed")
    maya = await actor_for(db, MAYA)
    await ask(bot, maya, "digest subscribe")
    assert calls == ["changed"]
    await ask(bot, maya, "digest unsubscribe 1")
    assert calls == ["changed", "changed"]


async def test_a_csm_may_not_subscribe_a_channel_someone_else_or_a_team(db: Database) -> None:
    await seed(db)
    bot = make_bot(db)
    maya = await actor_for(db, MAYA)
    for text in ("digest subscribe here", "digest subscribe @leo@example.com"):
        reply = await ask(bot, maya, text)
        assert text_of(reply).startswith("Only CS managers and admins can set up a digest for a channel")
    for text in ("digest subscribe team", "digest subscribe me enterprise"):
        assert text_of(await ask(bot, maya, text)).startswith("Your digest covers your own accounts (`mine`)")
    assert await count(db, DigestSubscription) == 0


async def test_a_manager_subscribes_a_channel_weekly_at_a_time_in_a_zone(db: Database) -> None:
    w = await seed(db)
    bot = make_bot(db)
    reply = await ask(bot, await actor_for(db, JONAS), "digest subscribe here weekly mon 8:30 asia/tokyo")
    assert text_of(reply).startswith("✅ Digest #1 for this channel: every Monday at 08:30 Asia/Tokyo, team.")
    [row] = await subscriptions(db)
    assert (row.channel, row.platform, row.person_id, row.created_by_id) == (
        "tests",
        "console",
        None,
        w.jonas,
    )
    assert (row.scope, row.cadence, row.weekday, row.at_time, row.timezone) == (
        "team",
        "weekly",
        0,
        "08:30",
        "Asia/Tokyo",
    )


async def test_a_manager_subscribes_a_person_by_email_or_slack_mention(db: Database) -> None:
    w = await seed(db)
    bot = make_bot(db)
    jonas = await actor_for(db, JONAS)
    first = await ask(bot, jonas, "digest subscribe @maya@example.com daily")
    assert text_of(first).startswith(
        "✅ Digest #1 for Maya Chen: every day at 09:00 America/New_York, own accounts."
    )
    second = await ask(bot, jonas, "digest subscribe <@UMAYA|maya> 17:00")
    assert text_of(second).startswith("✅ Digest #2 for Maya Chen: weekdays at 17:00 America/New_York")
    rows = await subscriptions(db)
    assert [(r.person_id, r.scope, r.channel) for r in rows] == [
        (w.maya, "mine", None),
        (w.maya, "mine", None),
    ]
    # Naming yourself is the same as "me": a manager's own digest covers their team by default.
    third = await ask(bot, jonas, "digest subscribe jonas@example.com")
    assert text_of(third).startswith("✅ Digest #3 for you: weekdays at 09:00 Europe/Berlin, team.")


async def test_a_segment_is_matched_to_the_accounts_spelling(db: Database) -> None:
    await seed(db)
    bot = make_bot(db)
    reply = await ask(bot, await actor_for(db, SAM), "digest subscribe here ENTERPRISE")
    assert "segment enterprise" in text_of(reply)
    [row] = await subscriptions(db)
    assert (row.scope, row.segment) == ("segment", "enterprise")


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("25:00", "“25:00” is not a time of day. Use 24-hour HH:MM, like 09:00 or 17:30."),
        ("9:75", "“9:75” is not a time of day. Use 24-hour HH:MM, like 09:00 or 17:30."),
        (
            "Mars/Olympus",
            "Unknown time zone “Mars/Olympus”. Use a name like Europe/Berlin, America/New_York or UTC.",
        ),
        (
            "weekly funday",
            "Which day? “funday” is not a weekday. Use `weekly monday` (monday to sunday, or mon to sun).",
        ),
        ("weekly", "Which day? Use `weekly monday` (monday to sunday, or mon to sun)."),
        ("daily monday", "“monday”: give only one cadence."),
        ("galactic", "Unknown segment “galactic”. Known segments: enterprise, smb. Or use `team` or `mine`."),
        ("@nobody@example.com", "No one in Touchpoint has the email nobody@example.com."),
        ("<@UNOBODY>", "I don't know that Slack user in Touchpoint yet. Give their email instead."),
        ("here 09:00 10:00", "“10:00”: give only one at time."),
    ],
)
async def test_bad_subscribe_words_are_explained(db: Database, words: str, message: str) -> None:
    await seed(db)
    bot = make_bot(db)
    reply = await ask(bot, await actor_for(db, JONAS), f"digest subscribe {words}")
    assert text_of(reply) == message
    assert await count(db, DigestSubscription) == 0


async def test_the_same_subscription_twice_is_stored_once(db: Database) -> None:
    await seed(db)
    bot = make_bot(db)
    maya = await actor_for(db, MAYA)
    await ask(bot, maya, "digest subscribe me daily 08:00")
    again = await ask(bot, maya, "digest subscribe daily 8:00 me")
    assert text_of(again) == "That digest already exists: #1. See `digest list`."
    assert await count(db, DigestSubscription) == 1


# --------------------------------------------------------------------------------- list and unsubscribe


async def test_list_shows_your_digests_and_admins_see_all(db: Database) -> None:
    await seed(db)
    bot = make_bot(db)
    jonas, maya, leo, sam = [await actor_for(db, e) for e in (JONAS, MAYA, LEO, SAM)]
    await ask(bot, jonas, "digest subscribe here")
    await ask(bot, jonas, "digest subscribe maya@example.com weekly fri")
    await ask(bot, leo, "digest subscribe")
    assert text_of(await ask(bot, maya, "digest list")) == (
        "**Your digests (1)**\n"
        "#2 · DM to Maya Chen · every Friday at 09:00 America/New_York · own accounts\n"
        "`digest preview ID` to see one now, `digest unsubscribe ID` to stop one"
    )
    jonas_list = text_of(await ask(bot, jonas, "digest list"))
    assert "#1 · channel tests (console) · weekdays at 09:00 Europe/Berlin · team" in jonas_list
    assert "#2 ·" in jonas_list and "#3 ·" not in jonas_list
    all_list = text_of(await ask(bot, sam, "digest"))
    assert all_list.startswith("**All digests (3)**")
    assert "#3 · DM to Leo Park · weekdays at 09:00 UTC · own accounts" in all_list
    priya = await actor_for(db, PRIYA)
    assert (
        text_of(await ask(bot, priya, "digest list"))
        == "Your digests: none. Start one with `digest subscribe`."
    )


async def test_unsubscribe_is_for_the_creator_the_recipient_and_managers(db: Database) -> None:
    await seed(db)
    bot = make_bot(db)
    jonas, maya, leo = [await actor_for(db, e) for e in (JONAS, MAYA, LEO)]
    await ask(bot, jonas, "digest subscribe maya@example.com")
    refused = await ask(bot, leo, "digest unsubscribe 1")
    assert text_of(refused) == (
        "Only whoever set up digest #1, its recipient, or a CS manager or admin can stop it."
    )
    stopped = await ask(bot, maya, "digest unsubscribe #1")
    assert text_of(stopped).startswith("Stopped digest #1 · DM to Maya Chen · weekdays at 09:00")
    [row] = await subscriptions(db)
    assert row.active is False
    assert text_of(await ask(bot, maya, "digest unsubscribe 1")) == "No active digest #1. See `digest list`."
    assert text_of(await ask(bot, maya, "digest unsubscribe 99999999999")) == (
        "No active digest #99999999999. See `digest list`."
    )
    assert text_of(await ask(bot, maya, "digest unsubscribe abc")).startswith("“abc” is not a digest id.")
    assert text_of(await ask(bot, maya, "digest unsubscribe")).startswith("Which digest?")
    assert text_of(await ask(bot, maya, "digest list")).startswith("Your digests: none.")


async def test_an_unknown_digest_word_shows_the_usage(db: Database) -> None:
    await seed(db)
    bot = make_bot(db)
    reply = await ask(bot, await actor_for(db, MAYA), "digest sbuscribe")
    assert text_of(reply).startswith(
        "I don't know `digest sbuscribe`. Use `digest subscribe [here|@person|me]"
    )
    assert "`digest subscribe|list|unsubscribe ID|preview [ID]`" in text_of(
        await ask(bot, await actor_for(db, MAYA), "help")
    )


# ---------------------------------------------------------------------------------------------- preview


async def test_preview_without_a_subscription_shows_the_default_digest_and_changes_nothing(
    db: Database,
) -> None:
    await seed(db)
    bot = make_bot(db)
    reply = await ask(bot, await actor_for(db, MAYA), "digest preview")
    text = text_of(reply)
    assert text.startswith(
        "Preview of the digest `digest subscribe` would give you; nothing was sent.\n# Your digest"
    )
    assert "**Follow-ups due (2)**" in text
    assert reply.shared is False
    assert await count(db, DigestSubscription) == 0


async def test_preview_of_a_channel_digest_describes_the_chart_instead_of_attaching_it(db: Database) -> None:
    await seed(db)
    bot = make_bot(db)
    jonas = await actor_for(db, JONAS)
    await ask(bot, jonas, "digest subscribe here daily")
    reply = await ask(bot, jonas, "digest preview 1")
    text = text_of(reply)
    assert text.startswith(
        "Preview of digest #1 · channel tests (console) · every day at 09:00 Europe/Berlin · team;"
        " nothing was sent."
    )
    assert "# Jonas Albrecht's team: digest for Wed 25 Nov 2026" in text
    assert (
        "[chart: Accounts by health band over the last 30 days; today 1 red, 1 yellow, 1 green, attached"
        in text
    )
    assert not any(isinstance(b, Image) for b in reply.blocks)
    [row] = await subscriptions(db)
    assert row.last_sent_period is None
    leo = await actor_for(db, LEO)
    assert (
        text_of(await ask(bot, leo, "digest preview 1")) == "No active digest #1 of yours. See `digest list`."
    )


# ------------------------------------------------------------------------------------------ team digest


def team_lines(digest: Digest) -> list[str]:
    return text_of(digest.reply).splitlines()


async def test_team_digest_content_since_yesterday(db: Database) -> None:
    w = await seed(db)
    bot = make_bot(db)
    digest = await build_team_digest(
        context_of(bot),
        owner_ids=[w.jonas, w.maya],
        title="Jonas Albrecht's team",
        today=TODAY,
        since=day(-1),
    )
    assert team_lines(digest) == [
        "# Jonas Albrecht's team: digest for Wed 25 Nov 2026",
        "**Health of 3 accounts**",
        "🔴 Red: 1 (+1) · $400k ARR",
        "🟡 Yellow: 1 (=) · $120k ARR",
        "🟢 Green: 1 (-1) · $50k ARR",
        "_Movement since Tue 24 Nov 2026_",
        "**Changed band since Tue 24 Nov 2026**",
        "🔴 **Atlas Corp**: yellow → red (45 → 35)",
        "🟡 **Cobalt Inc**: green → yellow (72 → 55)",
        "**Falling fastest (7 days)**",
        "🔴 **Atlas Corp** 35 ▼25 · $400k · 20% of licensed seats active; active users down 40% in 30 days",
        "🟡 **Cobalt Inc** 55 ▼20 · $120k",
        "**Red and renewing within 90 days**",
        "🔴 **Atlas Corp** 35 · $400k · renews in 20 days (Tue 15 Dec 2026) · Maya Chen",
        "**Milestones overdue (1)**",
        "**Atlas Corp**: QBR · ⚠️ overdue 3 days",
        "Health of Wed 25 Nov 2026 | `digest list` to change your digests",
    ]
    images = [b for b in digest.reply.blocks if isinstance(b, Image)]
    assert [(i.url, i.title) for i in images] == [(CHART_URL, "Health, last 30 days")]
    assert list(digest.images) == [CHART_NAME]
    assert png_size(digest.images[CHART_NAME]) == (800, 400)
    assert digest.reply.shared is True
    assert digest.reply.summary == "Jonas Albrecht's team: 1 red account, 1 milestone overdue"


async def test_band_movement_is_against_the_previous_digest(db: Database) -> None:
    w = await seed(db)
    bot = make_bot(db)
    ctx = context_of(bot)
    sub = DigestSubscription(
        created_by_id=w.jonas,
        platform="slack",
        channel="C1",
        scope="team",
        cadence="weekly",
        weekday=2,
        at_time="09:00",
        timezone="UTC",
        active=True,
        last_sent_period=day(-7).isoformat(),
    )
    digest = await build_digest(ctx, sub, now=NOW)
    assert digest is not None
    lines = team_lines(digest)
    assert lines[1:9] == [
        "**Health of 3 accounts**",
        "🔴 Red: 1 (+1) · $400k ARR",
        "🟡 Yellow: 1 (-1) · $120k ARR",
        "🟢 Green: 1 (=) · $50k ARR",
        "_Movement since Wed 18 Nov 2026_",
        "**Changed band since Wed 18 Nov 2026**",
        "🔴 **Atlas Corp**: yellow → red (60 → 35)",
        "🟡 **Cobalt Inc**: green → yellow (75 → 55)",
    ]
    assert lines[9] == "🟢 **Birch Ltd**: yellow → green (65 → 80)"
    # A period that is not a date falls back to one cadence: a week for weekly digests...
    sub.last_sent_period = "2026-W47"
    weekly = await build_digest(ctx, sub, now=NOW)
    assert weekly is not None and team_lines(weekly) == lines
    # ...and a day for the others.
    sub.cadence, sub.last_sent_period = "weekdays", None
    daily = await build_digest(ctx, sub, now=NOW)
    assert daily is not None and "_Movement since Tue 24 Nov 2026_" in team_lines(daily)


async def test_team_scopes_admin_segment_and_mine(db: Database) -> None:
    w = await seed(db)
    ctx = context_of(make_bot(db))

    def sub(**kw: object) -> DigestSubscription:
        fields: dict[str, object] = {
            "platform": "slack",
            "channel": "C1",
            "cadence": "daily",
            "at_time": "09:00",
            "timezone": "UTC",
            "active": True,
        }
        fields.update(kw)
        return DigestSubscription(**fields)

    admin = await build_digest(ctx, sub(created_by_id=w.sam, scope="team"), now=NOW)
    assert admin is not None
    assert team_lines(admin)[:3] == [
        "# All accounts: digest for Wed 25 Nov 2026",
        "**Health of 4 accounts**",
        "🔴 Red: 2 (+1) · $1.3M ARR",
    ]
    segment = await build_digest(
        ctx, sub(created_by_id=w.jonas, scope="segment", segment="enterprise"), now=NOW
    )
    assert segment is not None
    assert team_lines(segment)[:2] == [
        "# Segment enterprise: digest for Wed 25 Nov 2026",
        "**Health of 3 accounts**",
    ]
    assert "🔴 **Delta GmbH** 30 · $900k · renews in 10 days (Sat 05 Dec 2026) · Leo Park" in team_lines(
        segment
    )
    mine = await build_digest(
        ctx, sub(created_by_id=w.jonas, person_id=w.maya, channel=None, scope="mine"), now=NOW
    )
    assert mine is not None and team_lines(mine)[0] == "# Your digest for Wed 25 Nov 2026"
    assert await build_digest(ctx, sub(created_by_id=w.jonas, scope="team", active=False), now=NOW) is None
    assert await build_digest(ctx, sub(created_by_id=None, scope="team"), now=NOW) is None


async def test_a_team_with_nothing_to_say_is_all_quiet(db: Database) -> None:
    async with db.transaction() as s:
        boss = await add_person(s, "boss@example.com", "Boss", "cs_manager")
        csm = await add_person(s, "csm@example.com", "Csm", "csm", manager_id=boss)
        calm = await add_account(s, "CALM-1", "Calm Co", owner_id=csm, arr=10_000, renewal=day(300))
        await add_snapshot(s, calm, TODAY, 90)
        await add_snapshot(s, calm, day(-1), 90)
    ctx = context_of(make_bot(db))
    team = await build_team_digest(ctx, owner_ids=[boss, csm], title="Boss's team", today=TODAY)
    assert text_of(team.reply) == QUIET == "All quiet: nothing needs you today."
    assert team.images == {}
    assert team.reply.summary == "Boss's team: all quiet"
    empty = await build_team_digest(ctx, owner_ids=[], title="Nobody", today=TODAY)
    assert text_of(empty.reply) == QUIET
    csm_digest = await build_csm_digest(ctx, csm, today=TODAY)
    assert text_of(csm_digest.reply) == QUIET and csm_digest.images == {}


async def add_arr_changes(db: Database, *rows: tuple[int, date, int, int | None]) -> None:
    """ARR history rows: (account id, day, arr, previous arr)."""
    async with db.transaction() as s:
        for account_id, on, arr, previous in rows:
            s.add(
                ArrChange(
                    account_id=account_id,
                    day=on,
                    arr=Decimal(arr),
                    previous_arr=None if previous is None else Decimal(previous),
                    source="import",
                )
            )


async def test_expansion_and_contraction_since_the_previous_digest(db: Database) -> None:
    w = await seed(db)
    async with db.transaction() as s:
        ember = await add_account(s, "EMB-1", "Ember Co", owner_id=w.maya, arr=12_000)
        fir = await add_account(s, "FIR-1", "Fir Ltd", owner_id=w.maya, arr=6_000)
    await add_arr_changes(
        db,
        (w.atlas, day(-30), 400_000, None),
        (w.atlas, day(-3), 460_000, 400_000),
        (w.cobalt, day(-7), 120_000, 100_000),  # the previous digest's day: told then
        (w.cobalt, day(-5), 150_000, 120_000),
        (w.birch, day(-2), 45_000, 50_000),
        (ember, day(-1), 12_000, 10_000),
        (fir, TODAY, 6_000, 5_000),
        (w.delta, day(-1), 1_000_000, 900_000),  # Leo's: not Jonas's team
    )
    sub = DigestSubscription(
        created_by_id=w.jonas,
        platform="slack",
        channel="C1",
        scope="team",
        cadence="weekly",
        weekday=2,
        at_time="09:00",
        timezone="UTC",
        active=True,
        last_sent_period=day(-7).isoformat(),
    )
    digest = await build_digest(context_of(make_bot(db)), sub, now=NOW)
    assert digest is not None
    lines = team_lines(digest)
    start = lines.index("**Expansion and contraction since Wed 18 Nov 2026**")
    assert lines[start - 1].startswith("🔴 **Atlas Corp** 35 · $400k · renews in 20 days")  # after renewals
    assert lines[start : start + 9] == [
        "**Expansion and contraction since Wed 18 Nov 2026**",
        "Expanded +$93k (4 accounts)",
        "Contracted -$5.0k (1 account)",
        "Net +$88k",
        "▲ **Atlas Corp** +$60k ($400k → $460k)",
        "▲ **Cobalt Inc** +$30k ($120k → $150k)",
        "▲ **Ember Co** +$2.0k ($10k → $12k)",
        "▼ **Birch Ltd** -$5.0k ($50k → $45k)",
        "**Milestones overdue (1)**",
    ]
    admin = await build_team_digest(
        context_of(make_bot(db)), owner_ids=None, title="All accounts", today=TODAY, since=day(-7)
    )
    assert "Expanded +$193k (5 accounts)" in team_lines(admin)
    assert "▲ **Delta GmbH** +$100k ($900k → $1.0M)" in team_lines(admin)


async def test_arr_movement_alone_is_worth_a_digest(db: Database) -> None:
    async with db.transaction() as s:
        boss = await add_person(s, "boss@example.com", "Boss", "cs_manager")
        calm = await add_account(s, "CALM-1", "Calm Co", owner_id=boss, arr=15_000, renewal=day(300))
        await add_snapshot(s, calm, TODAY, 90)
        await add_snapshot(s, calm, day(-1), 90)
    ctx = context_of(make_bot(db))
    quiet = await build_team_digest(ctx, owner_ids=[boss], title="Boss's team", today=TODAY)
    assert text_of(quiet.reply) == QUIET
    await add_arr_changes(db, (calm, day(-1), 10_000, None), (calm, TODAY, 15_000, 10_000))
    team = await build_team_digest(ctx, owner_ids=[boss], title="Boss's team", today=TODAY)
    assert team_lines(team)[-5:] == [
        "**Expansion and contraction since Tue 24 Nov 2026**",
        "Expanded +$5.0k (1 account)",
        "Net +$5.0k",
        "▲ **Calm Co** +$5.0k ($10k → $15k)",
        "Health of Wed 25 Nov 2026 | `digest list` to change your digests",
    ]


# ------------------------------------------------------------------------------------------- CSM digest


async def test_csm_digest_content(db: Database) -> None:
    w = await seed(db)
    digest = await build_csm_digest(context_of(make_bot(db)), w.maya, today=TODAY, since=day(-1))
    buttons = "[Done] [Snooze 1 day] [Snooze 1 week]"
    assert text_of(digest.reply).splitlines() == [
        "# Your digest for Wed 25 Nov 2026",
        "**Your accounts (3), worst health first**",
        "🔴 **Atlas Corp** 35 ▼25 · $400k · renews in 20 days · 20% of licensed seats active",
        "🟡 **Cobalt Inc** 55 ▼20 · $120k · renews in 80 days",
        "🟢 **Birch Ltd** 80 ▲15 · $50k · renews in 50 days",
        "**Changed since Tue 24 Nov 2026**",
        "🔴 **Atlas Corp**: yellow → red (45 → 35)",
        "🟡 **Cobalt Inc**: green → yellow (72 → 55)",
        "**Follow-ups due (2)**",
        "**Atlas Corp**: Send the deck · ⚠️ overdue 2 days",
        buttons,
        "**Cobalt Inc**: Call sponsor · due today",
        buttons,
        "**Milestones due or overdue (2)**",
        "**Atlas Corp**: QBR · ⚠️ overdue 3 days",
        buttons,
        "**Birch Ltd**: Go-live · due today (Wed 25 Nov 2026)",
        buttons,
        "**Renewals in the next 90 days**",
        "_Within 30 days_",
        "🔴 **Atlas Corp** 35 · $400k · renews in 20 days (Tue 15 Dec 2026)",
        "_31 to 60 days_",
        "🟢 **Birch Ltd** 80 · $50k · renews in 50 days (Thu 14 Jan 2027)",
        "_61 to 90 days_",
        "🟡 **Cobalt Inc** 55 · $120k · renews in 80 days (Sat 13 Feb 2027)",
        "Health of Wed 25 Nov 2026 | `digest list` to change your digests",
    ]
    actions = [b for b in digest.reply.blocks if isinstance(b, Actions)]
    assert [(b.buttons[0].action, b.buttons[0].payload) for b in actions] == [
        ("followup.done", {"followup_id": w.send_deck}),
        ("followup.done", {"followup_id": w.call_sponsor}),
        ("milestone.done", {"milestone_id": w.qbr}),
        ("milestone.done", {"milestone_id": w.go_live}),
    ]
    assert actions[0].buttons[1].action == "followup.snooze"
    assert actions[2].buttons[2].payload == {"milestone_id": w.qbr, "days": 7}
    assert (
        digest.reply.summary
        == "Your digest: 2 follow-ups due, 2 milestones due, 3 renewals in 90 days, 1 red account"
    )
    assert digest.reply.shared is False and digest.images == {}


async def test_csm_digest_buttons_work_through_the_core(db: Database) -> None:
    w = await seed(db)
    bot = make_bot(db)
    digest = await build_csm_digest(context_of(bot), w.maya, today=TODAY)
    done = next(b for b in digest.reply.buttons if b.payload == {"followup_id": w.send_deck})
    reply = await press(bot, await actor_for(db, MAYA), done)
    assert isinstance(reply, Reply) and text_of(reply).startswith("✅ Done: Send the deck")
    after = await build_csm_digest(context_of(bot), w.maya, today=TODAY)
    assert "**Follow-ups due (1)**" in text_of(after.reply)


async def test_empty_csm_sections_are_left_out(db: Database) -> None:
    async with db.transaction() as s:
        csm = await add_person(s, "solo@example.com", "Solo", "csm")
        calm = await add_account(s, "CALM-1", "Calm Co", owner_id=csm, arr=10_000)
        await add_snapshot(s, calm, TODAY, 90)
        await add_follow_up(s, calm, author_id=csm, summary="Call", next_step="Call back", due=TODAY)
    digest = await build_csm_digest(context_of(make_bot(db)), csm, today=TODAY)
    assert text_of(digest.reply).splitlines() == [
        "# Your digest for Wed 25 Nov 2026",
        "**Your accounts (1), worst health first**",
        "🟢 **Calm Co** 90 · $10k",
        "**Follow-ups due (1)**",
        "**Calm Co**: Call back · due today",
        "[Done] [Snooze 1 day] [Snooze 1 week]",
        "Health of Wed 25 Nov 2026 | `digest list` to change your digests",
    ]


async def test_csm_digest_lists_outcomes_at_risk_and_achieved_this_week(db: Database) -> None:
    """Outcomes at risk are found through the stored success-plan component, so an account whose plan
    is all on track is not evaluated at all; achieved ones are listed for a week."""
    at = datetime.combine(day(-3), datetime.min.time(), tzinfo=UTC)
    async with db.transaction() as s:
        csm = await add_person(s, "plans@example.com", "Plans", "csm")
        lagging = await add_account(s, "LAG-1", "Lagging Co", owner_id=csm, arr=10_000)
        steady = await add_account(s, "STEADY-1", "Steady Co", owner_id=csm, arr=10_000)
        fine = await add_account(s, "FINE-1", "Fine Co", owner_id=csm, arr=10_000)
        plan = (("success_plan", 12.0, 10.0, "“300 weekly active users” behind"),)
        await add_snapshot(s, lagging, TODAY, 80, components=plan)
        await add_snapshot(s, steady, TODAY, 90)
        await add_snapshot(s, fine, TODAY, 90, components=(("success_plan", 100.0, 10.0, "on track"),))
        common = {"start_date": day(-60), "metric": "active_users", "baseline": 100.0}
        s.add_all(
            [
                Outcome(
                    account_id=lagging,
                    title="300 weekly active users",
                    target=300,
                    due_date=day(60),
                    **common,
                ),
                # Behind its line too, but the stored health says the plan is fine: not evaluated.
                Outcome(account_id=fine, title="Hidden", target=900, due_date=day(60), **common),
                Outcome(
                    account_id=steady,
                    title="Executive sponsor named",
                    start_date=day(-30),
                    due_date=day(10),
                    status="achieved",
                    achieved_at=at,
                    demonstrated_at=at,
                ),
                Outcome(
                    account_id=steady,
                    title="Old win",
                    start_date=day(-90),
                    due_date=day(-20),
                    status="achieved",
                    achieved_at=at - timedelta(days=20),
                ),
            ]
        )
        for offset in range(7):
            s.add(UsageMetric(account_id=lagging, day=day(-offset), metric="active_users", value=110))
            s.add(UsageMetric(account_id=fine, day=day(-offset), metric="active_users", value=110))
    digest = await build_csm_digest(context_of(make_bot(db)), csm, today=TODAY)
    lines = text_of(digest.reply).splitlines()
    start = lines.index("**Success plans: 1 at risk, 1 achieved this week**")
    assert lines[start + 1 : start + 3] == [
        "**Lagging Co**: 🔴 300 weekly active users · ▱▱▱▱▱▱▱▱▱▱ 5% · due Sun 24 Jan 2027 (in 60 days)",
        "**Steady Co**: ✅ Executive sponsor named · achieved Sun 22 Nov 2026",
    ]
    assert not any("Hidden" in line or "Old win" in line for line in lines)


async def test_many_csm_digests_at_once_and_long_lists_are_capped(db: Database) -> None:
    async with db.transaction() as s:
        busy = await add_person(s, "busy@example.com", "Busy", "csm")
        calm = await add_person(s, "calm@example.com", "Calm", "csm")
        for n in range(14):
            account = await add_account(
                s, f"B-{n:02d}", f"Busy {n:02d}", owner_id=busy, arr=1000, renewal=day(5)
            )
            await add_snapshot(s, account, TODAY, 30 + n)
            await add_follow_up(
                s, account, author_id=busy, summary="x", next_step=f"Step {n:02d}", due=day(-1)
            )
            await add_milestone(s, account, f"M {n:02d}", day(-1))
        other = await add_account(s, "C-1", "Calm 1", owner_id=calm, arr=1000)
        await add_snapshot(s, other, TODAY, 95)
    digests = await build_csm_digests(context_of(make_bot(db)), [busy, calm, busy], today=TODAY)
    assert set(digests) == {busy, calm}
    assert text_of(digests[calm].reply) == QUIET
    reply = digests[busy].reply
    lines = text_of(reply).splitlines()
    assert len(reply.blocks) <= 40
    assert lines[2:13][-1] == "…and 4 more"
    assert "…and 9 more: use `followups overdue` for the rest" in lines
    assert "…and 9 more: use `milestones` for the rest" in lines
    assert sum(1 for b in reply.blocks if isinstance(b, Actions)) == 10
    assert "**Follow-ups due (14)**" in lines and "**Milestones due or overdue (14)**" in lines


# ------------------------------------------------------------------------------------------------ chart


async def test_the_digest_chart_follows_the_snapshots(db: Database) -> None:
    w = await seed(db)
    ctx = context_of(make_bot(db))

    async def chart() -> bytes:
        digest = await build_team_digest(ctx, owner_ids=None, title="All", today=TODAY)
        return digest.images[CHART_NAME]

    before = await chart()
    await add_snapshot(db, w.atlas, day(-20), 10)
    after = await chart()
    assert png_size(after) == (800, 400) and after != before
    # A snapshot older than 30 days is not on the chart.
    await add_snapshot(db, w.atlas, day(-45), 10)
    assert await chart() == after


async def test_digests_use_the_subscription_time_zone_for_today(db: Database) -> None:
    w = await seed(db)
    ctx = context_of(make_bot(db))
    sub = DigestSubscription(
        created_by_id=w.maya,
        person_id=w.maya,
        platform="slack",
        scope="mine",
        cadence="daily",
        at_time="09:00",
        timezone="Pacific/Kiritimati",
        active=True,
    )
    digest = await build_digest(ctx, sub, now=NOW)  # 12:00 UTC is already Thursday 26 November there
    assert digest is not None and text_of(digest.reply).splitlines()[0] == "# Your digest for Thu 26 Nov 2026"
    assert date(2026, 11, 26) == day(1)
