"""The feedback loop's scheduled side: escalation, recurring themes, survey feedback, digest sections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.actions import FEEDBACK_THEME_ACK
from bot.core.import_rules import import_options
from bot.digests.csm import build_csm_digest
from bot.digests.team import build_team_digest
from bot.feedback.routing import Routing
from bot.feedback.surveys import feedback_from_surveys
from bot.feedback.themes import acknowledge_theme, normalise_text, similar
from bot.serialize import address_from_dict, reply_from_dict
from bot.types import Address, Platform, Reply
from scheduler.feedback_jobs import add_business_days, detect_themes, escalate_unacknowledged
from storage.db import Database
from storage.importer import import_file
from storage.models import FeedbackItem, FeedbackTheme, FeedbackTransition, OutboxMessage
from tests.factories import (
    NOW,
    TODAY,
    add_account,
    add_person,
    add_survey,
    day,
    get_row,
    make_bot,
    text_of,
)

NEW_YORK = ZoneInfo("America/New_York")
CX_CHANNEL = "slack:C123"
ROUTING = Routing(cs_channel=None, cx_channel=CX_CHANNEL)


def local(year: int, month: int, day_: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time as a UTC instant."""
    return datetime(year, month, day_, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as s:
        return list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def keys(db: Database) -> list[str]:
    return [row.idempotency_key for row in await outbox_rows(db)]


async def reply_for(db: Database, key: str) -> Reply:
    rows = [row for row in await outbox_rows(db) if row.idempotency_key == key]
    assert len(rows) == 1, key
    return reply_from_dict(rows[0].payload)


async def items(db: Database) -> list[FeedbackItem]:
    async with db.sessions() as s:
        return list((await s.execute(select(FeedbackItem).order_by(FeedbackItem.id))).scalars())


async def add_item(
    db: Database,
    *,
    account_id: int | None,
    text: str,
    created_at: datetime,
    recipient_id: int | None = None,
    originator_id: int | None = None,
    tags: tuple[str, ...] = (),
    state: str = "new",
    team: str = "cs",
) -> int:
    async with db.transaction() as s:
        item = FeedbackItem(
            originator_id=originator_id,
            originator_team=team,
            account_id=account_id,
            recipient_id=recipient_id,
            recipient_channel=None if recipient_id else CX_CHANNEL,
            tags=list(tags),
            text=text,
            state=state,
            created_at=created_at,
            updated_at=created_at,
        )
        s.add(item)
        await s.flush()
        return item.id


# ------------------------------------------------------------------------------------------- escalation


def test_business_days_skip_the_weekend() -> None:
    friday = local(2026, 11, 20, 15)
    assert add_business_days(friday, 1, NEW_YORK) == local(2026, 11, 23, 15)
    assert add_business_days(friday, 3, NEW_YORK) == local(2026, 11, 25, 15)
    saturday = local(2026, 11, 21, 11)
    assert add_business_days(saturday, 1, NEW_YORK) == local(2026, 11, 24, 0)


async def test_escalation_after_one_and_three_business_days_over_a_weekend(db: Database) -> None:
    jonas = await add_person(db, "jonas@x.io", "Jonas", "cs_manager", slack_user_id="UJONAS")
    maya = await add_person(
        db, "maya@x.io", "Maya", "csm", manager_id=jonas, timezone="America/New_York", slack_user_id="UMAYA"
    )
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    item = await add_item(
        db, account_id=acme, text="Exports time out", created_at=local(2026, 11, 20, 15), recipient_id=maya
    )
    seen = await add_item(
        db,
        account_id=acme,
        text="Already seen",
        created_at=local(2026, 11, 16, 9),
        recipient_id=maya,
        state="acknowledged",
    )

    for moment in (local(2026, 11, 21, 16), local(2026, 11, 22, 16), local(2026, 11, 23, 14, 59)):
        stats = await escalate_unacknowledged(db, now=moment, hours=None)
        assert (stats.reminded, stats.to_manager) == (0, 0), moment
    stats = await escalate_unacknowledged(db, now=local(2026, 11, 23, 15), hours=None)
    assert (stats.reminded, stats.to_manager) == (1, 0)
    assert await keys(db) == [f"feedback:{item}:escalate:1"]
    row = (await outbox_rows(db))[0]
    assert address_from_dict(row.address) == Address(platform=Platform.SLACK, target="UMAYA", user="UMAYA")
    reminder = await reply_for(db, f"feedback:{item}:escalate:1")
    assert "**Acme** has waited 3 days" in text_of(reminder)
    assert [b.label for b in reminder.buttons] == ["Acknowledge"]
    assert (await get_row(db, FeedbackItem, item)).escalation_level == 1

    for moment in (local(2026, 11, 23, 18), local(2026, 11, 25, 14, 59)):
        stats = await escalate_unacknowledged(db, now=moment, hours=None)
        assert (stats.reminded, stats.to_manager) == (0, 0), moment
    stats = await escalate_unacknowledged(db, now=local(2026, 11, 25, 15), hours=None)
    assert (stats.reminded, stats.to_manager) == (0, 1)
    key = f"feedback:{item}:escalate:2"
    assert await keys(db) == [f"feedback:{item}:escalate:1", key]
    to_manager = await reply_for(db, key)
    assert "sent to Maya has not been acknowledged in 5 days" in text_of(to_manager)
    assert address_from_dict((await outbox_rows(db))[1].address).target == "UJONAS"
    assert (await get_row(db, FeedbackItem, item)).escalation_level == 2
    assert (await get_row(db, FeedbackItem, seen)).escalation_level == 0

    stats = await escalate_unacknowledged(db, now=local(2026, 12, 2, 15), hours=None)
    assert (stats.checked, stats.reminded, stats.to_manager) == (0, 0, 0)
    assert len(await keys(db)) == 2


async def test_escalation_waits_for_working_hours_and_reports_a_missing_manager(db: Database) -> None:
    maya = await add_person(db, "maya@x.io", "Maya", "csm", timezone="America/New_York", slack_user_id="UM")
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    item = await add_item(
        db, account_id=acme, text="Slow", created_at=local(2026, 11, 16, 9), recipient_id=maya
    )
    # Found late on Friday night, already past 3 business days: straight to the manager, who is missing.
    stats = await escalate_unacknowledged(db, now=local(2026, 11, 20, 23))
    assert stats.no_manager == (item,)
    assert await keys(db) == []

    other = await add_item(
        db, account_id=acme, text="Docs", created_at=local(2026, 11, 19, 22), recipient_id=maya
    )
    stats = await escalate_unacknowledged(db, now=local(2026, 11, 20, 23))
    assert stats.reminded == 1
    row = (await outbox_rows(db))[0]
    assert row.idempotency_key == f"feedback:{other}:escalate:1"
    assert row.next_attempt_at == local(2026, 11, 23, 8)  # Monday 08:00 in New York


# ---------------------------------------------------------------------------------------------- themes


async def accounts(db: Database, count: int) -> list[int]:
    maya = await add_person(db, "maya@x.io", "Maya", "csm", slack_user_id="UM")
    return [
        await add_account(db, f"A-{n}", f"Account {n}", owner_id=maya, arr=100_000 * (n + 1))
        for n in range(count)
    ]


async def test_a_tag_on_three_accounts_is_alerted_once(db: Database) -> None:
    a, b, c, d = await accounts(db, 4)
    start = NOW - timedelta(days=3)
    await add_item(db, account_id=a, text="Login fails", created_at=start, tags=("bug",))
    await add_item(db, account_id=b, text="SSO broken", created_at=start, tags=("Bug",))
    await add_item(db, account_id=b, text="Another one", created_at=start, tags=("bug",))
    await add_item(db, account_id=c, text="Too old", created_at=NOW - timedelta(days=15), tags=("bug",))

    stats = await detect_themes(db, now=NOW, cx_channel=CX_CHANNEL)
    assert (stats.alerted, stats.joined) == (0, 0)
    assert await keys(db) == []

    third = await add_item(db, account_id=c, text="Crash on save", created_at=NOW, tags=("bug", "docs"))
    stats = await detect_themes(db, now=NOW, cx_channel=CX_CHANNEL)
    assert (stats.alerted, stats.joined) == (1, 4)
    (theme_id,) = stats.theme_ids
    theme = await get_row(db, FeedbackTheme, theme_id)
    assert (theme.key, theme.label) == ("tag:bug", "#bug")
    assert await keys(db) == [f"feedback:theme:{theme_id}"]
    row = (await outbox_rows(db))[0]
    assert address_from_dict(row.address) == Address(platform=Platform.SLACK, target="C123", private=False)
    alert = reply_from_dict(row.payload)
    assert text_of(alert).splitlines() == [
        "# Recurring feedback: #bug",
        "Raised for **3 accounts** in the last 14 days ($600k ARR in all):",
        "• **Account 2** · $300k ARR",
        "• **Account 1** · $200k ARR · 2 items",
        "• **Account 0** · $100k ARR",
        "[Acknowledge all]",
    ]
    assert alert.buttons[0].action == FEEDBACK_THEME_ACK
    assert alert.buttons[0].payload == {"theme_id": theme_id}
    themed = {i.id for i in await items(db) if i.theme_id == theme_id}
    assert third in themed and len(themed) == 4

    fourth = await add_item(db, account_id=d, text="Yet another bug", created_at=NOW, tags=("bug",))
    stats = await detect_themes(db, now=NOW + timedelta(hours=1), cx_channel=CX_CHANNEL)
    assert (stats.alerted, stats.joined) == (0, 1)
    assert (await get_row(db, FeedbackItem, fourth)).theme_id == theme_id
    assert len(await keys(db)) == 1


async def test_near_identical_text_is_clustered_and_survey_tags_are_not_themes(db: Database) -> None:
    a, b, c, d = await accounts(db, 4)
    texts = (
        "Export to CSV times out on large reports!",
        "export to csv   times out on large reports",
        "The export to CSV times out on large reports.",
    )
    ids = [
        await add_item(db, account_id=account, text=text, created_at=NOW - timedelta(days=n), tags=("nps",))
        for n, (account, text) in enumerate(zip((a, b, c), texts, strict=True))
    ]
    other = await add_item(db, account_id=d, text="Invoices show the wrong currency", created_at=NOW)
    assert normalise_text(texts[0]) == "export to csv times out on large reports"
    assert similar(normalise_text(texts[0]), normalise_text(texts[2]))
    assert not similar(normalise_text(texts[0]), normalise_text("Invoices show the wrong currency"))

    stats = await detect_themes(db, now=NOW, cx_channel=CX_CHANNEL)
    assert stats.alerted == 1
    theme = await get_row(db, FeedbackTheme, stats.theme_ids[0])
    assert theme.key.startswith("text:")
    assert theme.label == "“The export to CSV times out on large reports.”"  # the oldest text
    by_id = {i.id: i.theme_id for i in await items(db)}
    assert [by_id[i] for i in ids] == [theme.id] * 3
    assert by_id[other] is None

    assert (await detect_themes(db, now=NOW, cx_channel=None)).alerted == 0
    assert (await detect_themes(db, now=NOW, cx_channel="irc:#cx")).alerted == 0


async def test_acknowledge_all_acknowledges_the_new_items_of_the_theme(db: Database) -> None:
    priya = await add_person(db, "priya@x.io", "Priya", "cx")
    maya = await add_person(db, "maya@x.io", "Maya", "csm", slack_user_id="UM")
    a, b, c = [await add_account(db, f"A-{n}", f"Acct {n}", owner_id=maya) for n in range(3)]
    first = await add_item(db, account_id=a, text="x", created_at=NOW, tags=("process",), originator_id=maya)
    await add_item(db, account_id=b, text="y", created_at=NOW, tags=("process",))
    done = await add_item(db, account_id=c, text="z", created_at=NOW, tags=("process",), state="acknowledged")
    (theme_id,) = (await detect_themes(db, now=NOW, cx_channel=CX_CHANNEL)).theme_ids

    later = NOW + timedelta(hours=2)
    assert await acknowledge_theme(db, theme_id=theme_id, actor_id=priya, now=later) == 2
    states = {i.id: i.state for i in await items(db)}
    assert set(states.values()) == {"acknowledged"}
    async with db.sessions() as s:
        steps = list((await s.execute(select(FeedbackTransition))).scalars())
    assert len(steps) == 2 and done not in {t.item_id for t in steps}
    assert {(t.from_state, t.to_state, t.actor_id, t.at) for t in steps} == {
        ("new", "acknowledged", priya, later)
    }
    theme = await get_row(db, FeedbackTheme, theme_id)
    assert (theme.acknowledged_at, theme.acknowledged_by_id) == (later, priya)
    note = await reply_for(db, f"feedback:{first}:acknowledged:originator")
    assert text_of(note).startswith("👀 Priya acknowledged your feedback about **Acct 0**")

    assert await acknowledge_theme(db, theme_id=theme_id, actor_id=priya, now=later) == 0
    assert await acknowledge_theme(db, theme_id=theme_id + 99, actor_id=priya, now=later) == 0


# --------------------------------------------------------------------------------------------- surveys

SURVEYS = """account_external_id,kind,score,submitted_at,comment,respondent_email,external_id
A-1,nps,3,2026-11-20T10:00:00Z,The new editor lost my work twice,ann@acme.io,s1
A-1,nps,6,2026-11-21T10:00:00Z,,bob@acme.io,s2
A-1,nps,10,2026-11-22T10:00:00Z,Love it,cat@acme.io,s3
A-2,csat,2,2026-11-23T10:00:00Z,Support took a week to answer,dan@beta.io,s4
A-2,csat,3,2026-11-23T11:00:00Z,It was fine,eve@beta.io,s5
A-2,nps,1,2026-09-01T10:00:00Z,Old news,fay@beta.io,s6
"""


async def test_detractors_become_feedback_once_and_promoters_are_advocates(
    db: Database, tmp_path: Path
) -> None:
    maya = await add_person(db, "maya@x.io", "Maya Chen", "csm", slack_user_id="UM")
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    beta = await add_account(db, "A-2", "Beta", owner_id=maya)
    path = tmp_path / "surveys.csv"
    path.write_text(SURVEYS, encoding="utf-8")

    await import_file(db, "surveys", path, options=import_options())
    made = await feedback_from_surveys(db, since=NOW - timedelta(days=30), now=NOW, routing=ROUTING)
    assert made == 2
    found = await items(db)
    assert [(i.account_id, i.text, i.recipient_id, i.source, i.originator_team, i.tags) for i in found] == [
        (acme, "The new editor lost my work twice", maya, "survey", "cx", ["nps"]),
        (beta, "Support took a week to answer", maya, "survey", "cx", ["csat"]),
    ]
    assert all(i.survey_response_id is not None for i in found)

    await import_file(db, "surveys", path, options=import_options())
    assert await feedback_from_surveys(db, since=NOW - timedelta(days=30), now=NOW, routing=ROUTING) == 0
    assert await feedback_from_surveys(db, since=None, now=NOW, routing=ROUTING) == 1  # the old one
    assert len(await items(db)) == 3

    digest = await build_csm_digest(make_bot(db).context, maya, today=TODAY)
    lines = text_of(digest.reply).splitlines()
    start = lines.index("**Advocates: promoters in the last 90 days**")
    assert lines[start + 1] == "⭐ **Acme** · NPS 10 · Sun 22 Nov 2026 · cat@acme.io · “Love it”"
    assert "**Feedback for you to answer (3)**" in lines
    assert "🆕 **Beta** · new · today · “Old news”" in lines  # made now, from an old answer


# --------------------------------------------------------------------------------------------- digests


async def test_digest_sections_list_feedback_waiting_oldest_first(db: Database) -> None:
    jonas = await add_person(db, "jonas@x.io", "Jonas", "cs_manager")
    maya = await add_person(db, "maya@x.io", "Maya Chen", "csm", manager_id=jonas)
    leo = await add_person(db, "leo@x.io", "Leo Park", "csm")
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    delta = await add_account(db, "D-1", "Delta", owner_id=leo)
    await add_item(
        db, account_id=acme, text="Wants SSO", created_at=NOW - timedelta(days=3), recipient_id=maya
    )
    await add_item(
        db,
        account_id=acme,
        text="Asked about pricing",
        created_at=NOW - timedelta(days=5),
        recipient_id=maya,
        state="acknowledged",
    )
    await add_item(db, account_id=acme, text="Done", created_at=NOW - timedelta(days=9), state="resolved")
    await add_item(db, account_id=delta, text="Leo's", created_at=NOW, recipient_id=leo)
    await add_item(db, account_id=acme, text="Bug for CX", created_at=NOW, tags=("bug",))
    ctx = make_bot(db).context

    team = await build_team_digest(ctx, owner_ids=[jonas, maya], title="Jonas's team", today=TODAY)
    assert text_of(team.reply).splitlines() == [
        f"# Jonas's team: digest for {TODAY:%a %d %b %Y}",
        "**Feedback waiting for an answer (3)**",
        "👀 **Acme** · acknowledged · 5 days old · Maya Chen · “Asked about pricing”",
        "🆕 **Acme** · new · 3 days old · Maya Chen · “Wants SSO”",
        "🆕 **Acme** · new · today · CX channel · “Bug for CX”",
        "No health computed yet | `digest list` to change your digests",
    ]
    assert team.reply.summary == "Jonas's team: 0 red accounts, 3 feedback items waiting"

    mine = await build_csm_digest(ctx, maya, today=TODAY)
    lines = text_of(mine.reply).splitlines()
    start = lines.index("**Feedback for you to answer (2)**")
    assert lines[start + 1 : start + 3] == [
        "👀 **Acme** · acknowledged · 5 days old · “Asked about pricing”",
        "🆕 **Acme** · new · 3 days old · “Wants SSO”",
    ]
    assert "2 feedback items to answer" in mine.reply.summary
    quiet = await build_csm_digest(ctx, jonas, today=TODAY)
    assert quiet.reply.summary.startswith("All quiet")


async def test_promoters_older_than_90_days_are_not_advocates(db: Database) -> None:
    maya = await add_person(db, "maya@x.io", "Maya", "csm")
    acme = await add_account(db, "A-1", "Acme", owner_id=maya, renewal=day(20))
    await add_survey(db, acme, "nps", 9, comment=None, submitted_at=NOW - timedelta(days=91))
    await add_survey(db, acme, "nps", 9, comment=None, submitted_at=NOW - timedelta(days=89))
    await add_survey(db, acme, "nps", 8, comment="Good", submitted_at=NOW - timedelta(days=2))
    digest = await build_csm_digest(make_bot(db).context, maya, today=TODAY)
    lines = text_of(digest.reply).splitlines()
    start = lines.index("**Advocates: promoters in the last 90 days**")
    day_89 = (NOW - timedelta(days=89)).date()
    assert lines[start + 1 :] == [f"⭐ **Acme** · NPS 9 · {day_89:%a %d %b %Y}", lines[-1]]


async def test_the_acknowledge_all_button_is_for_cx_managers_and_admins(db: Database) -> None:
    from bot.core.identity import find_by_email
    from bot.types import Platform
    from tests.factories import action

    await add_person(db, "priya@x.io", "Priya", "cx")
    maya = await add_person(db, "maya@x.io", "Maya", "csm", slack_user_id="UM")
    for n in range(3):
        account = await add_account(db, f"A-{n}", f"Acct {n}", owner_id=maya)
        await add_item(db, account_id=account, text=f"t{n}", created_at=NOW, tags=("process",))
    (theme_id,) = (await detect_themes(db, now=NOW, cx_channel=CX_CHANNEL)).theme_ids
    bot = make_bot(db)
    csm = await find_by_email(db, Platform.CONSOLE, "maya@x.io")
    cx = await find_by_email(db, Platform.CONSOLE, "priya@x.io")
    assert csm is not None and cx is not None

    refused = await bot.handle(action(csm, "feedback.theme_ack", {"theme_id": theme_id}))
    assert "Only the CX team" in text_of(refused)
    assert {i.state for i in await items(db)} == {"new"}

    done = await bot.handle(action(cx, "feedback.theme_ack", {"theme_id": theme_id}))
    assert "Acknowledged 3 feedback items" in text_of(done)
    assert {i.state for i in await items(db)} == {"acknowledged"}
