"""Neutral forms as Adaptive Cards: one input per field and a submit button.

A form is one card, answered in place: its submit button is an ``Action.Execute`` with
``associatedInputs`` so the typed values travel with it, and a failed submit comes back as the same
card with each field's problem under it. In a dialog (the task module of a message action) the
button is an ``Action.Submit`` with the same data: a dialog's submit goes to the invoke that opened
it. Kept apart from replies (:mod:`adapters.teams.render`), which have no inputs but the item picker.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from adapters.teams import limits
from adapters.teams.cards import (
    ITEM_INPUT,
    RESERVED_KEYS,
    Card,
    Element,
    adaptive_card,
    execute_action,
    submit_action,
    text_block,
)
from bot.format import truncate
from bot.types import Button, Form, FormInput, InputKind


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


def render_form(
    form: Form, *, today: date | None = None, submit: Literal["execute", "submit"] = "execute"
) -> Card:
    """The form as a card: labelled inputs, required marks and, after a failed submit, each field's
    problem under it (in the Attention colour) with the values that were typed kept. ``submit`` is
    the kind of button: ``execute`` in a message, ``submit`` in a dialog."""
    body: list[Element] = [text_block(form.title, size="Large", weight="Bolder", style="heading")]
    if form.errors:
        body.append(text_block("Please check the fields marked below.", color="Attention"))
    for spec in form.inputs:
        error = form.errors.get(spec.id)
        body.append(_input(spec, error, today))
        if error:
            body.append(text_block(error, color="Attention", size="Small", spacing="None"))
    button = Button(label=form.submit_label, action=form.submit_action, payload=form.payload, style="primary")
    card = adaptive_card(body, fallback=form.title)
    action = execute_action if submit == "execute" else submit_action
    card["actions"] = [action(button, inputs="auto", form=1)]
    return card
