"""Neutral replies and forms as Adaptive Cards 1.5, and card actions back into requests.

Elements: Header and Text become TextBlocks (one per line: hosts disagree on what a single newline
means), Fields a FactSet, Context small subtle text, Image an Image, Divider a separator on the next
element, Actions an ActionSet. Buttons are ``Action.Execute`` (answered in place through the
``adaptiveCard/action`` invoke); the adapter accepts ``Action.Submit`` data of the same shape too.

**Six actions per card.** Teams renders at most six actions in a card (nested ones count), while a
core list such as ``followups`` has Done / Snooze 1 day / Snooze 1 week on each of up to ten items
(thirty buttons). When a reply has more than six buttons, runs of items that carry the *same* buttons
(same labels and actions, payloads that differ only by the item's ids) are drawn as one list: the
items numbered in a ColumnSet, one required ``Input.ChoiceSet`` "Which one?", and the buttons once.
Each button's data holds the part of the payload common to all items (``{"days": 7}``); the chosen
choice's value holds the item's part (``{"followup_id": 12}``); :func:`read_action` merges the two.
Whatever still does not fit (a reply with two such lists, or many unrelated buttons) is split over
several cards in one message, each with six actions or fewer. Messages are kept under 80 KB: when a
reply would be larger, its tail is dropped (the final row of buttons kept) and a note says so.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from adapters.teams import limits
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
    JSONScalar,
    Payload,
    Reply,
    Text,
)

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
DATA_KEY = "tp"  # Touchpoint's part of an action's data: {"a": action, "p": payload, ...}
ITEM_INPUT = "tp_item"  # id (prefix) of the "which item" choice
RESERVED_KEYS = frozenset({DATA_KEY, "msteams"})
TRUNCATED_NOTE = "_The list was cut to fit Teams; ask for fewer items or use More._"
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


# ----------------------------------------------------------------------------------- item lists


@dataclass(frozen=True, slots=True)
class ItemList:
    """Items that share their buttons: drawn once with a "which one?" choice (see module docstring)."""

    texts: tuple[str, ...]
    items: tuple[Payload, ...]  # the item-specific part of each item's payloads
    buttons: tuple[Button, ...]  # the shared buttons, each with the common part of its payload


def _signature(actions: Actions) -> tuple[tuple[str, str, str | None], ...]:
    return tuple((b.label, b.action, b.style) for b in actions.buttons)


def _split_payloads(rows: Sequence[tuple[Text, Actions]]) -> ItemList | None:
    """The rows as an ItemList, when every payload is (common part of its column) + (its row's part)."""
    columns = len(rows[0][1].buttons)
    commons: list[Payload] = []
    for column in range(columns):
        payloads = [actions.buttons[column].payload for _, actions in rows]
        first = payloads[0]
        commons.append({k: v for k, v in first.items() if all(k in p and p[k] == v for p in payloads)})
    items: list[Payload] = []
    for _, actions in rows:
        parts = [
            {k: v for k, v in button.payload.items() if k not in commons[i]}
            for i, button in enumerate(actions.buttons)
        ]
        if not parts[0] or any(part != parts[0] for part in parts):
            return None
        items.append(parts[0])
    if len({json.dumps(item, sort_keys=True) for item in items}) != len(items):
        return None
    template = rows[0][1].buttons
    return ItemList(
        texts=tuple(text.text for text, _ in rows),
        items=tuple(items),
        buttons=tuple(
            Button(label=b.label, action=b.action, payload=commons[i], style=b.style)
            for i, b in enumerate(template)
        ),
    )


def group_items(blocks: Sequence[Block]) -> list[Block | ItemList]:
    """Runs of two or more (Text, Actions) pairs with the same buttons become ItemLists."""
    out: list[Block | ItemList] = []
    i = 0
    while i < len(blocks):
        run: list[tuple[Text, Actions]] = []
        j = i
        while j + 1 < len(blocks):
            text, actions = blocks[j], blocks[j + 1]
            if not (isinstance(text, Text) and isinstance(actions, Actions) and actions.buttons):
                break
            if run and _signature(actions) != _signature(run[0][1]):
                break
            run.append((text, actions))
            j += 2
        grouped = _split_payloads(run) if len(run) >= 2 else None
        if grouped is not None:
            out.append(grouped)
            i = j
        else:
            out.append(blocks[i])
            i += 1
    return out


# ------------------------------------------------------------------------------------ rendering


@dataclass
class _Unit:
    """Elements that stay in one card, and how many actions they hold."""

    elements: list[Element]
    actions: int = 0
    picker: bool = False
    only_actions: bool = False


@dataclass
class _Renderer:
    pickers: int = 0
    separator: bool = False  # a Divider puts a separator line above the next element
    units: list[_Unit] = field(default_factory=list)

    def add(self, unit: _Unit) -> None:
        if not unit.elements:
            return
        if self.separator:
            unit.elements[0]["separator"] = True
            self.separator = False
        self.units.append(unit)

    def block(self, block: Block | ItemList) -> None:
        if isinstance(block, Header):
            self.add(_Unit([text_block(block.text, size="Large", weight="Bolder", style="heading")]))
        elif isinstance(block, Text):
            for element in text_blocks(block.text):
                self.add(_Unit([element]))
        elif isinstance(block, Fields):
            facts = [
                {
                    "title": truncate(label, limits.FACT_CHARS),
                    "value": truncate(card_text(value), limits.FACT_CHARS),
                }
                for label, value in block.items
            ]
            if facts:
                self.add(_Unit([{"type": "FactSet", "facts": facts}]))
        elif isinstance(block, Context):
            if block.lines:
                self.add(_Unit([text_block("  ·  ".join(block.lines), size="Small", isSubtle=True)]))
        elif isinstance(block, Image):
            elements: list[Element] = []
            if block.title:
                elements.append(text_block(block.title, weight="Bolder"))
            url = image_url(block)
            if url is not None:
                elements.append({"type": "Image", "url": url, "altText": block.alt, "size": "Auto"})
            elif not block.title:
                elements.append(text_block(block.alt, size="Small", isSubtle=True))
            self.add(_Unit(elements))
        elif isinstance(block, Divider):
            self.separator = bool(self.units)
        elif isinstance(block, Actions):
            buttons = list(block.buttons)
            for start in range(0, len(buttons), limits.MAX_ACTIONS):
                actions = [execute_action(b) for b in buttons[start : start + limits.MAX_ACTIONS]]
                self.add(_Unit([{"type": "ActionSet", "actions": actions}], len(actions), only_actions=True))
        elif isinstance(block, ItemList):
            self.add(self.item_list(block))
        else:  # pragma: no cover - the Block union is closed
            raise TypeError(f"unknown block {block!r}")

    def item_list(self, items: ItemList) -> _Unit:
        self.pickers += 1
        input_id = f"{ITEM_INPUT}_{self.pickers}"
        elements: list[Element] = []
        for number, text in enumerate(items.texts, start=1):
            elements.append(
                {
                    "type": "ColumnSet",
                    "spacing": "Small",
                    "columns": [
                        {
                            "type": "Column",
                            "width": "auto",
                            "items": [text_block(f"{number}.", weight="Bolder")],
                        },
                        {"type": "Column", "width": "stretch", "items": text_blocks(text)},
                    ],
                }
            )
        elements.append(
            {
                "type": "Input.ChoiceSet",
                "id": input_id,
                "label": "Which one?",
                "style": "compact",
                "isRequired": True,
                "errorMessage": CHOOSE_ITEM,
                "placeholder": "Choose an item",
                "choices": [
                    {
                        "title": truncate(f"{n}. {plain(text)}", limits.CHOICE_TITLE_CHARS),
                        "value": json.dumps(item, separators=(",", ":"), sort_keys=True),
                    }
                    for n, (text, item) in enumerate(zip(items.texts, items.items, strict=True), start=1)
                ],
            }
        )
        actions = [execute_action(b, inputs="auto", pick=input_id) for b in items.buttons]
        elements.append({"type": "ActionSet", "actions": actions})
        return _Unit(elements, actions=len(actions), picker=True)


def _card(body: list[Element], *, fallback: str | None = None) -> Card:
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


def _pack(units: Iterable[_Unit], fallback: str) -> list[Card]:
    """Units into cards of at most six actions, one item picker per card."""
    cards: list[list[Element]] = []
    current: list[Element] = []
    actions = 0
    picker = False
    for unit in units:
        if current and (actions + unit.actions > limits.MAX_ACTIONS or (unit.picker and picker)):
            cards.append(current)
            current, actions, picker = [], 0, False
        current.extend(unit.elements)
        actions += unit.actions
        picker = picker or unit.picker
    if current or not cards:
        cards.append(current)
    return [_card(body, fallback=fallback if i == 0 else None) for i, body in enumerate(cards)]


def message_size(cards: Sequence[Card], summary: str = "") -> int:
    """Bytes of the attachments (and summary) as they travel in an activity."""
    attachments = [{"contentType": CARD_CONTENT_TYPE, "content": card} for card in cards]
    return len(json.dumps({"summary": summary, "attachments": attachments}, ensure_ascii=False).encode())


def render_reply(reply: Reply, *, max_bytes: int = limits.MAX_MESSAGE_BYTES) -> list[Card]:
    """The cards of one message showing ``reply``; see the module docstring for the six-action rule."""
    blocks: Sequence[Block | ItemList] = reply.blocks or (Text(reply.summary),)
    if len(reply.buttons) > limits.MAX_ACTIONS:
        blocks = group_items(reply.blocks)
    renderer = _Renderer()
    for block in blocks:
        renderer.block(block)
    units = [u for u in renderer.units if u.elements]
    cards = _pack(units, reply.summary)
    if message_size(cards, reply.summary) <= max_bytes:
        return cards
    # Too large: keep as many leading units as fit, then the note, then a final row of buttons (More).
    tail = [units[-1]] if units and units[-1].only_actions else []
    body = units[: len(units) - len(tail)]
    note = _Unit([text_block(TRUNCATED_NOTE, size="Small", isSubtle=True)])
    low, high = 0, len(body)
    while low < high:
        middle = (low + high + 1) // 2
        if message_size(_pack([*body[:middle], note, *tail], reply.summary), reply.summary) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return _pack([*body[:low], note, *tail], reply.summary)


def notice_card(text: str) -> Card:
    """A card with just a message (welcomes, refusals)."""
    return _card(text_blocks(text), fallback=plain(text))


# ---------------------------------------------------------------------------------------- forms


def _input(spec: FormInput, error: str | None, today: date | None) -> Element:
    if spec.id in RESERVED_KEYS or spec.id.startswith(ITEM_INPUT):
        raise ValueError(f"form input id {spec.id!r} is reserved")
    element: Element = {
        "id": spec.id,
        "label": spec.label,
        "isRequired": spec.required,
        "errorMessage": error or f"{spec.label} is required.",
    }
    # Adaptive Cards have no channel picker: a conversation is a choice among the given options, or typed.
    conversation_text = spec.kind is InputKind.CONVERSATION and not spec.options
    if spec.kind in (InputKind.TEXT, InputKind.MULTILINE) or conversation_text:
        element.update(type="Input.Text", maxLength=spec.max_length)
        if spec.kind is InputKind.MULTILINE:
            element["isMultiline"] = True
        if spec.placeholder:
            element["placeholder"] = spec.placeholder
        if spec.initial:
            element["value"] = spec.initial[: spec.max_length]
    elif spec.kind in (InputKind.SELECT, InputKind.CONVERSATION):
        element.update(
            type="Input.ChoiceSet",
            style="compact",
            choices=[
                {"title": truncate(o.label, limits.CHOICE_TITLE_CHARS), "value": o.value}
                for o in spec.options
            ],
        )
        if spec.initial and any(o.value == spec.initial for o in spec.options):
            element["value"] = spec.initial
        if spec.placeholder:
            element["placeholder"] = spec.placeholder
    else:
        element["type"] = "Input.Date"
        if spec.initial and re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec.initial):
            element["value"] = spec.initial
        if spec.min_date == "today" and today is not None:
            element["min"] = today.isoformat()
    return element


