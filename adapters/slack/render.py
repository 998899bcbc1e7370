"""Neutral replies and forms as Block Kit: messages, modals and the App Home view.

Every limit in :mod:`adapters.slack.limits` is enforced here: long text is cut with "...", long lists
of blocks end with a note, so Slack never rejects what Touchpoint sends.
"""

from __future__ import annotations

import json
import re
from typing import Any

from adapters.slack import limits
from bot.format import truncate
from bot.types import (
    Actions,
    Block,
    Button,
    Context,
    Divider,
    Fields,
    Form,
    FormInput,
    Header,
    Image,
    InputKind,
    Reply,
    Text,
)

FORM_CALLBACK_ID = "touchpoint_form"
SLACK_FILE_SCHEME = "slack-file://"
VALUE_ACTION_ID = "value"
_BOLD = re.compile(r"\*\*(.+?)\*\*")
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
# A channel link (``<#C123>``) the core wrote on purpose survives the escaping: Slack shows the channel's
# name. Only the bare form: no label, nothing that could notify anyone.
_CHANNEL_LINK = re.compile(r"&lt;#([CG][A-Z0-9]{2,})&gt;")
TRUNCATED_NOTE = "_The list was cut to fit Slack; ask for fewer items or use More._"


def mrkdwn(text: str) -> str:
    """Neutral markup as Slack mrkdwn: escape the three control characters, **bold** -> *bold*."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CHANNEL_LINK.sub(r"<#\1>", _BOLD.sub(r"*\1*", escaped))


def plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def mrkdwn_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(mrkdwn(text), limit) or " "}


def action_id(action: str, index: int) -> str:
    """Unique within a message: the action name plus the button's position (stripped on the way in)."""
    return truncate(f"{action}#{index}", limits.ACTION_ID)


def action_name(action_id_value: str) -> str:
    return action_id_value.split("#", 1)[0]


def button_element(button: Button, index: int) -> dict[str, Any]:
    value = json.dumps(button.payload, separators=(",", ":"))
    if len(value) > limits.BUTTON_VALUE:
        raise ValueError(f"button payload for {button.action!r} is {len(value)} characters; ids only, please")
    element: dict[str, Any] = {
        "type": "button",
        "text": plain_text(button.label, limits.BUTTON_TEXT),
        "action_id": action_id(button.action, index),
        "value": value,
    }
    if button.style:
        element["style"] = button.style
    return element


def render_block(block: Block, counter: list[int]) -> list[dict[str, Any]]:
    if isinstance(block, Header):
        return [{"type": "header", "text": plain_text(block.text, limits.HEADER_TEXT)}]
    if isinstance(block, Text):
        return [{"type": "section", "text": mrkdwn_text(block.text, limits.SECTION_TEXT)}]
    if isinstance(block, Fields):
        fields = [mrkdwn_text(f"**{label}**\n{value}", limits.FIELD_TEXT) for label, value in block.items]
        return [
            {"type": "section", "fields": fields[i : i + limits.SECTION_FIELDS]}
            for i in range(0, len(fields), limits.SECTION_FIELDS)
        ]
    if isinstance(block, Context):
        elements = [mrkdwn_text(line, limits.SECTION_TEXT) for line in block.lines][: limits.CONTEXT_ELEMENTS]
        return [{"type": "context", "elements": elements}] if elements else []
    if isinstance(block, Image):
        image: dict[str, Any] = {"type": "image", "alt_text": truncate(block.alt, limits.IMAGE_ALT)}
        if block.url.startswith(SLACK_FILE_SCHEME):  # a file this app uploaded (a digest's chart)
            image["slack_file"] = {"id": block.url.removeprefix(SLACK_FILE_SCHEME)}
        else:
            image["image_url"] = block.url
        if block.title:
            image["title"] = plain_text(block.title, limits.HEADER_TEXT)
        return [image]
    if isinstance(block, Divider):
        return [{"type": "divider"}]
    if isinstance(block, Actions):
        elements = []
        for button in block.buttons[: limits.ACTIONS_ELEMENTS]:
            counter[0] += 1
            elements.append(button_element(button, counter[0]))
        return [{"type": "actions", "elements": elements}] if elements else []
    raise TypeError(f"unknown block {block!r}")


def render_blocks(
    blocks: tuple[Block, ...], *, max_blocks: int = limits.MESSAGE_BLOCKS
) -> list[dict[str, Any]]:
    counter = [0]
    rendered: list[dict[str, Any]] = []
    for block in blocks:
        rendered.extend(render_block(block, counter))
    if len(rendered) > max_blocks:
        # Keep the first blocks and any final actions row (More buttons live there), and say it was cut.
        tail = [rendered[-1]] if rendered[-1]["type"] == "actions" else []
        keep = max_blocks - 1 - len(tail)
        rendered = [
            *rendered[:keep],
            {"type": "context", "elements": [mrkdwn_text(TRUNCATED_NOTE, 300)]},
            *tail,
        ]
    return rendered


