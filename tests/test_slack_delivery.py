"""Getting answers out when Slack pushes back: rate limits, server errors and refusals.

slack_sdk's retry handlers wait as Slack asks (Retry-After) or back off; the env makes those waits
instant and records what was asked for in ``env.retry_waits``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters import web
from adapters.web import build_web_app
from tests.slack_env import (
    MAYA,
    SlackEnv,
    build_demo_file,
    demo_copy,
    reply_text,
    slack_env,
)
from tests.slack_requests import app_mention, home_opened, modal_state, slash_command, view_submission


@pytest.fixture(scope="module")
def demo_file(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(sqlite_template, tmp_path_factory.mktemp("slack-demo"))


@pytest.fixture
async def env(demo_file: Path, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path) as e:
        yield e


async def test_rate_limited_post_is_retried_after_retry_after(env: SlackEnv) -> None:
    env.fake.fail_next("chat.postMessage", 429, retry_after=1)
    await env.post(app_mention("renewals 30", user_id=MAYA))
    calls = await env.fake.wait_for("chat.postMessage", 2)
    assert [c.status for c in calls] == [429, 200]
    assert calls[0].body == calls[1].body  # the same message, sent again
    assert "Renewals in the next 30 days" in reply_text(calls[1].body)
    assert len(env.retry_waits) == 1 and env.retry_waits[0] >= 1  # Retry-After was honoured


async def test_server_error_on_post_is_retried(env: SlackEnv) -> None:
    env.fake.fail_next("chat.postMessage", 500)
    await env.post(app_mention("renewals 30", user_id=MAYA))
    calls = await env.fake.wait_for("chat.postMessage", 2)
    assert [c.status for c in calls] == [500, 200]
    assert "Renewals in the next 30 days" in reply_text(calls[1].body)
    assert len(env.retry_waits) == 1


async def test_several_failures_in_a_row_still_deliver(env: SlackEnv) -> None:
    env.fake.fail_next("chat.postMessage", 503)
    env.fake.fail_next("chat.postMessage", 429, retry_after=2)
    await env.post(app_mention("help", user_id=MAYA))
    calls = await env.fake.wait_for("chat.postMessage", 3)
    assert [c.status for c in calls] == [503, 429, 200]
    assert 2 <= max(env.retry_waits) < 3


async def test_rate_limited_home_view_is_retried(env: SlackEnv) -> None:
    env.fake.fail_next("views.publish", 429, retry_after=1)
    await env.post(home_opened(user_id=MAYA))
    calls = await env.fake.wait_for("views.publish", 2)
    assert [c.status for c in calls] == [429, 200]


async def test_response_url_server_error_is_retried(env: SlackEnv) -> None:
    env.fake.fail_next("response_url", 500)
    await env.post(slash_command("my red", user_id=MAYA, response_url=env.fake.response_url()))
    calls = await env.fake.wait_for("response_url", 2)
    assert [c.status for c in calls] == [500, 200]
    assert "Your red accounts" in reply_text(calls[1].body)


async def test_response_url_refused_falls_back_to_an_ephemeral_message(env: SlackEnv) -> None:
    """An expired response_url (Slack allows 5 uses in 30 minutes) must not swallow the answer."""
    env.fake.fail_next("response_url", 404, error="expired_url")
    await env.post(slash_command("my red", user_id=MAYA, response_url=env.fake.response_url()))
    posted = (await env.fake.wait_for("chat.postEphemeral"))[0].body
    assert (posted["channel"], posted["user"]) == ("C0123CSM", MAYA)
    assert "Your red accounts" in reply_text(posted)
    assert env.logged("slack_response_url_failed")[0]["status"] == 404


async def test_confirmation_where_the_bot_cannot_post_goes_to_a_direct_message(env: SlackEnv) -> None:
    """The modal was opened from a channel the bot is not in: Slack refuses the ephemeral message."""
    await env.post(slash_command("log acme rockets", user_id=MAYA, response_url=env.fake.response_url()))
    view = (await env.fake.wait_for("views.open"))[0].body["view"]
    env.fake.fail_next("chat.postEphemeral", 200, error="not_in_channel")
    state = modal_state(view, {"kind": "call", "summary": "Quick check-in"})
    assert (await env.post(view_submission(view, state, user_id=MAYA))).text == ""
    dm = (await env.fake.wait_for("chat.postMessage"))[0].body
    assert dm["channel"] == MAYA
    assert "Logged a call for *Acme Rockets*" in reply_text(dm)


async def test_modal_that_cannot_open_is_explained(env: SlackEnv) -> None:
    """views.open refused (the trigger expired): the person hears about it instead of nothing."""
    env.fake.fail_next("views.open", 200, error="expired_trigger_id")
    env.expected_crashes = 1
    await env.post(slash_command("log acme rockets", user_id=MAYA, response_url=env.fake.response_url()))
    answer = (await env.fake.wait_for("response_url"))[0].body
    crash = env.logged("slack_listener_failed")[0]
    assert f"reference {crash['reference']}" in reply_text(answer)
    assert answer["response_type"] == "ephemeral"


async def test_failure_right_after_the_acknowledgement_keeps_the_acknowledgement(env: SlackEnv) -> None:
    """Everything Slack offers to answer with fails: the command was still acknowledged at once (Bolt
    would otherwise drop the acknowledgement and answer 404 after 3 seconds), and the failure is
    logged with a reference."""
    env.fake.fail_next("response_url", 404, times=2, error="expired_url")
    env.fake.fail_next("chat.postEphemeral", 200, error="channel_not_found")
    env.fake.fail_next("chat.postMessage", 200, times=2, error="channel_not_found")
    env.expected_crashes = 1
    answer = await env.post(slash_command("my red", user_id=MAYA, response_url=env.fake.response_url()))
    assert (answer.status, answer.text) == (200, "")
    await env.settle()
    crash = env.logged("slack_listener_failed")[0]
    assert env.logged("slack_failure_not_told")[0]["reference"] == crash["reference"]


async def test_failure_right_after_a_submission_keeps_the_modal_acknowledged(env: SlackEnv) -> None:
    """The follow-up is saved, then posting the confirmation fails at once: Slack must still get the
    empty acknowledgement that closes the modal, not a 404 three seconds later."""
    await env.post(slash_command("log acme rockets", user_id=MAYA, response_url=env.fake.response_url()))
    view = (await env.fake.wait_for("views.open"))[0].body["view"]
    env.fake.fail_next("chat.postEphemeral", 200, error="channel_not_found")
    env.fake.fail_next("chat.postMessage", 200, times=2, error="channel_not_found")
    env.expected_crashes = 1
    state = modal_state(view, {"kind": "call", "summary": "Saved anyway"})
    answer = await env.post(view_submission(view, state, user_id=MAYA))
    assert (answer.status, answer.text) == (200, "")


async def test_shutdown_waits_for_acknowledged_work(env: SlackEnv) -> None:
    """The web server's cleanup drains the adapter: an answer promised by an acknowledgement is not cut
    off by a deploy's SIGTERM."""
    app = build_web_app(slack=env.adapter)
    assert any(hook.__qualname__.startswith("drain_slack") for hook in app.on_cleanup)
    release = asyncio.Event()

    async def still_answering() -> None:
        await release.wait()

    work = asyncio.ensure_future(env.adapter.in_flight.track(still_answering)())
    try:
        await asyncio.sleep(0)  # let the work start
        cleanup = asyncio.ensure_future(web.drain_slack(env.adapter)(app))
        done, _ = await asyncio.wait({cleanup}, timeout=0.05)
        assert not done  # still waiting for the work
    finally:
        release.set()
    await cleanup
    assert work.done()


async def test_shutdown_gives_up_on_stuck_work_and_says_so(
    env: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()

    async def stuck() -> None:
        await release.wait()

    work = asyncio.ensure_future(env.adapter.in_flight.track(stuck)())
    try:
        await asyncio.sleep(0)
        monkeypatch.setattr(web, "DRAIN_SECONDS", 0.01)
        app = build_web_app(slack=env.adapter)
        await web.drain_slack(env.adapter)(app)
        assert env.logged("slack_drain_timeout") == [
            {"event": "slack_drain_timeout", "seconds": 0.01, "log_level": "warning"}
        ]
    finally:
        release.set()
    await work
