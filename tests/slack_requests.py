"""The one helper that builds signed Slack requests for the tests (slash commands, interactivity,
events), the way Slack signs them: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}").

Every builder takes ``timestamp=`` and ``secret=`` (passed on to :func:`sign`) to build stale or forged
requests. Shapes follow the samples in the shared protocol notes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
TEAM_ID = "T0001ACME"
CHANNEL_ID = "C0123CSM"
BOT_USER_ID = "UBOT0001"
FORM = "application/x-www-form-urlencoded"


def sign(body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


@dataclass(frozen=True)
class SignedRequest:
    body: str
    headers: dict[str, str]


def raw(body: str, *, content_type: str = FORM, **sign_kwargs: Any) -> SignedRequest:
    """Any body, correctly signed (for malformed payloads)."""
    return SignedRequest(body, {"Content-Type": content_type, **sign(body, **sign_kwargs)})


def slash_command(
    text: str,
    *,
    user_id: str,
    response_url: str,
    team_id: str = TEAM_ID,
    channel_id: str = CHANNEL_ID,
    trigger_id: str = "trigger.1",
    **sign_kwargs: Any,
) -> SignedRequest:
    body = urlencode(
        {
            "token": "unused",
            "team_id": team_id,
            "team_domain": "acme-cs",
            "channel_id": channel_id,
            "channel_name": "cs",
            "user_id": user_id,
            "user_name": "someone",
            "command": "/cs",
            "text": text,
            "api_app_id": "A05CSBOT01",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )
    return raw(body, **sign_kwargs)


def interactive(payload: dict[str, Any], **sign_kwargs: Any) -> SignedRequest:
    return raw(urlencode({"payload": json.dumps(payload)}), **sign_kwargs)


def block_action(
    action_id: str,
    value: dict[str, Any] | str,
    *,
    user_id: str,
    response_url: str,
    team_id: str = TEAM_ID,
    channel_id: str = CHANNEL_ID,
    trigger_id: str = "trigger.2",
    container: str = "message",
    **sign_kwargs: Any,
) -> SignedRequest:
    """A button click. ``value`` is the button's value as sent (a string) or a payload to encode;
    ``container`` is "message" (a button in a message) or "view" (the App Home or a modal)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "someone", "team_id": team_id},
        "api_app_id": "A05CSBOT01",
        "team": {"id": team_id, "domain": "acme-cs"},
        "trigger_id": trigger_id,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "value": value if isinstance(value, str) else json.dumps(value),
                "type": "button",
                "action_ts": "1715000123.456789",
            }
        ],
    }
    if container == "message":
        payload.update(
            container={"type": "message", "message_ts": "1715000000.000100", "channel_id": channel_id},
            channel={"id": channel_id, "name": "cs"},
            response_url=response_url,
            message={"type": "message", "ts": "1715000000.000100", "text": "x", "blocks": []},
        )
    else:
        payload.update(container={"type": "view", "view_id": "V123"}, view={"id": "V123", "type": "home"})
    return interactive(payload, **sign_kwargs)


def click(button: dict[str, Any], *, user_id: str, response_url: str, **kwargs: Any) -> SignedRequest:
    """Click a button exactly as the bot rendered it (its action_id and value)."""
    return block_action(
        button["action_id"], str(button["value"]), user_id=user_id, response_url=response_url, **kwargs
    )


def view_submission(
    view: dict[str, Any],
    values: dict[str, dict[str, Any]],
    *,
    user_id: str,
    team_id: str = TEAM_ID,
    **sign_kwargs: Any,
) -> SignedRequest:
    """Submit a modal Touchpoint opened (``view`` as sent to views.open) with ``values`` per block id."""
    submitted = {**view, "id": "V123", "team_id": team_id, "state": {"values": values}}
    return interactive(
        {
            "type": "view_submission",
            "team": {"id": team_id, "domain": "acme-cs"},
            "user": {"id": user_id, "username": "someone", "team_id": team_id},
            "api_app_id": "A05CSBOT01",
            "trigger_id": "trigger.3",
            "view": submitted,
            "response_urls": [],
        },
        **sign_kwargs,
    )


