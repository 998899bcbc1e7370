"""The core: registration, help, unknown commands and buttons, errors shown as written, crashes
reported by reference, and paging."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from bot.actions import PAGE_MORE
from bot.core.context import BotContext
from bot.core.dispatch import Bot
from bot.core.paging import PAGE_SIZE, paginate
from bot.core.registry import Registry
from bot.errors import BadArguments, NotAllowed, new_reference
from bot.log import configure
from bot.types import Actor, Platform, Reply, Request, RequestKind, Response, Text
from handlers import accounts
from storage.db import Database
from storage.models import FollowUp
from tests.factories import (
    ADDRESS,
    MAYA,
    NOW,
    Team,
    action,
    actor_for,
    ask,
    audit_events,
    command,
    count,
    fixed_clock,
    make_bot,
    seed_team,
    settings_for,
    text_of,
)

NOT_REGISTERED = "You are not registered with Touchpoint yet. Ask a Touchpoint admin to add you."
# The commands this issue asks for; other areas may register more.
CORE_LINES = [
    "`help`  this list",
    "`account NAME|ID`  the account card: health, why, what is next",
    "`my [red|yellow|green]`  your accounts, worst health first",
    "`risk [SEGMENT]`  red and falling accounts, ARR at risk",
    "`renewals [DAYS=90]`  upcoming renewals with health",
    "`log ACCOUNT`  log a call, email, meeting, QBR or note",
    "`followups [mine|ACCOUNT|overdue]`  open follow-ups",
    "`milestones [ACCOUNT|overdue|week]`  milestones due, overdue or per account",
]


@pytest.fixture
async def team(sqlite_db: Database) -> Team:
    return await seed_team(sqlite_db)


@pytest.fixture
def bot(sqlite_db: Database) -> Bot:
    return make_bot(sqlite_db)


@pytest.fixture
async def maya(sqlite_db: Database, team: Team) -> Actor:
    return await actor_for(sqlite_db, MAYA)


# ------------------------------------------------------------------------------------------------ help


def command_lines(bot: Bot) -> list[str]:
    """One line per registered command, in registration order, after help."""
    return ["`help`  this list", *(f"`{c.usage}`  {c.summary}" for c in bot.registry.commands.values())]


@pytest.mark.parametrize("text", ["help", "", "?", "/cs", "<@U123>", "HELP"])
async def test_help_lists_every_command(bot: Bot, maya: Actor, text: str) -> None:
    reply = await ask(bot, maya, text)
    assert texts_lines(reply) == ["Here is what I can do:", *command_lines(bot)]
    assert set(CORE_LINES) <= set(command_lines(bot))
    assert reply.summary == "Commands: " + ", ".join(bot.registry.commands)
    assert reply.summary.startswith("Commands: account, my, risk, renewals, ask, log, followups, milestones")
    assert "Add `share` at the end of a command" in text_of(reply)


@pytest.mark.parametrize("text", ["frobnicate", "frobnicate acme share", "<@U1> Frobnicate"])
async def test_unknown_command_says_so_and_lists_what_exists(bot: Bot, maya: Actor, text: str) -> None:
    reply = await ask(bot, maya, text)
    assert texts_lines(reply) == [
        "I don't know the command `frobnicate`. Here is what I can do:",
        *command_lines(bot),
    ]
    assert reply.summary.startswith("I don't know the command `frobnicate`. Commands: account, my,")


async def test_unknown_button_asks_to_run_the_command_again(bot: Bot, maya: Actor) -> None:
    reply = await bot.handle(action(maya, "retired.action", {"account_id": 1}))
    assert isinstance(reply, Reply)
    assert reply.summary == "That button no longer works. Run the command again to get a fresh one."


def texts_lines(reply: Reply) -> list[str]:
    return [line for block in reply.blocks if isinstance(block, Text) for line in block.text.splitlines()]


# ---------------------------------------------------------------------------------------- unregistered


async def test_unregistered_person_gets_no_data_from_any_command(bot: Bot, team: Team) -> None:
    nobody = Actor(platform=Platform.SLACK, platform_user_id="U0NOBODY", email="eve@example.com")
    for text in ["help", "frobnicate", "account acme rockets", "my", "risk", "renewals", "log acme rockets"]:
        reply = await bot.handle(command(nobody, text))
        assert reply == Reply(summary=NOT_REGISTERED, blocks=(Text(NOT_REGISTERED),)), text
    for name in bot.registry.commands:
        assert (await bot.handle(command(nobody, name))) == Reply(
            summary=NOT_REGISTERED, blocks=(Text(NOT_REGISTERED),)
        )


async def test_unregistered_person_cannot_click_or_submit(sqlite_db: Database, bot: Bot, team: Team) -> None:
    nobody = Actor(platform=Platform.TEAMS, platform_user_id="29:unknown")
    payloads: dict[str, dict[str, Any]] = {
        "account.open": {"account_id": team.acme_rockets},
        "followup.open_form": {"account_id": team.acme_rockets},
        "followup.done": {"followup_id": team.call_cfo},
        "followup.snooze": {"followup_id": team.call_cfo, "days": 1},
        "milestone.done": {"milestone_id": team.qbr_nov},
        "milestone.snooze": {"milestone_id": team.qbr_nov, "days": 7},
        "milestones.of_account": {"account_id": team.acme_rockets},
        PAGE_MORE: {"command": "my", "args": "", "offset": 10},
    }
    assert set(payloads) <= set(bot.registry.actions)
    for name, payload in payloads.items():
        reply = await bot.handle(action(nobody, name, payload))
        assert isinstance(reply, Reply)
        assert reply.summary == NOT_REGISTERED, name
    submitted = Request(
        kind=RequestKind.SUBMIT,
        actor=nobody,
        address=ADDRESS,
        action="followup.save",
        payload={"account_id": team.acme_rockets},
        values={"kind": "call", "summary": "Sneaky"},
    )
    reply = await bot.handle(submitted)
    assert isinstance(reply, Reply)
    assert reply.summary == NOT_REGISTERED
    assert await audit_events(sqlite_db) == []
    assert await count(sqlite_db, FollowUp) == 6


# ---------------------------------------------------------------------------------------------- errors


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """bot.log configured for JSON lines into a buffer, as in production; restored afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    alembic_level = logging.getLogger("alembic").level
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure(level="DEBUG", json=True, stream=stream)
    try:
        yield stream
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("alembic").setLevel(alembic_level)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


