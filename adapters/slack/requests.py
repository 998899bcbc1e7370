"""Slack payloads as Requests: pure conversions of what Bolt hands the listeners of the Slack app.

One function per payload: a slash command, a ``block_actions`` click, a ``view_submission``, the message
shortcuts, a mention or DM, App Home opening. Each returns the :class:`bot.types.Request` for the core,
with the :class:`bot.types.Address` its answer goes to. Nothing here does I/O: the listener looks the
actor up (Slack and the database) and passes it in, so the rules of what a payload means stay readable
and testable on their own.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.render import action_name, modal_values
from bot import actions
from bot.core.grammar import parse
from bot.types import Actor, Address, Payload, Platform, Request, RequestKind
from storage import text as texts


def user_id(body: dict[str, Any]) -> str:
    """The Slack user of an interaction payload (``user.id``)."""
    return str((body.get("user") or {}).get("id", ""))


def command_request(body: dict[str, Any], actor: Actor) -> Request:
    """``/cs ...``: answered privately unless the command asks to share."""
    parsed = parse(texts.sanitize(str(body.get("text", ""))))
    address = Address(
        platform=Platform.SLACK,
        target=str(body.get("channel_id", "")),
        user=actor.platform_user_id,
        private=not parsed.share,
    )
    return Request(
        kind=RequestKind.COMMAND,
        actor=actor,
        address=address,
        command=parsed.command,
        args=parsed.args,
        text=parsed.text,
        share=parsed.share,
    )


def clicked(body: dict[str, Any]) -> tuple[str, Payload]:
    """The action and payload of the first button in a ``block_actions`` payload."""
    action = (body.get("actions") or [{}])[0]
    try:
        payload = json.loads(action.get("value") or "{}")
    except json.JSONDecodeError:
        payload = {}
    return action_name(str(action.get("action_id", ""))), payload if isinstance(payload, dict) else {}


def action_request(body: dict[str, Any], action: str, payload: Payload, actor: Actor) -> Request:
    """A button click (see :func:`clicked`), in the channel of the message or modal it was in."""
    container = body.get("container") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    address = Address(platform=Platform.SLACK, target=channel, user=actor.platform_user_id)
    return Request(kind=RequestKind.ACTION, actor=actor, address=address, action=action, payload=payload)


def answers_in_message(body: dict[str, Any]) -> bool:
    """Whether a click came from a message with a response_url (so its answer may replace it)."""
    container = body.get("container") or {}
    return container.get("type") == "message" and bool(body.get("response_url"))


def submit_request(view: dict[str, Any], metadata: dict[str, Any], actor: Actor) -> Request:
    """A submitted modal: the action and payload its metadata carries, and the values typed."""
    address = Address(
        platform=Platform.SLACK,
        target=str(metadata.get("channel") or ""),
        user=actor.platform_user_id,
    )
    payload = metadata.get("payload")
    return Request(
        kind=RequestKind.SUBMIT,
        actor=actor,
        address=address,
        action=str(metadata.get("action") or ""),
        payload=payload if isinstance(payload, dict) else {},
        values={name: _typed(value) for name, value in modal_values(view).items()},
    )


def _typed(value: str) -> str:
    """A value typed in a modal without its control characters. One holding a NUL or a lone surrogate
    is kept as it is, so the form refuses it with a message under the field (``validate_form``)."""
    return value if texts.problem(value) else texts.clean(value, multiline=True)


def metadata_context(address: Address) -> dict[str, Any]:
    """What a modal keeps for its submission (read back by :func:`submit_request`): the channel."""
    return {"channel": address.target} if address.target else {}


def message_link(channel: str, ts: str) -> str | None:
    """A link to a message (Slack sends it on to the workspace's own address)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}" if channel and ts else None


def log_shortcut_request(body: dict[str, Any], actor: Actor) -> Request:
    """ "Log to account" on a message: the follow-up form, with the message as its text and a link
    back to it."""
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    address = Address(platform=Platform.SLACK, target=channel, user=actor.platform_user_id)
    text = texts.sanitize(str(message.get("text") or ""), multiline=True)[:2900]
    payload: dict[str, Any] = {"summary": text}
    link = message_link(channel, str(message.get("ts") or ""))
    if link:
        payload["source_link"] = link
    return Request(
        kind=RequestKind.ACTION,
        actor=actor,
        address=address,
        action=actions.FOLLOWUP_OPEN_FORM,
        payload=payload,
    )


def feedback_shortcut_request(body: dict[str, Any], actor: Actor) -> Request:
    """ "Send as feedback" on a message: the feedback form, with the message and a link back to it."""
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    address = Address(platform=Platform.SLACK, target=channel, user=actor.platform_user_id)
    link = message_link(channel, str(message.get("ts") or ""))
    return Request(
        kind=RequestKind.ACTION,
        actor=actor,
        address=address,
        action=actions.FEEDBACK_OPEN_FORM,
        payload={
            "text": texts.sanitize(str(message.get("text") or ""), multiline=True)[:2900],
            "source_link": link,
            "source": "shortcut",
        },
    )


def message_request(event: dict[str, Any], actor: Actor, *, thread: str) -> Request:
    """A mention or DM as a command, answered where it was asked (in ``thread`` when given). In a DM
    (``channel_type`` im) a question needs no command word."""
    parsed = parse(texts.sanitize(str(event.get("text", ""))))
    address = Address(
        platform=Platform.SLACK,
        target=str(event.get("channel", "")),
        thread=thread or None,
        user=actor.platform_user_id,
        private=False,
    )
    return Request(
        kind=RequestKind.COMMAND,
        actor=actor,
        address=address,
        command=parsed.command,
        args=parsed.args,
        text=parsed.text,
        share=True,
        conversational=event.get("channel_type") == "im",
    )


def home_request(user: str, actor: Actor) -> Request:
    """App Home opened: the person's ``home`` overview."""
    address = Address(platform=Platform.SLACK, target=user, user=user)
    return Request(kind=RequestKind.COMMAND, actor=actor, address=address, command="home")
