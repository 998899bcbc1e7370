"""The Adaptive Card building blocks that replies, forms and clicked buttons share.

A card is a plain dict (Adaptive Cards 1.5, as Teams draws it). Replies (:mod:`adapters.teams.render`)
and forms (:mod:`adapters.teams.forms`) are made of the same pieces: TextBlocks for neutral text, the
``Action.Execute`` buttons and the card around them. The data a button carries is defined here too,
``{"tp": {"a": action, "p": payload, ...}}``, and :mod:`adapters.teams.card_actions` reads it back;
an ``Action.Submit`` (a dialog's button) carries the same data.
"""

from __future__ import annotations

import json
import re
from typing import Any

from adapters.teams import limits
from bot.format import truncate
from bot.types import Button, JSONScalar, Payload

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
DATA_KEY = "tp"  # Touchpoint's part of an action's data: {"a": action, "p": payload, ...}
ITEM_INPUT = "tp_item"  # id (prefix) of the "which item" choice
RESERVED_KEYS = frozenset({DATA_KEY, "msteams"})
CHOOSE_ITEM = "Choose an item first."
_BACKTICKS = re.compile(r"`([^`\n]+)`")
_MARKUP = re.compile(r"\*\*|`")
_ITALIC = re.compile(r"(?<!\w)_(.+?)_(?!\w)")

Element = dict[str, Any]
Card = dict[str, Any]


# ------------------------------------------------------------------------------------------ text


def card_text(text: str) -> str:
    """Neutral markup for a TextBlock: **bold** and _italic_ are Adaptive Card markdown already;
    `code` has no equivalent in Teams and is shown bold."""
    return _BACKTICKS.sub(r"**\1**", text)


def plain(text: str) -> str:
    """One line without markup, for choice titles and summaries."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return _ITALIC.sub(r"\1", _MARKUP.sub("", first)).strip()


def text_block(text: str, **style: Any) -> Element:
    return {
        "type": "TextBlock",
        "text": truncate(card_text(text), limits.TEXT_CHARS) or " ",
        "wrap": True,
        **style,
    }


def text_blocks(text: str, **style: Any) -> list[Element]:
    """A paragraph as one TextBlock per line, the lines kept together."""
    lines = text.splitlines() or [""]
    blocks = [text_block(line, **style) for line in lines]
    for block in blocks[1:]:
        block["spacing"] = "None"
    return blocks


# --------------------------------------------------------------------------------------- actions


def action_data(action: str, payload: Payload, **extra: JSONScalar) -> dict[str, Any]:
    data: dict[str, Any] = {DATA_KEY: {"a": action, "p": dict(payload), **extra}}
    if len(json.dumps(data, separators=(",", ":"))) > limits.ACTION_DATA_CHARS:
        raise ValueError(f"button payload for {action!r} is too large; ids only, please")
    return data


def execute_action(
    button: Button, *, payload: Payload | None = None, inputs: str = "none", **extra: JSONScalar
) -> Element:
    element: Element = {
        "type": "Action.Execute",
        "title": truncate(button.label, limits.BUTTON_TITLE_CHARS),
        "verb": button.action,
        "data": action_data(button.action, button.payload if payload is None else payload, **extra),
        "associatedInputs": inputs,
    }
    if button.style == "primary":
        element["style"] = "positive"
    elif button.style == "danger":
        element["style"] = "destructive"
    return element


def submit_action(
    button: Button, *, payload: Payload | None = None, inputs: str = "auto", **extra: JSONScalar
) -> Element:
    """The same button as an ``Action.Submit``, with the same data: for a card in a dialog (a task
    module), whose submit goes back to the invoke that opened the dialog. An ``Action.Execute`` there
    would start an ``adaptiveCard/action`` invoke instead, and its answer could not close the dialog."""
    element = execute_action(button, payload=payload, inputs=inputs, **extra)
    element["type"] = "Action.Submit"
    del element["verb"]
    return element


# ------------------------------------------------------------------------------------------ card


def adaptive_card(body: list[Element], *, fallback: str | None = None) -> Card:
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": limits.CARD_VERSION,
        "body": body or [text_block(" ")],
        "msteams": {"width": "Full"},
    }
    if fallback:
        card["fallbackText"] = truncate(fallback, limits.SUMMARY_CHARS)
    return card
