"""Clicked buttons and submitted cards back into what they ask for: the inbound half of the cards.

:mod:`adapters.teams.cards` writes a button's data (``{"tp": {"a": action, "p": payload, ...}}``);
:func:`read_action` reads it from an ``Action.Execute`` invoke or an ``Action.Submit`` message, merges
the item chosen in a "Which one?" picker into the payload, and accepts the flat data of cards made
elsewhere. Nothing read here is trusted: the core checks it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from adapters.teams.cards import CHOOSE_ITEM, DATA_KEY, ITEM_INPUT, RESERVED_KEYS
from bot.types import Payload


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