def render_message(reply: Reply) -> dict[str, Any]:
    """Arguments for chat.postMessage / respond(): fallback text plus blocks."""
    return {
        "text": truncate(reply.summary, limits.MESSAGE_TEXT),
        "blocks": _blocks_of(reply, limits.MESSAGE_BLOCKS),
    }


def render_home(reply: Reply) -> dict[str, Any]:
    return {"type": "home", "blocks": _blocks_of(reply, limits.VIEW_BLOCKS)}


def _blocks_of(reply: Reply, max_blocks: int) -> list[dict[str, Any]]:
    """The reply's blocks; a reply with none shows its summary (a view must have at least one block)."""
    return render_blocks(reply.blocks, max_blocks=max_blocks) or render_blocks((Text(reply.summary),))


# ------------------------------------------------------------------------------------------------ forms


def _input_element(spec: FormInput) -> dict[str, Any]:
    if spec.kind in (InputKind.TEXT, InputKind.MULTILINE):
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": VALUE_ACTION_ID,
            "multiline": spec.kind is InputKind.MULTILINE,
            "max_length": min(spec.max_length, 3000),
        }
        if spec.initial:
            element["initial_value"] = spec.initial[: element["max_length"]]
        if spec.placeholder:
            element["placeholder"] = plain_text(spec.placeholder, 150)
        return element
    if spec.kind is InputKind.CONVERSATION and not spec.options:
        return _conversation_element(spec)
    if spec.kind in (InputKind.SELECT, InputKind.CONVERSATION):
        options = [
            {"text": plain_text(o.label, limits.OPTION_TEXT), "value": truncate(o.value, limits.OPTION_VALUE)}
            for o in spec.options[: limits.SELECT_OPTIONS]
        ]
        element = {"type": "static_select", "action_id": VALUE_ACTION_ID, "options": options}
        initial = next((o for o in options if o["value"] == spec.initial), None)
        if initial is not None:
            element["initial_option"] = initial
        return element
    element = {"type": "datepicker", "action_id": VALUE_ACTION_ID}
    if spec.initial and re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec.initial):
        element["initial_date"] = spec.initial
    return element


def _conversation_element(spec: FormInput) -> dict[str, Any]:
    """Slack's channel picker, offering public and private channels (no direct messages) as Slack
    lists them for the person choosing."""
    element: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": VALUE_ACTION_ID,
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if spec.initial and CHANNEL_ID.fullmatch(spec.initial):
        element["initial_conversation"] = spec.initial
    if spec.placeholder:
        element["placeholder"] = plain_text(spec.placeholder, 150)
    return element


def render_modal(form: Form, *, context: dict[str, Any]) -> dict[str, Any]:
    """A modal for ``form``. ``private_metadata`` carries the submit action, its payload and where to
    answer; it is read back on submission and checked again there (it is not trusted)."""
    metadata = json.dumps(
        {"action": form.submit_action, "payload": form.payload, **context}, separators=(",", ":")
    )
    if len(metadata) > limits.PRIVATE_METADATA:
        raise ValueError("form metadata is too large for a Slack modal")
    blocks = [
        {
            "type": "input",
            "block_id": truncate(spec.id, limits.BLOCK_ID),
            "label": plain_text(spec.label, limits.INPUT_LABEL),
            "optional": not spec.required,
            "element": _input_element(spec),
        }
        for spec in form.inputs
    ]
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "title": plain_text(form.title, limits.VIEW_TITLE),
        "submit": plain_text(form.submit_label, limits.VIEW_TITLE),
        "close": plain_text("Cancel", limits.VIEW_TITLE),
        "private_metadata": metadata,
        "blocks": blocks[: limits.VIEW_BLOCKS],
    }


def modal_values(view: dict[str, Any]) -> dict[str, str]:
    """What was typed or chosen in a submitted modal, by input id."""
    values: dict[str, str] = {}
    for block_id, actions in (view.get("state", {}).get("values") or {}).items():
        state: dict[str, Any] = actions.get(VALUE_ACTION_ID) or next(iter(actions.values()), {})
        kind = state.get("type")
        if kind == "static_select":
            values[block_id] = ((state.get("selected_option") or {}).get("value")) or ""
        elif kind == "datepicker":
            values[block_id] = state.get("selected_date") or ""
        elif kind == "conversations_select":
            values[block_id] = state.get("selected_conversation") or ""
        else:
            values[block_id] = state.get("value") or ""
    return values


def modal_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