async def test_user_errors_are_shown_as_written_and_not_logged_as_crashes(
    bot: Bot, maya: Actor, log_stream: io.StringIO
) -> None:
    async def refuse(_ctx: BotContext, _request: Request) -> Response:
        raise NotAllowed("Only admins can do that.")

    bot.registry.command("refuse", usage="refuse", summary="always refuses")(refuse)
    reply = await ask(bot, maya, "refuse")
    assert reply == Reply(summary="Only admins can do that.", blocks=(Text("Only admins can do that."),))
    lines = log_lines(log_stream)
    assert [line["event"] for line in lines if line["level"] == "error"] == []
    handled = [line for line in lines if line["event"] == "request_handled"]
    assert [(line["command"], line["outcome"]) for line in handled] == [("refuse", "user_error")]


async def explode(_ctx: BotContext, _request: Request) -> Response:
    raise RuntimeError("connection to db-7 refused; password=hunter2")


@pytest.mark.parametrize("kind", [RequestKind.COMMAND, RequestKind.ACTION, RequestKind.SUBMIT])
async def test_a_crash_shows_a_reference_and_logs_it_with_the_traceback(
    bot: Bot, maya: Actor, log_stream: io.StringIO, kind: RequestKind
) -> None:
    bot.registry.command("explode", usage="explode", summary="always fails")(explode)
    bot.registry.action("explode.now")(explode)
    if kind is RequestKind.COMMAND:
        request = command(maya, "explode now")
    else:
        request = Request(kind=kind, actor=maya, address=ADDRESS, action="explode.now", payload={"x": 1})

    reply = await bot.handle(request)

    assert isinstance(reply, Reply)
    found = re.fullmatch(
        r"Something went wrong \(reference ([A-Z2-9]{6})\)\. "
        r"The team has been told; please try again later\.",
        reply.summary,
    )
    assert found is not None, reply.summary
    reference = found.group(1)
    assert reply.blocks == (Text(reply.summary),)
    assert "hunter2" not in text_of(reply) and "RuntimeError" not in text_of(reply)

    lines = log_lines(log_stream)
    failed = [line for line in lines if line.get("event") == "request_failed"]
    assert len(failed) == 1
    entry = failed[0]
    assert entry["reference"] == reference
    assert entry["level"] == "error"
    assert entry["kind"] == kind.value
    assert entry["person_id"] == maya.person_id
    assert entry["platform"] == "console"
    assert (entry["command"], entry["action"]) == (
        ("explode", "") if kind is RequestKind.COMMAND else ("", "explode.now")
    )
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "in explode" in entry["exception"]
    assert "RuntimeError: connection to db-7 refused" in entry["exception"]
    handled = [line for line in lines if line.get("event") == "request_handled"]
    assert [h["outcome"] for h in handled] == ["crash"]


