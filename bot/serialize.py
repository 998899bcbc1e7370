"""Replies as JSON and back, so a reply can wait in the outbox (a database row) until it is sent."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.types import (
    Actions,
    Address,
    Block,
    Button,
    Context,
    Divider,
    Fields,
    Header,
    Image,
    Platform,
    Reply,
    Text,
)
from storage.outbox import NewMessage


def button_to_dict(button: Button) -> dict[str, Any]:
    return {
        "label": button.label,
        "action": button.action,
        "payload": dict(button.payload),
        "style": button.style,
    }


def button_from_dict(data: dict[str, Any]) -> Button:
    return Button(
        label=str(data["label"]),
        action=str(data["action"]),
        payload=dict(data.get("payload") or {}),
        style=data.get("style"),
    )


def block_to_dict(block: Block) -> dict[str, Any]:
    if isinstance(block, Header):
        return {"type": "header", "text": block.text}
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, Fields):
        return {"type": "fields", "items": [list(item) for item in block.items]}
    if isinstance(block, Context):
        return {"type": "context", "lines": list(block.lines)}
    if isinstance(block, Image):
        return {"type": "image", "url": block.url, "alt": block.alt, "title": block.title}
    if isinstance(block, Divider):
        return {"type": "divider"}
    if isinstance(block, Actions):
        return {"type": "actions", "buttons": [button_to_dict(b) for b in block.buttons]}
    raise TypeError(f"unknown block {block!r}")


def block_from_dict(data: dict[str, Any]) -> Block:
    kind = data.get("type")
    if kind == "header":
        return Header(str(data["text"]))
    if kind == "text":
        return Text(str(data["text"]))
    if kind == "fields":
        return Fields(tuple((str(label), str(value)) for label, value in data["items"]))
    if kind == "context":
        return Context(tuple(str(line) for line in data["lines"]))
    if kind == "image":
        return Image(url=str(data["url"]), alt=str(data["alt"]), title=data.get("title"))
    if kind == "divider":
        return Divider()
    if kind == "actions":
        return Actions(tuple(button_from_dict(b) for b in data["buttons"]))
    raise ValueError(f"unknown block type {kind!r}")


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    return {
        "summary": reply.summary,
        "blocks": [block_to_dict(b) for b in reply.blocks],
        "shared": reply.shared,
    }


ATTACHMENT_SCHEME = "attachment://"


def reply_from_dict(data: dict[str, Any]) -> Reply:
    """The reply; images stored base64 under ``images`` (by name) are put back on their Image blocks."""
    images = {name: base64.b64decode(encoded) for name, encoded in (data.get("images") or {}).items()}
    blocks = []
    for block in (block_from_dict(b) for b in data.get("blocks", [])):
        if isinstance(block, Image) and block.url.startswith(ATTACHMENT_SCHEME):
            block = replace(block, data=images.get(block.url.removeprefix(ATTACHMENT_SCHEME)))
        blocks.append(block)
    return Reply(summary=str(data["summary"]), blocks=tuple(blocks), shared=bool(data.get("shared", False)))


def address_to_dict(address: Address) -> dict[str, Any]:
    return {
        "platform": address.platform.value,
        "target": address.target,
        "thread": address.thread,
        "user": address.user,
        "private": address.private,
    }


def address_from_dict(data: dict[str, Any]) -> Address:
    return Address(
        platform=Platform(data["platform"]),
        target=str(data["target"]),
        thread=data.get("thread"),
        user=data.get("user"),
        private=bool(data.get("private", True)),
    )


def outbox_message(
    key: str,
    purpose: str,
    address: Address,
    reply: Reply | dict[str, Any],
    *,
    not_before: datetime | None = None,
) -> NewMessage:
    """The outbox row for one message: ``reply`` to ``address``, sent once per idempotency ``key``.
    ``reply`` may already be a payload dict (a digest with its chart images, a card built once and sent
    to several people)."""
    return NewMessage(
        idempotency_key=key,
        purpose=purpose,
        platform=address.platform.value,
        address=address_to_dict(address),
        payload=reply if isinstance(reply, dict) else reply_to_dict(reply),
        not_before=not_before,
    )