def message_shortcut(
    callback_id: str,
    message_text: str,
    *,
    user_id: str,
    response_url: str,
    team_id: str = TEAM_ID,
    channel_id: str = CHANNEL_ID,
    trigger_id: str = "trigger.4",
    **sign_kwargs: Any,
) -> SignedRequest:
    """A message shortcut (``message_action``) used on a message with ``message_text``."""
    return interactive(
        {
            "type": "message_action",
            "callback_id": callback_id,
            "token": "unused",
            "action_ts": "1715000400.000500",
            "team": {"id": team_id, "domain": "acme-cs"},
            "user": {"id": user_id, "username": "someone", "team_id": team_id, "name": "someone"},
            "channel": {"id": channel_id, "name": "cs"},
            "is_enterprise_install": False,
            "enterprise": None,
            "message": {
                "type": "message",
                "user": "UCUSTOMER1",
                "ts": "1715000300.000200",
                "text": message_text,
            },
            "response_url": response_url,
            "trigger_id": trigger_id,
        },
        **sign_kwargs,
    )


def event(
    inner: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    retry: int | None = None,
    **sign_kwargs: Any,
) -> SignedRequest:
    """An Events API delivery; each gets a new event_id unless one is given (to send a retry)."""
    event_id = event_id or f"Ev{uuid.uuid4().hex[:12].upper()}"
    body = json.dumps(
        {
            "token": "unused",
            "team_id": team_id,
            "api_app_id": "A05CSBOT01",
            "event": inner,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True}],
        }
    )
    request = raw(body, content_type="application/json", **sign_kwargs)
    if retry is not None:
        request.headers["X-Slack-Retry-Num"] = str(retry)
        request.headers["X-Slack-Retry-Reason"] = "http_timeout"
    return request


def app_mention(
    text: str, *, user_id: str, channel_id: str = CHANNEL_ID, ts: str = "1715000300.000200", **kw: Any
) -> SignedRequest:
    """``@Touchpoint text`` in a channel."""
    inner = {
        "type": "app_mention",
        "user": user_id,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel_id,
        "event_ts": ts,
    }
    return event(inner, **kw)


def direct_message(
    text: str, *, user_id: str, channel_id: str = "D0123DM", ts: str = "1715000500.000300", **kw: Any
) -> SignedRequest:
    """A message to the bot in its Messages tab (a DM)."""
    inner = {
        "type": "message",
        "channel_type": "im",
        "user": user_id,
        "text": text,
        "ts": ts,
        "channel": channel_id,
        "event_ts": ts,
    }
    return event(inner, **kw)


def home_opened(*, user_id: str, tab: str = "home", **kw: Any) -> SignedRequest:
    inner = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D0123DM",
        "tab": tab,
        "event_ts": "1715000600.000100",
    }
    return event(inner, **kw)


def url_verification(challenge: str, **sign_kwargs: Any) -> SignedRequest:
    body = json.dumps({"token": "unused", "challenge": challenge, "type": "url_verification"})
    return raw(body, content_type="application/json", **sign_kwargs)


def modal_state(view: dict[str, Any], values: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """``state.values`` of ``view`` as Slack sends it on submission, with ``values`` typed or chosen
    by block id (None or a missing id: left empty)."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block["element"]
        value = values.get(block["block_id"])
        kind = element["type"]
        entry: dict[str, Any] = {"type": kind}
        if kind == "static_select":
            chosen = next((o for o in element.get("options", []) if o["value"] == value), None)
            entry["selected_option"] = chosen
        elif kind == "datepicker":
            entry["selected_date"] = value
        elif kind == "conversations_select":
            entry["selected_conversation"] = value
        else:
            entry["value"] = value
        state[block["block_id"]] = {element["action_id"]: entry}
    return state
