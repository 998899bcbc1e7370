"""Checks every Adaptive Card the tests see: what Teams renders of version 1.5, within its limits.

``card_problems(card)`` returns a list of readable problems (empty when the card is fine): the card's
structure, version "1.5", only element and action types of 1.5, known properties and enum values,
unique input ids, at most six actions (nested ones counted) and a serialized size under 80 KB.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

MAX_ACTIONS = 6
MAX_BYTES = 80_000
VERSION = "1.5"

COMMON_ELEMENT = {"type", "id", "spacing", "separator", "isVisible", "height", "requires", "fallback"}
ELEMENTS: dict[str, set[str]] = {
    "TextBlock": {
        "text",
        "wrap",
        "size",
        "weight",
        "color",
        "isSubtle",
        "horizontalAlignment",
        "maxLines",
        "fontType",
        "style",
    },
    "RichTextBlock": {"inlines", "horizontalAlignment"},
    "Image": {
        "url",
        "altText",
        "size",
        "style",
        "width",
        "horizontalAlignment",
        "backgroundColor",
        "selectAction",
    },
    "ImageSet": {"images", "imageSize"},
    "Media": {"sources", "poster", "altText"},
    "FactSet": {"facts"},
    "Container": {
        "items",
        "style",
        "verticalContentAlignment",
        "bleed",
        "minHeight",
        "selectAction",
        "backgroundImage",
        "rtl",
    },
    "ColumnSet": {"columns", "style", "bleed", "minHeight", "horizontalAlignment", "selectAction"},
    "ActionSet": {"actions"},
    "Table": {"columns", "rows", "firstRowAsHeader", "showGridLines", "gridStyle"},
    "Input.Text": {
        "label",
        "isRequired",
        "errorMessage",
        "placeholder",
        "value",
        "isMultiline",
        "maxLength",
        "style",
        "regex",
        "inlineAction",
    },
    "Input.Number": {"label", "isRequired", "errorMessage", "placeholder", "value", "min", "max"},
    "Input.Date": {"label", "isRequired", "errorMessage", "placeholder", "value", "min", "max"},
    "Input.Time": {"label", "isRequired", "errorMessage", "placeholder", "value", "min", "max"},
    "Input.Toggle": {"label", "isRequired", "errorMessage", "title", "value", "valueOn", "valueOff", "wrap"},
    "Input.ChoiceSet": {
        "label",
        "isRequired",
        "errorMessage",
        "placeholder",
        "value",
        "choices",
        "style",
        "isMultiSelect",
        "wrap",
    },
}
REQUIRED = {
    "TextBlock": ("text",),
    "Image": ("url",),
    "FactSet": ("facts",),
    "ColumnSet": ("columns",),
    "ActionSet": ("actions",),
    "Container": ("items",),
    "Input.ChoiceSet": ("id", "choices"),
}
COMMON_ACTION = {
    "type",
    "title",
    "iconUrl",
    "id",
    "style",
    "fallback",
    "tooltip",
    "isEnabled",
    "mode",
    "requires",
}
ACTIONS: dict[str, set[str]] = {
    "Action.OpenUrl": {"url"},
    "Action.Submit": {"data", "associatedInputs"},
    "Action.Execute": {"verb", "data", "associatedInputs"},
    "Action.ShowCard": {"card"},
    "Action.ToggleVisibility": {"targetElements"},
}
CARD_KEYS = {
    "type",
    "$schema",
    "version",
    "body",
    "actions",
    "fallbackText",
    "msteams",
    "speak",
    "lang",
    "selectAction",
    "minHeight",
    "verticalContentAlignment",
    "backgroundImage",
    "refresh",
    "authentication",
    "rtl",
}
ENUMS = {
    "size": {"Default", "Small", "Medium", "Large", "ExtraLarge", "Auto", "Stretch"},
    "weight": {"Default", "Lighter", "Bolder"},
    "color": {"Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"},
    "spacing": {"None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"},
    "associatedInputs": {"auto", "none", "Auto", "None"},
}
ACTION_STYLES = {"default", "positive", "destructive"}
TEXT_STYLES = {"default", "heading"}
CHOICE_STYLES = {"compact", "expanded", "filtered"}


def card_problems(card: Any, *, where: str = "card") -> list[str]:
    problems: list[str] = []
    if not isinstance(card, dict):
        return [f"{where}: not an object"]
    if card.get("type") != "AdaptiveCard":
        problems.append(f"{where}: type is {card.get('type')!r}, not 'AdaptiveCard'")
    if where == "card" and card.get("version") != VERSION:
        problems.append(f"{where}: version is {card.get('version')!r}, not {VERSION!r}")
    for key in set(card) - CARD_KEYS:
        problems.append(f"{where}: unknown card property {key!r}")
    if not isinstance(card.get("body", []), list) or not isinstance(card.get("actions", []), list):
        problems.append(f"{where}: body and actions must be lists")
        return problems
    counter = [0]
    ids: list[str] = []
    for i, element in enumerate(card.get("body", [])):
        _element(element, f"{where}.body[{i}]", problems, counter, ids)
    for i, action in enumerate(card.get("actions", [])):
        _action(action, f"{where}.actions[{i}]", problems, counter, ids)
    if where == "card":
        if counter[0] > MAX_ACTIONS:
            problems.append(f"{where}: {counter[0]} actions, Teams shows at most {MAX_ACTIONS}")
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            problems.append(f"{where}: input ids used twice: {sorted(duplicates)}")
        size = len(json.dumps(card, ensure_ascii=False).encode())
        if size >= MAX_BYTES:
            problems.append(f"{where}: {size} bytes, keep cards under {MAX_BYTES}")
    return problems


def _element(element: Any, where: str, problems: list[str], counter: list[int], ids: list[str]) -> None:
    if not isinstance(element, dict):
        problems.append(f"{where}: not an object")
        return
    kind = element.get("type")
    if kind not in ELEMENTS:
        problems.append(f"{where}: {kind!r} is not an Adaptive Card 1.5 element")
        return
    for key in set(element) - COMMON_ELEMENT - ELEMENTS[kind]:
        problems.append(f"{where}: unknown {kind} property {key!r}")
    for key in REQUIRED.get(kind, ()):
        if key not in element:
            problems.append(f"{where}: {kind} needs {key!r}")
    for key, allowed in ENUMS.items():
        if key in element and key != "associatedInputs" and element[key] not in allowed:
            problems.append(f"{where}: {key}={element[key]!r} is not one of {sorted(allowed)}")
    if kind == "TextBlock":
        if not isinstance(element.get("text"), str):
            problems.append(f"{where}: TextBlock text must be a string")
        if "style" in element and element["style"] not in TEXT_STYLES:
            problems.append(f"{where}: TextBlock style {element['style']!r}")
    if kind == "FactSet":
        facts = element.get("facts")
        if not isinstance(facts, list) or not facts:
            problems.append(f"{where}: FactSet needs facts")
        else:
            for fact in facts:
                if set(fact) != {"title", "value"} or not all(isinstance(v, str) for v in fact.values()):
                    problems.append(f"{where}: a fact must be {{title, value}} strings: {fact!r}")
    if kind == "ColumnSet":
        for j, column in enumerate(element.get("columns") or []):
            if not isinstance(column, dict) or column.get("type", "Column") != "Column":
                problems.append(f"{where}.columns[{j}]: not a Column")
                continue
            for key in (
                set(column)
                - COMMON_ELEMENT
                - {
                    "items",
                    "width",
                    "style",
                    "verticalContentAlignment",
                    "bleed",
                    "minHeight",
                    "selectAction",
                    "backgroundImage",
                    "rtl",
                }
            ):
                problems.append(f"{where}.columns[{j}]: unknown Column property {key!r}")
            width = column.get("width", "stretch")
            if not (
                width in ("auto", "stretch") or isinstance(width, int | float) or str(width).endswith("px")
            ):
                problems.append(f"{where}.columns[{j}]: width {width!r}")
            for k, item in enumerate(column.get("items") or []):
                _element(item, f"{where}.columns[{j}].items[{k}]", problems, counter, ids)
    if kind == "Container":
        for k, item in enumerate(element.get("items") or []):
            _element(item, f"{where}.items[{k}]", problems, counter, ids)
    if kind == "ActionSet":
        actions = element.get("actions")
        if not isinstance(actions, list) or not actions:
            problems.append(f"{where}: ActionSet needs actions")
        else:
            for k, action in enumerate(actions):
                _action(action, f"{where}.actions[{k}]", problems, counter, ids)
    if kind.startswith("Input."):
        if not element.get("id"):
            problems.append(f"{where}: {kind} needs an id")
        else:
            ids.append(str(element["id"]))
        if element.get("isRequired") and not element.get("label"):
            problems.append(f"{where}: a required input needs a label")
    if kind == "Input.ChoiceSet":
        if "style" in element and element["style"] not in CHOICE_STYLES:
            problems.append(f"{where}: ChoiceSet style {element['style']!r}")
        for choice in element.get("choices") or []:
            if set(choice) != {"title", "value"} or not all(isinstance(v, str) for v in choice.values()):
                problems.append(f"{where}: a choice must be {{title, value}} strings: {choice!r}")
    if "selectAction" in element:
        _action(element["selectAction"], f"{where}.selectAction", problems, counter, ids)


def _action(action: Any, where: str, problems: list[str], counter: list[int], ids: list[str]) -> None:
    if not isinstance(action, dict):
        problems.append(f"{where}: not an object")
        return
    counter[0] += 1
    kind = action.get("type")
    if kind not in ACTIONS:
        problems.append(f"{where}: {kind!r} is not an Adaptive Card 1.5 action")
        return
    for key in set(action) - COMMON_ACTION - ACTIONS[kind]:
        problems.append(f"{where}: unknown {kind} property {key!r}")
    if not isinstance(action.get("title"), str) or not action["title"].strip():
        problems.append(f"{where}: an action needs a title")
    if "style" in action and action["style"] not in ACTION_STYLES:
        problems.append(f"{where}: action style {action['style']!r}")
    if "associatedInputs" in action and action["associatedInputs"] not in ENUMS["associatedInputs"]:
        problems.append(f"{where}: associatedInputs {action['associatedInputs']!r}")
    if kind == "Action.Execute" and not action.get("verb"):
        problems.append(f"{where}: an Action.Execute needs a verb")
    if (
        kind in ("Action.Execute", "Action.Submit")
        and "data" in action
        and not isinstance(action["data"], dict)
    ):
        problems.append(f"{where}: data must be an object, so inputs can be merged into it")
    if kind == "Action.ShowCard":
        nested = action.get("card")
        problems.extend(card_problems(nested, where=f"{where}.card"))
        # The nested card's actions count towards this card's six.
        inner = [0]
        for element in (nested or {}).get("body", []):
            _element(element, f"{where}.card.body", [], inner, ids)
        for nested_action in (nested or {}).get("actions", []):
            _action(nested_action, f"{where}.card.actions", [], inner, ids)
        counter[0] += inner[0]


def message_problems(body: dict[str, Any]) -> list[str]:
    """Problems of every card in an activity, plus the whole message's size."""
    problems: list[str] = []
    for i, attachment in enumerate(body.get("attachments") or []):
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            problems.extend(f"attachment {i}: {p}" for p in card_problems(attachment.get("content")))
    size = len(json.dumps(body, ensure_ascii=False).encode())
    if size >= MAX_BYTES:
        problems.append(f"message: {size} bytes, keep messages under {MAX_BYTES}")
    return problems


def assert_valid_card(card: Any) -> None:
    problems = card_problems(card)
    assert not problems, "\n".join(problems)


def node_package(name: str) -> Path | None:
    """Where the npm package ``name`` is installed, if anywhere the tests look: a ``node_modules``
    named by TOUCHPOINT_NODE_MODULES or NODE_PATH, the repository's own, or the system temporary
    directory's (``npm install`` run there). None when absent: tests that need it skip."""
    candidates = [os.environ.get("TOUCHPOINT_NODE_MODULES", "")]
    candidates += os.environ.get("NODE_PATH", "").split(os.pathsep)
    candidates += [str(Path(__file__).resolve().parent.parent / "node_modules")]
    candidates += [str(Path(tempfile.gettempdir()) / "node_modules")]
    for folder in candidates:
        if folder and (Path(folder) / name / "package.json").is_file():
            return Path(folder) / name
    return None