async def test_each_crash_gets_its_own_reference(bot: Bot, maya: Actor) -> None:
    bot.registry.command("explode", usage="explode", summary="always fails")(explode)
    with capture_logs() as logs:
        first = await ask(bot, maya, "explode")
        second = await ask(bot, maya, "explode")
    references = [e["reference"] for e in logs if e["event"] == "request_failed"]
    assert len(set(references)) == 2
    assert all(
        f"reference {r}" in reply.summary for r, reply in zip(references, (first, second), strict=True)
    )
    assert all(e["exc_info"] is True for e in logs if e["event"] == "request_failed")


def test_references_are_easy_to_read_aloud() -> None:
    for _ in range(200):
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", new_reference())


# ------------------------------------------------------------------------------------------- registry


def test_registering_a_name_twice_is_refused() -> None:
    registry = Registry()
    registry.command("x", usage="x", summary="x")(explode)
    registry.action("x.y")(explode)
    with pytest.raises(ValueError, match="command 'x' registered twice"):
        registry.command("x", usage="x", summary="x")(explode)
    with pytest.raises(ValueError, match=r"action 'x\.y' registered twice"):
        registry.action("x.y")(explode)


async def test_card_offers_only_buttons_whose_actions_exist(sqlite_db: Database, team: Team) -> None:
    registry = Registry()
    accounts.register(registry)
    only_accounts = Bot(
        BotContext(db=sqlite_db, settings=settings_for(sqlite_db), clock=fixed_clock), registry
    )
    full = make_bot(sqlite_db)
    maya = await actor_for(sqlite_db, MAYA)
    assert (await ask(only_accounts, maya, "account acme rockets")).buttons == ()
    labels = [b.label for b in (await ask(full, maya, "account acme rockets")).buttons]
    assert labels == ["Log follow-up", "Milestones", "Timeline", "Success plan", "Send feedback to CX"]


# -------------------------------------------------------------------------------------------- context


@pytest.mark.parametrize(
    ("zone", "today"),
    [
        ("UTC", date(2026, 11, 25)),
        ("Pacific/Kiritimati", date(2026, 11, 26)),  # UTC+14: already tomorrow
        ("Pacific/Pago_Pago", date(2026, 11, 25)),  # UTC-11: 01:00
        ("Not/A_Zone", date(2026, 11, 25)),  # falls back to the default zone
        ("", date(2026, 11, 25)),
    ],
)
def test_today_is_the_actors_calendar_day(sqlite_db: Database, zone: str, today: date) -> None:
    context = BotContext(db=sqlite_db, settings=settings_for(sqlite_db), clock=fixed_clock)
    actor = Actor(platform=Platform.CONSOLE, platform_user_id="x", person_id=1, timezone=zone)
    assert context.today(actor) == today
    assert context.now() == NOW


