"""Every ``/cs`` command over real HTTP: signed slash commands in, answers through the response_url.

The env fixture checks every Block Kit payload the bot produced when each test ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.render import FORM_CALLBACK_ID
from storage.db import Database
from tests.slack_env import (
    MAYA,
    SlackEnv,
    build_demo_file,
    buttons,
    demo_copy,
    reply_text,
    seed_demo,
    slack_env,
)
from tests.slack_requests import slash_command


@pytest.fixture(scope="module")
def demo_file(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(sqlite_template, tmp_path_factory.mktemp("slack-demo"))


@pytest.fixture
async def env(demo_file: Path, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path) as e:
        yield e


async def ask(env: SlackEnv, text: str) -> dict[str, Any]:
    """Run ``/cs text`` as Maya; the acknowledgement is empty and the answer comes by response_url."""
    answer = await env.post(slash_command(text, user_id=MAYA, response_url=env.fake.response_url()))
    assert (answer.status, answer.text) == (200, "")
    body = (await env.fake.wait_for("response_url"))[0].body
    await env.settle()
    assert len(env.fake.of("response_url")) == 1
    return body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("account acme rockets", ["Acme Rockets", "*Health ", "*Why:*", "*Renewal*"]),
        ("account acme rockts", ["Acme Rockets", "*Health "]),  # a typo still finds it
        ("account demo-acc-0006", ["Harborview Analytics"]),  # by id
        ("my", ["Your accounts", "Harborview Analytics", "Acme Robotics", "7 in all"]),
        ("my red", ["Your red accounts", "Harborview Analytics", "1 in all"]),
        ("risk", ["At risk: ", "Harborview Analytics", "Red, or down 10+ points"]),
        ("renewals", ["Renewals in the next 90 days: 9 accounts", "Umberfield Studios"]),
        ("renewals 30", ["Renewals in the next 30 days: 4 accounts", "Brightwater Logistics"]),
        ("followups", ["Your open follow-ups", "8 in all", "Snooze 1 week"]),
        ("milestones", ["Milestones overdue or due in 14 days", "QBR Nov 2026", "6 in all"]),
        ("milestones acme rockets", ["Open milestones for Acme Rockets", "Renewal Jan 2027"]),
        ("home", ["Touchpoint for Maya Chen", "Your accounts (7)", "Follow-ups due"]),
        ("help", ["Here is what I can do", "`renewals [DAYS=90]`", "`log ACCOUNT`", "share"]),
        ("", ["Here is what I can do"]),  # a bare /cs is help
        ("frobnicate", ["I don't know the command `frobnicate`", "Here is what I can do"]),
        ("renewals soon", ["Use `renewals` or `renewals DAYS`"]),  # a user error, shown as written
        ("account zzzzqqq", ["No account matches “zzzzqqq”"]),
    ],
)
async def test_command_answers_privately_through_response_url(
    env: SlackEnv, text: str, expected: list[str]
) -> None:
    body = await ask(env, text)
    assert body["response_type"] == "ephemeral"
    assert body["replace_original"] is False
    words = reply_text(body)
    for fragment in expected:
        assert fragment in words, f"{fragment!r} missing from the answer to {text!r}:\n{words}"
    # Nothing else was sent: no post, no modal.
    assert {c.method for c in env.fake.calls} <= {"auth.test", "response_url"}


async def test_ambiguous_name_offers_one_button_per_account(env: SlackEnv) -> None:
    body = await ask(env, "account acme")
    assert "Several accounts match “acme”" in reply_text(body)
    offered = buttons(body)
    assert [b["text"]["text"] for b in offered] == ["Acme Robotics", "Acme Rockets"]
    assert [b["action_id"].split("#")[0] for b in offered] == ["account.open", "account.open"]
    assert len({b["action_id"] for b in offered}) == 2
    assert [json.loads(b["value"]) for b in offered] == [{"account_id": 2}, {"account_id": 1}]


async def test_share_answers_in_channel(env: SlackEnv) -> None:
    body = await ask(env, "account acme rockets share")
    assert body["response_type"] == "in_channel"
    assert "Acme Rockets" in reply_text(body)


async def test_list_shared(env: SlackEnv) -> None:
    body = await ask(env, "renewals 30 share")
    assert body["response_type"] == "in_channel"
    assert "Renewals in the next 30 days" in reply_text(body)


async def test_log_opens_a_modal_for_the_account(env: SlackEnv) -> None:
    answer = await env.post(
        slash_command(
            "log acme rockets", user_id=MAYA, response_url=env.fake.response_url(), trigger_id="T-9"
        )
    )
    assert (answer.status, answer.text) == (200, "")
    call = (await env.fake.wait_for("views.open"))[0]
    await env.settle()
    assert call.body["trigger_id"] == "T-9"
    view = call.body["view"]
    assert view["type"] == "modal"
    assert view["callback_id"] == FORM_CALLBACK_ID
    assert view["title"]["text"] == "Log follow-up"
    assert json.loads(view["private_metadata"]) == {
        "action": "followup.save",
        "payload": {"account_id": 1},
        "channel": "C0123CSM",
    }
    assert [b["block_id"] for b in view["blocks"]] == ["kind", "summary", "next_step", "due_date"]
    assert "What happened with Acme Rockets?" in reply_text(call.body)
    assert env.fake.of("response_url") == []  # the modal is the answer


async def test_log_someone_elses_account_is_refused_without_a_modal(env: SlackEnv) -> None:
    body = await ask(env, "log lakeshire software")
    assert "Only the owner of Lakeshire Software" in reply_text(body)
    assert env.fake.of("views.open") == []


async def test_long_list_pages_with_a_more_button(env: SlackEnv) -> None:
    body = await ask(env, "renewals 365")
    assert "1-10 of " in reply_text(body)
    more = buttons(body)[-1]
    assert more["text"]["text"].startswith("More (")
    assert more["action_id"].startswith("page.more#")
    assert json.loads(more["value"]) == {"command": "renewals", "args": "365", "offset": 10}


async def test_command_on_postgres_and_sqlite(db: Database, tmp_path: Path) -> None:
    """The card over the whole stack, on each database backend."""
    await seed_demo(db)
    async with slack_env(db, tmp_path) as env:
        body = await ask(env, "account acme rockets")
        assert body["blocks"][0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": "Acme Rockets", "emoji": True},
        }
        assert [b["text"]["text"] for b in buttons(body)][:2] == ["Log follow-up", "Milestones"]
