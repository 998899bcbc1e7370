"""Neutral replies as the Adaptive Cards 1.5 of one Teams message.

Elements: Header and Text become TextBlocks (one per line: hosts disagree on what a single newline
means), Fields a FactSet, Context small subtle text, Image an Image, Divider a separator on the next
element, Actions an ActionSet. Buttons are ``Action.Execute`` (answered in place through the
``adaptiveCard/action`` invoke); the adapter accepts ``Action.Submit`` data of the same shape too.
Forms are drawn by :mod:`adapters.teams.forms`; the pieces both use are in :mod:`adapters.teams.cards`.

**Six actions per card.** Teams renders at most six actions in a card (nested ones count), while a
core list such as ``followups`` has Done / Snooze 1 day / Snooze 1 week on each of up to ten items
(thirty buttons). When a reply has more than six buttons, runs of items that carry the *same* buttons
(same labels and actions, payloads that differ only by the item's ids) are drawn as one list: the
items numbered in a ColumnSet, one required ``Input.ChoiceSet`` "Which one?", and the buttons once.
Each button's data holds the part of the payload common to all items (``{"days": 7}``); the chosen
choice's value holds the item's part (``{"followup_id": 12}``);
:func:`adapters.teams.card_actions.read_action` merges the two. Whatever still does not fit (a reply
with two such lists, or many unrelated buttons) is split over several cards in one message, each with
six actions or fewer. Messages are kept under 80 KB: when a reply would be larger, its tail is dropped
(the final row of buttons kept) and a note says so.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from adapters.teams import limits
from adapters.teams.cards import (
    CARD_CONTENT_TYPE,
    CHOOSE_ITEM,
    ITEM_INPUT,
    Card,
    Element,
    adaptive_card,
    card_text,
    execute_action,
    plain,
    text_block,
    text_blocks,
)
from bot.format import truncate
from bot.types import (
    Actions,
    Block,
    Button,
    Context,
    Divider,
    Fields,
    Header,
    Image,
    Payload,
    Reply,
    Text,
)

TRUNCATED_NOTE = "_The list was cut to fit Teams; ask for fewer items or use More._"


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
    return [adaptive_card(body, fallback=fallback if i == 0 else None) for i, body in enumerate(cards)]


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
    return adaptive_card(text_blocks(text), fallback=plain(text))


def image_url(block: Image) -> str | None:
    """Where Teams loads an image from: its URL, or the bytes inline as a data URI (a digest's chart);
    None for a generated image whose bytes are not at hand."""
    if block.data is not None:
        return "data:image/png;base64," + base64.b64encode(block.data).decode()
    if block.url.startswith("attachment://"):
        return None
    return block.url