def test_late_evening_utc_is_tomorrow_in_asia(sqlite_db: Database) -> None:
    context = BotContext(
        db=sqlite_db,
        settings=settings_for(sqlite_db),
        clock=lambda: datetime(2026, 11, 25, 23, 30, tzinfo=UTC),
    )
    singapore = Actor(platform=Platform.CONSOLE, platform_user_id="x", person_id=1, timezone="Asia/Singapore")
    assert context.today(singapore) == date(2026, 11, 26)
    assert context.today() == date(2026, 11, 25)


# --------------------------------------------------------------------------------------------- paging


def listing(text: str, offset: object = None) -> Request:
    maya = Actor(platform=Platform.CONSOLE, platform_user_id="m", person_id=1)
    request = command(maya, text)
    if offset is None:
        return request
    return Request(
        kind=request.kind,
        actor=maya,
        address=ADDRESS,
        command=request.command,
        args=request.args,
        payload={"offset": offset},  # type: ignore[dict-item]
    )


def test_first_page_has_ten_and_a_more_button() -> None:
    page = paginate(list(range(25)), listing("followups acme rockets"))
    assert list(page.items) == list(range(10))
    assert page.caption == "1-10 of 25"
    assert page.more is not None
    assert page.more.label == "More (15 left)"
    assert page.more.action == PAGE_MORE
    assert page.more.payload == {"command": "followups", "args": "acme rockets", "offset": 10}


def test_middle_and_last_pages() -> None:
    middle = paginate(list(range(25)), listing("my", 10))
    assert list(middle.items) == list(range(10, 20))
    assert middle.caption == "11-20 of 25"
    assert middle.more is not None and middle.more.payload["offset"] == 20
    last = paginate(list(range(25)), listing("my", 20))
    assert list(last.items) == list(range(20, 25))
    assert last.caption == "21-25 of 25"
    assert last.more is None


@pytest.mark.parametrize("count", [0, 1, PAGE_SIZE])
def test_short_lists_have_no_more_button(count: int) -> None:
    page = paginate(list(range(count)), listing("my"))
    assert page.more is None
    assert page.caption == f"{count} in all"


@pytest.mark.parametrize("offset", [999, "", None, 10.0])
def test_odd_offsets_fall_back_sensibly(offset: object) -> None:
    page = paginate(list(range(25)), listing("my", offset))
    assert page.offset == (10 if offset == 10.0 else 0)


@pytest.mark.parametrize("offset", ["abc", -5, 3.5, 10**19])
def test_tampered_offsets_are_refused(offset: object) -> None:
    with pytest.raises(BadArguments, match="can no longer be continued"):
        paginate(list(range(25)), listing("my", offset))


async def test_more_for_an_unknown_command_is_refused(bot: Bot, maya: Actor) -> None:
    reply = await bot.handle(action(maya, PAGE_MORE, {"command": "frobnicate", "offset": 10}))
    assert isinstance(reply, Reply)
    assert reply.summary == "That list can no longer be continued. Run the command again."


async def test_share_flag_reaches_the_reply(bot: Bot, maya: Actor) -> None:
    assert (await ask(bot, maya, "my share")).shared is True
    assert (await ask(bot, maya, "my")).shared is False


async def test_a_missing_object_is_explained(bot: Bot, maya: Actor) -> None:
    reply = await bot.handle(action(maya, "account.open", {"account_id": 987654}))
    assert isinstance(reply, Reply)
    assert reply.summary == "That account no longer exists."
