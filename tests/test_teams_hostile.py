"""Hostile requests on the Teams way in, as tables: smuggled service URLs, bodies no parser should recurse
into, text no database can store, odd shapes, control characters, and forged tokens in bulk.

Each hostile request gets a 4xx (never a 500, never a hang), nothing is posted or stored, and the log
holds no error or traceback for it. The service-URL rule also holds for conversations already stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select, update
from structlog.testing import capture_logs
from yarl import URL

from adapters.teams.delivery import TeamsUnreachable
from adapters.teams.service_url import service_url_problem
from bot.types import Reply, Text
from storage.db import Database
from storage.models import Person, TeamsConversation
from tests.factories import MAYA, count, seed_team
from tests.teams_activities import (
    CHANNEL_ID,
    TeamsUser,
    bot_added,
    channel_message,
    personal_message,
    user,
)
from tests.teams_env import assert_quiet, teams_env

APP_ID = "6c1f3f0e-1d2b-4c5a-9e8f-0a1b2c3d4e5f"
MAYA_T = user("maya", "Maya Chen", MAYA)
LEO_T = user("leo", "Leo Park", "leo@example.com")


async def link(db: Database, email: str, who: TeamsUser) -> None:
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.email == email).values(teams_user_id=who.aad))


# ------------------------------------------------------------------------------- service URLs

# Each reads as this machine to a naive check (or crashed it), while the HTTP client that posts the
# answer connects elsewhere, fills in part of the URL from the activity, or cannot read it at all.
SMUGGLED = [
    pytest.param("http://intruder@{host}/", id="userinfo"),
    pytest.param("http://intruder:secret@{host}/", id="userinfo-with-password"),
    pytest.param("http://attacker.example\\@{host}/", id="backslash-before-userinfo"),
    pytest.param("http://attacker.example\t@{host}/", id="tab-in-userinfo"),
    pytest.param("http://attacker.example @{host}/", id="space-in-userinfo"),
    pytest.param("http://attacker.example;@{host}/", id="semicolon-userinfo"),
    pytest.param("http://attacker.example\u2100@{host}/", id="nfkc-userinfo"),
    pytest.param("http://localhost:{{conversationId}}/", id="placeholder-the-client-fills-in"),
    pytest.param("http://{host}/{{activityId}}/", id="placeholder-in-path"),
    pytest.param("http://{host}/?then=https://attacker.example/", id="query"),
    pytest.param("http://{host}/#@attacker.example", id="fragment"),
    pytest.param("http://localhost:99999/", id="port-out-of-range"),
    pytest.param("http://127.1/", id="short-ipv4"),
    pytest.param("http://localhost./", id="trailing-dot"),
    pytest.param("http://[::ffff:7f00:1]/", id="ipv4-mapped-ipv6"),
    pytest.param("https://smba.trafficmanager.net/amer/", id="remote"),
    pytest.param("ftp://{host}/", id="not-http"),
    pytest.param("http://" + "a" * 3000 + ".example/", id="too-long"),
]


@pytest.mark.parametrize("template", SMUGGLED)
async def test_without_an_app_id_only_a_url_every_parser_reads_as_this_machine_is_served(
    sqlite_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture, template: str
) -> None:
    async for env in teams_env(sqlite_db, tmp_path):
        url = template.format(host=URL(env.service_url).raw_authority)
        with capture_logs() as logs:
            answer = await env.post(personal_message("help", MAYA_T, service_url=url))
        assert answer.status in (400, 401)
        assert not env.fake.calls, "nothing posted"
        assert await count(env.db, TeamsConversation) == 0, "nothing stored for later posts"
        assert_quiet(logs, caplog)


ACCEPTED = [
    ("https://smba.trafficmanager.net/amer/", False),
    ("https://smba.trafficmanager.net/teams/", False),
    ("https://smba.infra.gcc.teams.microsoft.com/gcc/", False),
    ("https://europe.webchat.botframework.com/", False),
    ("https://smba.trafficmanager.net/amer/%7Eteam/", False),
    ("http://localhost:3978", True),
    ("http://LOCALHOST:3978/", True),
    ("http://127.0.0.1:50123/", True),
    ("http://127.0.0.2/", True),
    ("http://[::1]:3978/", True),
]


@pytest.mark.parametrize(("url", "local"), ACCEPTED)
def test_an_accepted_url_reads_the_same_to_the_check_and_to_the_client(url: str, local: bool) -> None:
    assert service_url_problem(url, local_only=False) is None
    assert (service_url_problem(url, local_only=True) is None) is local
    # What the Bot Connector client does with it: str.format with the call's ids, then urljoin.
    filled = url.format(conversationId="a:1x", activityId="1")
    assert filled == url
    sent = urljoin(filled.rstrip("/") + "/", "v3/conversations/a%3A1x/activities")
    host = (urlsplit(url).hostname or "").lower()
    assert URL(sent).host == host == (URL(url).host or "").lower()


@pytest.mark.parametrize(
    ("url", "local", "problem"),
    [
        ("http://smba.trafficmanager.net/amer/", False, "not https"),
        ("http://intruder@127.0.0.1/", False, "plain http"),
        ("https://smba.trafficmanager.net/amer/", True, "not on this machine"),
        ("http://10.0.0.8:3978/", True, "not on this machine"),
        ("http://[::1/", True, "plain http"),
        ("http://[fe80::1%25eth0]/", True, "plain http"),
        ("", True, "no service URL"),
        (None, True, "no service URL"),
        (42, False, "no service URL"),
    ],
)
def test_refused_urls_say_why(url: object, local: bool, problem: str) -> None:
    found = service_url_problem(url, local_only=local)
    assert found is not None and problem in found


async def test_a_stored_conversation_gets_the_same_rule_before_anything_is_posted(
    db: Database, tmp_path: Path
) -> None:
    """A reference stored before the rule (or written by hand) is not posted to either."""
    await seed_team(db)
    async for env in teams_env(db, tmp_path):
        await env.post(bot_added(LEO_T, service_url=env.service_url, place="channel"))
        assert len(env.fake.calls) == 1, "the welcome"
        smuggled = f"http://intruder@{URL(env.service_url).raw_authority}/"
        async with env.db.transaction() as session:
            row = (await session.execute(select(TeamsConversation))).scalar_one()
            reference = {**row.reference, "serviceUrl": smuggled}
            await session.execute(update(TeamsConversation).values(service_url=smuggled, reference=reference))
        digest = Reply(summary="Digest", blocks=(Text("3 renewals this week"),))
        with pytest.raises(TeamsUnreachable):
            await env.adapter.send_to_conversation(CHANNEL_ID, digest)
        # A reference whose URL differs from the row's is refused too (both were written together).
        async with env.db.transaction() as session:
            await session.execute(update(TeamsConversation).values(service_url=env.service_url))
        with pytest.raises(TeamsUnreachable):
            await env.adapter.send_to_conversation(CHANNEL_ID, digest)
        assert len(env.fake.calls) == 1, "nothing posted after the welcome"


# ------------------------------------------------------------------------------------- bodies

Body = Callable[[str], bytes]


def activity_bytes(change: Callable[[dict[str, Any]], None]) -> Body:
    def build(service_url: str) -> bytes:
        activity = personal_message("help", MAYA_T, service_url=service_url)
        change(activity)
        return json.dumps(activity).encode()

    return build


def nested_value(depth: int) -> Body:
    """An activity whose ``value`` nests ``depth`` arrays deep (written out: no encoder goes that deep)."""

    def build(service_url: str) -> bytes:
        activity = personal_message("help", MAYA_T, service_url=service_url)
        activity["value"] = "@DEEP@"
        deep = "[" * depth + '"x"' + "]" * depth
        return json.dumps(activity).replace('"@DEEP@"', deep).encode()

    return build


def with_nan(service_url: str) -> bytes:
    activity = personal_message("help", MAYA_T, service_url=service_url)
    activity["value"] = {"amount": "@NAN@"}
    return json.dumps(activity).replace('"@NAN@"', "NaN").encode()


HOSTILE_BODIES = [
    pytest.param(lambda _: b"[" * 200_000, 400, id="bracket-bomb"),
    pytest.param(lambda _: b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, id="object-bomb"),
    pytest.param(nested_value(5_000), 400, id="deep-value"),
    pytest.param(nested_value(65), 400, id="deeper-than-64"),
    pytest.param(activity_bytes(lambda a: a.update(text="help\u0000")), 400, id="nul-in-text"),
    pytest.param(activity_bytes(lambda a: a["from"].update(name="Maya\u0000")), 400, id="nul-in-name"),
    pytest.param(activity_bytes(lambda a: a.update(text="account \ud800")), 400, id="lone-surrogate-text"),
    pytest.param(
        activity_bytes(lambda a: a["conversation"].update(name="\udfff")), 400, id="lone-surrogate-name"
    ),
    pytest.param(activity_bytes(lambda a: a.update(value={"\udc00": "x"})), 400, id="lone-surrogate-key"),
    pytest.param(with_nan, 400, id="nan"),
    pytest.param(lambda _: b'{"type": "message\xff"}', 400, id="not-utf8"),
    pytest.param(lambda _: b"[1, 2]", 400, id="not-an-object"),
    pytest.param(lambda _: b"{}", 400, id="not-an-activity"),
    pytest.param(lambda _: b"", 400, id="empty"),
    pytest.param(
        activity_bytes(lambda a: a["conversation"].update(id="a:" + "1" * 5_000)), 400, id="huge-id"
    ),
    pytest.param(activity_bytes(lambda a: a.update(text="account " + "a" * 40_000)), 400, id="huge-text"),
    pytest.param(activity_bytes(lambda a: a.update(text="x" * 1_100_000)), 413, id="over-1-mb"),
    pytest.param(activity_bytes(lambda a: a.update(serviceUrl=5)), 400, id="service-url-a-number"),
    pytest.param(activity_bytes(lambda a: a.update(timestamp="yesterday")), 400, id="bad-timestamp"),
]


@pytest.mark.parametrize(("body", "status"), HOSTILE_BODIES)
async def test_hostile_bodies_are_refused_before_anything_is_read_or_written(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture, body: Body, status: int
) -> None:
    async for env in teams_env(db, tmp_path):
        with capture_logs() as logs:
            answer = await env.post(body(env.service_url))
        assert answer.status == status
        assert not env.fake.calls
        assert await count(env.db, TeamsConversation) == 0
        assert_quiet(logs, caplog)


ODD_SHAPES = [
    pytest.param(
        lambda a: a.update(entities=[{"type": "mention", "mentioned": "x", "text": 5}]), id="mention"
    ),
    pytest.param(
        lambda a: (a["conversation"].pop("tenantId"), a["channelData"].update(tenant="x")), id="tenant-text"
    ),
    pytest.param(
        lambda a: (a["conversation"].pop("tenantId"), a["channelData"].update(tenant=["x"])), id="tenant-list"
    ),
    pytest.param(lambda a: a.update(value=[1, 2]), id="value-a-list"),
    pytest.param(lambda a: a.update(value={"tp": {"a": "page.more", "p": "x", "pick": 5}}), id="button-data"),
    pytest.param(lambda a: a.update(text={"a": 1}), id="text-an-object"),
]


@pytest.mark.parametrize("change", ODD_SHAPES)
async def test_odd_shapes_from_teams_are_answered_without_a_crash(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture, change: Callable[[dict[str, Any]], None]
) -> None:
    await seed_team(db)
    async for env in teams_env(db, tmp_path):
        activity = personal_message("help", MAYA_T, service_url=env.service_url)
        change(activity)
        with capture_logs() as logs:
            answer = await env.post(activity)
        assert answer.status == 201
        assert_quiet(logs, caplog)


# ------------------------------------------------------------------------ control characters

ESCAPES = ("\x1b", "\x07", "\u202e")


async def test_control_characters_in_names_and_text_go_no_further(
    sqlite_db: Database, tmp_path: Path
) -> None:
    await seed_team(sqlite_db)
    await link(sqlite_db, MAYA, MAYA_T)
    rogue = TeamsUser(
        user_id=MAYA_T.user_id, aad=MAYA_T.aad, name="Maya\x1b[2J\x07 Chen\u202e", email=MAYA_T.email
    )
    async for env in teams_env(sqlite_db, tmp_path):
        activity = channel_message("\x1b[31maccount\x07 acme", rogue, service_url=env.service_url)
        activity["conversation"]["name"] = "Renewals\x1b]0;owned\x07"
        assert (await env.post(activity)).status == 201
        [answer] = env.fake.of("reply")
        shown = json.dumps(answer.body, ensure_ascii=False)
        assert "[31maccount" in shown, "the typed command came through, cleaned"
        assert not any(c in shown for c in ESCAPES)
        async with env.db.sessions() as session:
            row = (await session.execute(select(TeamsConversation))).scalar_one()
        stored = json.dumps(row.reference, ensure_ascii=False)
        assert "Renewals]0;owned" in stored and "Maya[2J Chen" in stored
        assert not any(c in stored for c in ESCAPES)
