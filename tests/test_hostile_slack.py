"""Hostile requests to the Slack endpoint: refused with a 4xx before anything parses them deeply, and
no traceback in the log.

One table: how the request is spoiled, and the status it gets. Forged or unsigned requests with a
timestamp that is not a number (or none) get 401; bodies whose JSON nests deeper than Slack's payloads
ever do get 400, whether they come as an Events API body or as an interactivity ``payload=`` field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.slack_env import MAYA, SlackEnv, build_demo_file, demo_copy, slack_env
from tests.slack_requests import FORM, SignedRequest, app_mention, raw, slash_command

DEEP = 100_000


def _command() -> SignedRequest:
    return slash_command("my", user_id=MAYA, response_url="https://hooks.slack.test/unused")


def _with_headers(request: SignedRequest, **changes: str | None) -> SignedRequest:
    headers = dict(request.headers)
    for name, value in changes.items():
        header = name.replace("_", "-")
        if value is None:
            headers.pop(header, None)
        else:
            headers[header] = value
    return SignedRequest(request.body, headers)


def _nested_event() -> SignedRequest:
    event = json.loads(app_mention("my", user_id=MAYA).body)
    body = json.dumps(event)[:-1] + ', "deep": ' + "[" * DEEP + "]" * DEEP + "}"
    return raw(body, content_type="application/json")


def _nested_payload() -> SignedRequest:
    return raw(
        urlencode({"payload": '{"type": "block_actions", "x": ' + "[" * DEEP + "]" * DEEP + "}"}),
        content_type=FORM,
    )


def _nested_unsigned() -> SignedRequest:
    return _with_headers(
        raw("{" + '"a":{' * DEEP + "}" * (DEEP + 1), content_type="application/json", secret="forged")
    )


def _timestamp(value: str | None) -> Callable[[], SignedRequest]:
    return lambda: _with_headers(_command(), X_Slack_Request_Timestamp=value)


def _forged() -> SignedRequest:
    return slash_command("my", user_id=MAYA, response_url="https://hooks.slack.test/unused", secret="bad")


# (id, the request, the status)
HOSTILE: list[tuple[str, Callable[[], SignedRequest], int]] = [
    ("timestamp-not-a-number", _timestamp("yesterday"), 401),
    ("timestamp-empty", _timestamp(""), 401),
    ("timestamp-missing", _timestamp(None), 401),
    ("timestamp-fraction", _timestamp("1715000000.5"), 401),
    ("timestamp-400-digits", _timestamp("9" * 400), 401),
    ("timestamp-arabic-digits", _timestamp("١٧١٥٠٠٠٠٠٠"), 401),
    ("signature-missing", lambda: _with_headers(_command(), X_Slack_Signature=None), 401),
    ("signature-forged", _forged, 401),
    ("nested-event-json", _nested_event, 400),
    ("nested-interactivity-payload", _nested_payload, 400),
    ("nested-and-unsigned", _nested_unsigned, 400),
]


@pytest.fixture(scope="module")
def demo_file(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(sqlite_template, tmp_path_factory.mktemp("slack-hostile"))


@pytest.fixture
async def env(demo_file: Path, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path) as e:
        yield e


@pytest.mark.parametrize(("build", "status"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
async def test_a_hostile_request_is_refused_without_a_traceback(
    env: SlackEnv, caplog: pytest.LogCaptureFixture, build: Callable[[], SignedRequest], status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await env.post(build())
    assert answer.status == status, answer.text
    await env.settle()
    assert [c.method for c in env.fake.calls if c.method != "auth.test"] == []
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not [e for e in env.logs if e.get("exc_info") or e.get("log_level") in ("error", "critical")]