def render_form(form: Form, *, today: date | None = None) -> Card:
    """The form as a card: labelled inputs, required marks and, after a failed submit, each field's
    problem under it (in the Attention colour) with the values that were typed kept."""
    body: list[Element] = [text_block(form.title, size="Large", weight="Bolder", style="heading")]
    if form.errors:
        body.append(text_block("Please check the fields marked below.", color="Attention"))
    for spec in form.inputs:
        error = form.errors.get(spec.id)
        body.append(_input(spec, error, today))
        if error:
            body.append(text_block(error, color="Attention", size="Small", spacing="None"))
    submit = Button(label=form.submit_label, action=form.submit_action, payload=form.payload, style="primary")
    card = _card(body, fallback=form.title)
    card["actions"] = [execute_action(submit, inputs="auto", form=1)]
    return card


# ------------------------------------------------------------------------------------ inbound


@dataclass(frozen=True, slots=True)
class CardAction:
    """What a clicked button or submitted card asks for. ``problem`` is set when it cannot be used."""

    action: str
    payload: Payload
    values: dict[str, str]
    submit: bool = False
    problem: str | None = None


def _scalars(data: object) -> Payload:
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if v is None or isinstance(v, str | int | float | bool)}


def read_action(data: object, *, verb: str | None = None) -> CardAction:
    """Read the data of an ``Action.Execute`` (``value.action.data``) or ``Action.Submit`` (``value``).

    Touchpoint's own cards put ``{"a": action, "p": payload}`` under ``"tp"``; a flat
    ``{"action": ..., ...}`` (or an Execute's ``verb``) is accepted for cards made elsewhere. Input
    values arrive beside it, keyed by input id. Nothing here is trusted: the core checks it again.
    """
    fields = data if isinstance(data, dict) else {}
    ours = fields.get(DATA_KEY)
    values = {
        str(k): v for k, v in fields.items() if k not in RESERVED_KEYS and not str(k).startswith(ITEM_INPUT)
    }
    text_values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    if isinstance(ours, dict) and isinstance(ours.get("a"), str):
        payload = _scalars(ours.get("p"))
        pick = ours.get("pick")
        if isinstance(pick, str):
            try:
                item = json.loads(str(fields.get(pick) or ""))
            except json.JSONDecodeError:
                item = None
            if not isinstance(item, dict) or not item:
                return CardAction(action=ours["a"], payload=payload, values={}, problem=CHOOSE_ITEM)
            payload = {**_scalars(item), **payload}
        submit = bool(ours.get("form"))
        return CardAction(
            action=ours["a"], payload=payload, values=text_values if submit else {}, submit=submit
        )
    action = fields.get("action") if isinstance(fields.get("action"), str) else verb
    payload = {k: v for k, v in _scalars(fields).items() if k != "action"}
    return CardAction(action=str(action or ""), payload=payload, values={})


def image_url(block: Image) -> str | None:
    """Where Teams loads an image from: its URL, or the bytes inline as a data URI (a digest's chart);
    None for a generated image whose bytes are not at hand."""
    if block.data is not None:
        return "data:image/png;base64," + base64.b64encode(block.data).decode()
    if block.url.startswith("attachment://"):
        return None
    return block.url
