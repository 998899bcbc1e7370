"""Block Kit checks for everything the bot sends to Slack.

slack_sdk's models raise on per-object limits when a block or view is turned back into a dict
(``Block.parse(b).to_dict()``, ``View(**v).to_dict()``). Slack enforces more than the models do, so the
checks here add the message-level limits: 50 blocks per message and 100 per view, 2,000 characters per
section field, action_ids unique within an actions block, and button values of at most 2,000 characters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
FIELD_TEXT = 2000
BUTTON_VALUE = 2000
MESSAGE_TEXT = 40000

# Web API methods whose arguments carry a message (text and blocks) or a view.
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update", "response_url"})
VIEW_METHODS = frozenset({"views.open", "views.publish", "views.update", "views.push"})


class BlockKitError(AssertionError):
    """A payload Slack would refuse (or cut)."""


def check_block(block: Mapping[str, Any], *, where: str = "block") -> None:
    """One block: the SDK's own checks plus the ones it leaves out."""
    parsed = Block.parse(dict(block))
    if parsed is None:
        raise BlockKitError(f"{where}: unknown block type {block.get('type')!r}")
    try:
        parsed.to_dict()
    except Exception as error:  # the SDK raises SlackObjectFormationError (and friends) on a broken limit
        raise BlockKitError(f"{where}: {error}") from error
    for i, field in enumerate(block.get("fields") or []):
        text = str(field.get("text", ""))
        if len(text) > FIELD_TEXT:
            raise BlockKitError(f"{where}: field {i} has {len(text)} characters (at most {FIELD_TEXT})")
    if block.get("type") == "actions":
        ids = [e.get("action_id") for e in block.get("elements") or [] if e.get("action_id")]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise BlockKitError(f"{where}: action_id used more than once in one actions block: {repeated}")
    for element in _elements(block):
        if element.get("type") == "button" and len(str(element.get("value", ""))) > BUTTON_VALUE:
            raise BlockKitError(f"{where}: button value longer than {BUTTON_VALUE} characters")


def _elements(block: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from block.get("elements") or []
    for key in ("accessory", "element"):
        if isinstance(block.get(key), Mapping):
            yield block[key]


def check_blocks(blocks: list[Mapping[str, Any]], *, limit: int, where: str) -> None:
    if len(blocks) > limit:
        raise BlockKitError(f"{where}: {len(blocks)} blocks (at most {limit})")
    for i, block in enumerate(blocks):
        check_block(block, where=f"{where} block {i} ({block.get('type')})")


def check_message(message: Mapping[str, Any], *, where: str = "message") -> None:
    """A message as sent to chat.postMessage, chat.postEphemeral, chat.update or a response_url."""
    blocks = message.get("blocks")
    if isinstance(blocks, list):
        check_blocks(blocks, limit=MESSAGE_BLOCKS, where=where)
    text = message.get("text")
    if text is not None and len(str(text)) > MESSAGE_TEXT:
        raise BlockKitError(f"{where}: text has {len(str(text))} characters (at most {MESSAGE_TEXT})")
    if not blocks and not text:
        raise BlockKitError(f"{where}: neither text nor blocks")


def check_view(view: Mapping[str, Any], *, where: str = "view") -> None:
    """A modal or App Home view: the SDK's View model plus the per-block checks."""
    try:
        View(**dict(view)).to_dict()
    except Exception as error:
        raise BlockKitError(f"{where}: {error}") from error
    check_blocks(list(view.get("blocks") or []), limit=VIEW_BLOCKS, where=where)


def check_api_call(method: str, body: Mapping[str, Any]) -> None:
    """Whatever Block Kit a recorded Web API call (or response_url post) carries."""
    if method in MESSAGE_METHODS:
        check_message(body, where=method)
    elif method == "chat.unfurl":
        check_unfurls(body)
    elif method in VIEW_METHODS:
        view = body.get("view")
        if not isinstance(view, Mapping):
            raise BlockKitError(f"{method}: no view")
        check_view(view, where=method)


def check_unfurls(body: Mapping[str, Any]) -> None:
    """``chat.unfurl``: ``unfurls`` maps each URL to ``{"blocks": [...]}`` (rich text is refused there)."""
    unfurls = body.get("unfurls")
    if isinstance(unfurls, str):
        unfurls = json.loads(unfurls)
    if not isinstance(unfurls, Mapping) or not unfurls:
        raise BlockKitError("chat.unfurl: no unfurls map")
    for url, unfurl in unfurls.items():
        blocks = unfurl.get("blocks") if isinstance(unfurl, Mapping) else None
        if not isinstance(blocks, list) or not blocks:
            raise BlockKitError(f"chat.unfurl {url}: no blocks")
        if any(block.get("type") == "rich_text" for block in blocks):
            raise BlockKitError(f"chat.unfurl {url}: rich_text blocks are refused in unfurls")
        check_blocks(blocks, limit=MESSAGE_BLOCKS, where=f"chat.unfurl {url}")


def check_ack(body: Mapping[str, Any]) -> None:
    """An acknowledgement body: a view in response_action update/push is checked like any view."""
    if body.get("response_action") in ("update", "push"):
        view = body.get("view")
        if not isinstance(view, Mapping):
            raise BlockKitError("ack: response_action without a view")
        check_view(view, where=f"ack {body['response_action']}")
    elif body.get("response_action") == "errors" and not isinstance(body.get("errors"), Mapping):
        raise BlockKitError("ack: response_action errors without errors")
