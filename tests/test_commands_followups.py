"""Follow-ups through the core with a real database: the form, its validation, the list, Done and Snooze,
and the audit trail every change leaves."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.core.dispatch import Bot
from bot.types import Actor, Form, InputKind, JSONScalar, Payload, Reply
from storage.db import Database
from storage.models import AuditEvent, FollowUp
from tests.factories import (
    JONAS,
    LEO,
    MAYA,
    NOW,
    OLGA,
    PRIYA,
    SAM,
    Team,
    action,
    actor_for,
    add_follow_up,
    add_person,
    as_form,
    as_reply,
    ask,
    audit_events,
    button,
    command,
    count,
    day,
    get_row,
    make_bot,
    press,
    seed_team,
    submit,
    text_of,
)

SEEDED_FOLLOW_UPS = 6


@pytest.fixture
async def team(db: Database) -> Team:
    return await seed_team(db)


@pytest.fixture
def bot(db: Database) -> Bot:
    return make_bot(db)


@pytest.fixture
async def maya(db: Database, team: Team) -> Actor:
    return await actor_for(db, MAYA)


async def open_form(bot: Bot, actor: Actor, text: str = "log acme rockets") -> Form:
    return as_form(await bot.handle(command(actor, text)))


# ------------------------------------------------------------------------------------------------ form


async def test_log_opens_the_form_for_the_account(bot: Bot, maya: Actor, team: Team) -> None:
    form = await open_form(bot, maya)
    assert form.title == "Log follow-up"
    assert form.submit_action == "followup.save"
    assert form.payload == {"account_id": team.acme_rockets}
    assert form.errors == {}
    fields = [(i.id, i.label, i.kind, i.required, i.initial) for i in form.inputs]
    assert fields == [
        ("kind", "Kind", InputKind.SELECT, True, "call"),
        ("summary", "What happened with Acme Rockets?", InputKind.MULTILINE, True, None),
        ("next_step", "Next step", InputKind.TEXT, False, None),
        ("due_date", "Next step due", InputKind.DATE, False, None),
    ]
    assert [(o.value, o.label) for o in form.inputs[0].options] == [
        ("call", "Call"),
        ("email", "Email"),
        ("meeting", "Meeting"),
        ("qbr", "QBR"),
        ("note", "Note"),
    ]


async def test_card_button_opens_the_same_form(bot: Bot, maya: Actor, team: Team) -> None:
    card = await ask(bot, maya, "account acme rockets")
    form = as_form(await press(bot, maya, button(card, "Log follow-up")))
    assert form.payload == {"account_id": team.acme_rockets}
    assert form.inputs[1].label == "What happened with Acme Rockets?"


async def test_form_opened_with_a_summary_prefills_it(bot: Bot, maya: Actor, team: Team) -> None:
    payload: Payload = {"account_id": team.cafe, "summary": "Customer asked for a discount"}
    form = as_form(await bot.handle(action(maya, "followup.open_form", payload)))
    assert form.inputs[1].initial == "Customer asked for a discount"
    assert form.inputs[1].label == "What happened with Café Lumière Studios?"


@pytest.mark.parametrize("typed", ["log", "log share"])
async def test_log_without_an_account_asks_which(bot: Bot, maya: Actor, typed: str) -> None:
    assert (await ask(bot, maya, typed)).summary == "Which account? Try `log acme`."


VALID = {"kind": "call", "summary": "Talked renewal terms", "next_step": "", "due_date": ""}


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({**VALID, "summary": ""}, {"summary": "What happened with Acme Rockets? is required."}),
        ({**VALID, "summary": "   \n "}, {"summary": "What happened with Acme Rockets? is required."}),
        ({"summary": "No kind given"}, {"kind": "Kind is required."}),
        ({**VALID, "kind": "fax"}, {"kind": "Choose one of: Call, Email, Meeting, QBR, Note."}),
        ({**VALID, "kind": "Call"}, {"kind": "Choose one of: Call, Email, Meeting, QBR, Note."}),
        ({**VALID, "due_date": "2026-11-24"}, {"due_date": "Next step due cannot be in the past."}),
        (
            {**VALID, "due_date": "next tuesday"},
            {"due_date": "Next step due must be a date like 2026-11-25."},
        ),
        ({**VALID, "due_date": "2026-02-30"}, {"due_date": "Next step due must be a date like 2026-11-25."}),
        (
            {**VALID, "summary": "x" * 3001},
            {"summary": "What happened with Acme Rockets? is too long (3001 characters, at most 3000)."},
        ),
        (
            {**VALID, "next_step": "y" * 501},
            {"next_step": "Next step is too long (501 characters, at most 500)."},
        ),
        (
            {"kind": "fax", "summary": "", "due_date": "yesterday"},
            {
                "kind": "Choose one of: Call, Email, Meeting, QBR, Note.",
                "summary": "What happened with Acme Rockets? is required.",
                "due_date": "Next step due must be a date like 2026-11-25.",
            },
        ),
    ],
)
async def test_invalid_submit_returns_the_form_with_errors(
    db: Database, bot: Bot, maya: Actor, team: Team, values: dict[str, str], errors: dict[str, str]
) -> None:
    form = await open_form(bot, maya)
    again = as_form(await bot.handle(submit(maya, form, values)))
    assert again.errors == errors
    assert again.payload == form.payload
    assert again.submit_action == "followup.save"
    # What was typed comes back, so only the problems need fixing.
    initial = {i.id: i.initial for i in again.inputs}
    for key in ("summary", "next_step", "due_date"):
        assert initial[key] == (values.get(key) or None)
    assert await count(db, FollowUp) == SEEDED_FOLLOW_UPS
    assert await audit_events(db) == []


async def test_valid_submit_stores_the_follow_up_and_confirms(
    db: Database, bot: Bot, maya: Actor, team: Team
) -> None:
    form = await open_form(bot, maya)
    values = {
        "kind": "meeting",
        "summary": "  QBR with the CFO  ",
        "next_step": " Send the renewal proposal ",
        "due_date": "2026-12-01",
    }
    reply = as_reply(await bot.handle(submit(maya, form, values)))
    assert text_of(reply) == (
        "✅ Logged a meeting for **Acme Rockets**.\nNext step: Send the renewal proposal, due Tue 01 Dec 2026"
    )
    assert reply.summary == "Logged a meeting for Acme Rockets"

    async with db.sessions() as s:
        stored = (await s.execute(select(FollowUp).order_by(FollowUp.id.desc()).limit(1))).scalar_one()
    assert (stored.account_id, stored.author_id, stored.kind) == (team.acme_rockets, team.maya, "meeting")
    assert (stored.summary, stored.next_step, stored.due_date) == (
        "QBR with the CFO",
        "Send the renewal proposal",
        date(2026, 12, 1),
    )
    assert (stored.status, stored.done_at, stored.created_at) == ("open", None, NOW)

    [event] = await audit_events(db)
    assert (event.action, event.object_type, event.object_id) == (
        "followup.logged",
        "follow_up",
        str(stored.id),
    )
    assert (event.actor_id, event.actor_label, event.platform) == (team.maya, MAYA, "console")
    assert event.details == {"account_id": team.acme_rockets, "kind": "meeting"}

    # It is now the account's last touch and one of its open follow-ups.
    card = text_of(await ask(bot, maya, "account acme rockets"))
    assert "Last touch: meeting today by Maya Chen" in card
    assert "**Open follow-ups (2)**" in card


async def test_a_plain_record_is_done_at_once(db: Database, bot: Bot, maya: Actor, team: Team) -> None:
    form = await open_form(bot, maya, "log cafe")
    reply = as_reply(
        await bot.handle(submit(maya, form, {"kind": "note", "summary": "Sent the release notes"}))
    )
    assert text_of(reply) == "✅ Logged a note for **Café Lumière Studios**."
    async with db.sessions() as s:
        stored = (
            await s.execute(select(FollowUp).where(FollowUp.summary == "Sent the release notes"))
        ).scalar_one()
    assert (stored.status, stored.done_at) == ("done", NOW)
    assert [e.action for e in await audit_events(db)] == ["followup.logged"]


async def test_due_today_is_allowed_and_a_due_date_alone_keeps_it_open(
    db: Database, bot: Bot, maya: Actor
) -> None:
    form = await open_form(bot, maya)
    reply = as_reply(await bot.handle(submit(maya, form, {**VALID, "due_date": "2026-11-25"})))
    assert text_of(reply) == (
        "✅ Logged a call for **Acme Rockets**.\nNext step: follow up, due Wed 25 Nov 2026"
    )
    assert (
        await ask(bot, maya, "followups acme rockets")
    ).summary == "Open follow-ups for Acme Rockets: 2 in all"


async def test_the_past_is_judged_in_the_persons_time_zone(db: Database, team: Team) -> None:
    # 12:00 UTC is already 26 November on Kiritimati (UTC+14).
    await add_person(db, "kiri@example.com", "Kiri Tane", "admin", timezone="Pacific/Kiritimati")
    bot = make_bot(db)
    kiri = await actor_for(db, "kiri@example.com")
    form = await open_form(bot, kiri)
    again = as_form(await bot.handle(submit(kiri, form, {**VALID, "due_date": "2026-11-25"})))
    assert again.errors == {"due_date": "Next step due cannot be in the past."}


async def test_corrected_submit_after_errors_is_saved(db: Database, bot: Bot, maya: Actor) -> None:
    form = await open_form(bot, maya)
    again = as_form(await bot.handle(submit(maya, form, {"kind": "call", "summary": ""})))
    assert set(again.errors) == {"summary"}
    reply = await bot.handle(submit(maya, again, {"kind": "call", "summary": "Fixed"}))
    assert isinstance(reply, Reply)
    assert reply.summary == "Logged a call for Acme Rockets"
    assert await count(db, FollowUp) == SEEDED_FOLLOW_UPS + 1


# ------------------------------------------------------------------------------------------------ list


def item_lines(reply: Reply) -> list[str]:
    return [line for line in text_of(reply).splitlines() if line.startswith("**")]


MAYA_RECORDING = "**Acme Rockets**: Send the recording · ⚠️ overdue 5 days"
MAYA_SPONSOR = "**Café Lumière Studios**: Book a call with the sponsor · due in 2 days"
LEO_DECK = "**Brightwater Logistics**: Send the QBR deck · ⚠️ overdue 1 day"
PRIYA_NOTE = "**Grünfeld Maschinenbau**: Share the survey results"


@pytest.mark.parametrize(
    ("email", "typed", "title", "lines"),
    [
        (MAYA, "followups", "Your open follow-ups", [MAYA_RECORDING, MAYA_SPONSOR]),
        (MAYA, "followups mine", "Your open follow-ups", [MAYA_RECORDING, MAYA_SPONSOR]),
        (MAYA, "followup MINE", "Your open follow-ups", [MAYA_RECORDING, MAYA_SPONSOR]),
        (LEO, "followups", "Your open follow-ups", [LEO_DECK, PRIYA_NOTE]),  # undated last
        (PRIYA, "followups", "Your open follow-ups", [PRIYA_NOTE]),  # written by her
        (MAYA, "followups overdue", "Overdue follow-ups", [MAYA_RECORDING]),
        (JONAS, "followups overdue", "Overdue follow-ups", [MAYA_RECORDING]),  # his team's
        (OLGA, "followups overdue", "Overdue follow-ups", [LEO_DECK]),
        (SAM, "followups overdue", "Overdue follow-ups", [MAYA_RECORDING, LEO_DECK]),  # everyone's
        (LEO, "followups acme rockets", "Open follow-ups for Acme Rockets", [MAYA_RECORDING]),
        (MAYA, "followups cafe", "Open follow-ups for Café Lumière Studios", [MAYA_SPONSOR]),
        (MAYA, "follow-ups BRW-001", "Open follow-ups for Brightwater Logistics", [LEO_DECK]),
    ],
)
async def test_followups_lists(
    db: Database, bot: Bot, team: Team, email: str, typed: str, title: str, lines: list[str]
) -> None:
    reply = await ask(bot, await actor_for(db, email), typed)
    assert text_of(reply).splitlines()[0] == f"# {title}"
    assert item_lines(reply) == lines
    assert reply.summary == f"{title}: {len(lines)} in all"
    assert [b.label for b in reply.buttons] == ["Done", "Snooze 1 day", "Snooze 1 week"] * len(lines)


async def test_each_item_has_done_and_snooze_buttons(bot: Bot, maya: Actor, team: Team) -> None:
    reply = await ask(bot, maya, "followups acme rockets")
    assert [(b.action, b.payload) for b in reply.buttons] == [
        ("followup.done", {"followup_id": team.call_cfo}),
        ("followup.snooze", {"followup_id": team.call_cfo, "days": 1}),
        ("followup.snooze", {"followup_id": team.call_cfo, "days": 7}),
    ]


@pytest.mark.parametrize(
    ("email", "typed", "text"),
    [
        (JONAS, "followups", "Your open follow-ups: none. 🎉"),
        (PRIYA, "followups overdue", "Overdue follow-ups: none. 🎉"),
        (MAYA, "followups nimbus", "Open follow-ups for Nimbus Freight: none. 🎉"),
    ],
)
async def test_followups_none(db: Database, bot: Bot, team: Team, email: str, typed: str, text: str) -> None:
    assert text_of(await ask(bot, await actor_for(db, email), typed)) == text


async def test_followups_page_ten_at_a_time(db: Database, bot: Bot, maya: Actor, team: Team) -> None:
    for n in range(1, 12):
        await add_follow_up(
            db, team.cafe, author_id=team.maya, summary=f"s{n}", next_step=f"Step {n:02}", due=day(n)
        )
    first = await ask(bot, maya, "followups cafe")
    assert first.summary == "Open follow-ups for Café Lumière Studios: 1-10 of 12"
    assert len(item_lines(first)) == 10
    assert item_lines(first)[:2] == [
        "**Café Lumière Studios**: Step 01 · due tomorrow",
        MAYA_SPONSOR,
    ]
    more = button(first, "More")
    assert more.label == "More (2 left)"
    assert more.payload == {"command": "followups", "args": "cafe", "offset": 10}
    second = as_reply(await press(bot, maya, more))
    assert item_lines(second) == [
        "**Café Lumière Studios**: Step 10 · due in 10 days",
        "**Café Lumière Studios**: Step 11 · due in 11 days",
    ]
    assert second.summary == "Open follow-ups for Café Lumière Studios: 11-12 of 12"
    assert second.replace is True
    assert [b.label for b in second.buttons] == ["Done", "Snooze 1 day", "Snooze 1 week"] * 2


# ---------------------------------------------------------------------------------------- done, snooze


async def test_done_closes_the_follow_up_and_audits(db: Database, bot: Bot, maya: Actor, team: Team) -> None:
    listed = await ask(bot, maya, "followups acme rockets")
    reply = as_reply(await press(bot, maya, button(listed, "Done")))
    assert text_of(reply) == "✅ Done: Send the recording (**Acme Rockets**)"
    assert reply.summary == "✅ Done: Send the recording (Acme Rockets)"
    assert reply.replace is True

    stored = await get_row(db, FollowUp, team.call_cfo)
    assert (stored.status, stored.done_at) == ("done", NOW)
    [event] = await audit_events(db)
    assert (event.action, event.object_type, event.object_id) == (
        "followup.done",
        "follow_up",
        str(team.call_cfo),
    )
    assert (event.actor_id, event.platform, event.details) == (
        team.maya,
        "console",
        {"account_id": team.acme_rockets},
    )
    assert (
        text_of(await ask(bot, maya, "followups acme rockets"))
        == "Open follow-ups for Acme Rockets: none. 🎉"
    )

    # A second click changes nothing.
    again = as_reply(await press(bot, maya, button(listed, "Done")))
    assert text_of(again) == "That follow-up for **Acme Rockets** was already done."
    assert len(await audit_events(db)) == 1


@pytest.mark.parametrize(
    ("label", "until"), [("Snooze 1 day", date(2026, 11, 26)), ("Snooze 1 week", date(2026, 12, 2))]
)
async def test_snooze_hides_the_follow_up_until_then_and_audits(
    db: Database, bot: Bot, maya: Actor, team: Team, label: str, until: date
) -> None:
    listed = await ask(bot, maya, "followups acme rockets")
    reply = as_reply(await press(bot, maya, button(listed, label)))
    assert text_of(reply) == f"💤 Snoozed until {until:%a %d %b %Y}: Send the recording (**Acme Rockets**)"
    assert reply.replace is True
    stored = await get_row(db, FollowUp, team.call_cfo)
    assert (stored.status, stored.snoozed_until) == ("open", until)
    [event] = await audit_events(db)
    assert (event.action, event.object_id) == ("followup.snoozed", str(team.call_cfo))
    assert event.details == {"account_id": team.acme_rockets, "until": until.isoformat()}
    assert item_lines(await ask(bot, maya, "followups")) == [MAYA_SPONSOR]


ONLY_DAY_OR_WEEK = "Snooze for 1 day or 1 week."
MISSING = "That button is missing what it refers to. Run the command again."


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (0, ONLY_DAY_OR_WEEK),
        (3, ONLY_DAY_OR_WEEK),
        (-1, ONLY_DAY_OR_WEEK),
        ("30", ONLY_DAY_OR_WEEK),
        ("week", MISSING),
        (None, MISSING),
    ],
)
async def test_snooze_only_for_a_day_or_a_week(
    db: Database, bot: Bot, maya: Actor, team: Team, days: JSONScalar, message: str
) -> None:
    payload: Payload = {"followup_id": team.call_cfo, "days": days}
    reply = as_reply(await bot.handle(action(maya, "followup.snooze", payload)))
    assert reply.summary == message
    assert (await get_row(db, FollowUp, team.call_cfo)).snoozed_until is None
    assert await audit_events(db) == []


@pytest.mark.parametrize("name", ["followup.done", "followup.snooze"])
async def test_a_follow_up_that_no_longer_exists(db: Database, bot: Bot, maya: Actor, name: str) -> None:
    reply = as_reply(await bot.handle(action(maya, name, {"followup_id": 424242, "days": 1})))
    assert reply.summary == "That follow-up no longer exists."
    assert await count(db, AuditEvent) == 0


@pytest.mark.parametrize(
    ("kind", "logged"),
    [
        ("call", "a call"),
        ("email", "an email"),
        ("meeting", "a meeting"),
        ("qbr", "a QBR"),
        ("note", "a note"),
    ],
)
async def test_confirmation_names_the_kind_and_the_account(
    bot: Bot, maya: Actor, kind: str, logged: str
) -> None:
    form = await open_form(bot, maya, "log acme robotics")
    reply = as_reply(await bot.handle(submit(maya, form, {"kind": kind, "summary": "Done"})))
    assert reply.summary == f"Logged {logged} for Acme Robotics"


async def test_logging_a_follow_up_refreshes_todays_health_as_engagement(
    db: Database, bot: Bot, maya: Actor, team: Team
) -> None:
    from storage.models import HealthSnapshot

    form = await open_form(bot, maya)
    await bot.handle(submit(maya, form, {"kind": "call", "summary": "Checked in with the champion"}))
    async with db.sessions() as s:
        snapshot = (
            await s.execute(
                select(HealthSnapshot).where(
                    HealthSnapshot.account_id == team.acme_rockets, HealthSnapshot.day == NOW.date()
                )
            )
        ).scalar_one()
    engagement = snapshot.components["engagement_recency"]
    assert engagement["score"] == 100.0
    assert "today" in engagement["reason"] or "0 days" in engagement["reason"]
