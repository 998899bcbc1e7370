"""``timeline ACCOUNT [KIND]`` and the card's Timeline button: every kind of touch, newest first, paged,
filtered by kind, each with who and when and its source message. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.types import Actor
from storage.db import Database
from storage.models import (
    CrmLink,
    FeedbackItem,
    FeedbackTransition,
    HealthAlert,
    Outcome,
    RenewalOutcome,
    SupportTicket,
)
from tests.factories import (
    MAYA,
    NOW,
    Team,
    actor_for,
    add_account,
    add_follow_up,
    add_milestone,
    add_snapshot,
    add_survey,
    as_reply,
    ask,
    button,
    day,
    make_bot,
    press,
    seed_team,
    text_of,
)


async def seed(db: Database) -> tuple[Team, Actor]:
    team = await seed_team(db)
    account = await add_account(db, "ZEP-001", "Zephyr Labs", owner_id=team.maya)
    link = "https://slack.com/archives/C0CUSTOMER/p1764000000000100"
    await add_follow_up(
        db, account, author_id=team.maya, kind="note", summary="Asked about SSO pricing", status="done",
        created_at=NOW - timedelta(hours=3),
    )  # fmt: skip
    async with db.transaction() as session:
        session.add_all(
            [
                RenewalOutcome(
                    source="hubspot",
                    source_id="deal-1",
                    account_id=account,
                    closed_on=day(-40),
                    result="renewed",
                    arr_before=Decimal(400_000),
                    arr_after=Decimal(438_000),
                    recorded_at=NOW - timedelta(days=40),
                ),
                HealthAlert(
                    account_id=account, kind="band_drop", day=day(-1), created_at=NOW - timedelta(hours=20)
                ),
                Outcome(
                    account_id=account,
                    title="Cut onboarding time to 2 weeks",
                    start_date=day(-90),
                    due_date=day(-5),
                    status="achieved",
                    achieved_at=NOW - timedelta(days=6),
                    achieved_value=12.0,
                    achieved_by_id=team.maya,
                ),
                CrmLink(connector="zendesk", crm_id="360001", account_id=account, linked_at=NOW, seen_at=NOW),
                SupportTicket(
                    ticket_id="9001",
                    source="zendesk",
                    organization_id="360001",
                    created_at=NOW - timedelta(days=2),
                    solved_at=None,
                    updated_at=NOW - timedelta(days=2),
                    escalated=True,
                ),
            ]
        )
        item = FeedbackItem(
            originator_id=team.priya,
            originator_team="cx",
            account_id=account,
            text="Export to CSV times out for big reports",
            source="shortcut",
            source_link=link,
            created_at=NOW - timedelta(days=1),
        )
        session.add(item)
        await session.flush()
        session.add(
            FeedbackTransition(
                item_id=item.id, actor_id=team.maya, from_state="new", to_state="acknowledged",
                note="Looking into it", at=NOW - timedelta(hours=10),
            )
        )  # fmt: skip
    await add_survey(db, account, "nps", 3, comment="Support is slow", submitted_at=NOW - timedelta(days=3))
    await add_survey(db, account, "nps", 9, comment=None, submitted_at=NOW - timedelta(days=4))
    await add_milestone(db, account, "Go-live", day(-20), completed_at=NOW - timedelta(days=21))
    await add_milestone(db, account, "QBR", day(-8))
    await add_snapshot(db, account, day(-12), 75)
    await add_snapshot(db, account, day(-11), 55)
    return team, await actor_for(db, MAYA)


async def test_the_timeline_has_every_kind_of_touch_newest_first(db: Database) -> None:
    _team, maya = await seed(db)
    bot = make_bot(db)
    reply = await ask(bot, maya, "timeline zephyr labs")
    lines = text_of(reply).splitlines()
    assert lines[0] == "# Timeline: Zephyr Labs"
    entries = [line for line in lines[1:] if line.startswith("**")]
    expected_order = [
        "Note: Asked about SSO pricing",
        "Feedback #",  # acknowledged, 10 hours ago
        "Health alert sent: band drop",
        "Feedback #",  # created a day ago, with its message
        "Escalated ticket #9001 opened",
        "NPS 3: “Support is slow”",
        "Outcome achieved: Cut onboarding time to 2 weeks (12)",
        "Milestone overdue: QBR",
        "Health green → yellow (score 55)",
        "Milestone done: Go-live",
    ]
    assert len(entries) == 10
    for line, what in zip(entries, expected_order, strict=True):
        assert what in line, (what, line)
    assert "Maya Chen" in entries[0] and "Priya Raman" in entries[3]
    assert "https://slack.com/archives/C0CUSTOMER/p1764000000000100" in entries[3]
    assert "new → acknowledged · Looking into it" in entries[1]
    assert entries[7].startswith(f"**{day(-8):%Y-%m-%d}**")  # a due day: no time of day
    assert "1-10 of 11, newest first" in text_of(reply)

    more = as_reply(await press(bot, maya, button(reply, "More (1 left)")))
    rest = [line for line in text_of(more).splitlines() if line.startswith("**")]
    assert len(rest) == 1 and "Renewal renewed: ARR 400,000 → 438,000" in rest[0]


async def test_a_kind_filters_and_the_card_button_opens_it(db: Database) -> None:
    _team, maya = await seed(db)
    bot = make_bot(db)
    feedback = text_of(await ask(bot, maya, "timeline zephyr feedback"))
    assert feedback.count("Feedback #") == 2 and "Note:" not in feedback
    assert "# Timeline: feedback of Zephyr Labs" in feedback

    card = await ask(bot, maya, "account zephyr labs")
    opened = as_reply(await press(bot, maya, button(card, "Timeline")))
    assert text_of(opened).startswith("# Timeline: Zephyr Labs")

    empty = text_of(await ask(bot, maya, "timeline zephyr labs renewals"))
    assert "Renewal renewed" in empty
    nothing = text_of(await ask(bot, maya, "timeline acme robotics tickets"))
    assert "Nothing on the timeline of **Acme Robotics** yet (tickets)." in nothing


async def test_timestamps_show_in_the_readers_time_zone(db: Database) -> None:
    _team, maya = await seed(db)  # Maya is in New York
    reply = await ask(make_bot(db), maya, "timeline zephyr labs followups")
    assert text_of(reply).splitlines()[1].startswith("**2026-11-25 04:00** · Maya Chen · Note:")
