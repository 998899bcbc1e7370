"""What the language model is asked: the filter's JSON Schema (:data:`ANSWER_SCHEMA`), the system prompt
that gives it today, the known segments, tiers and people, and the chat-completions request body.

The schema uses only the keywords OpenAI's strict Structured Outputs mode has always accepted (``type``,
``enum``, ``anyOf``, ``items``, ``properties``, ``required``, ``additionalProperties``, ``description``):
ranges and the day format are said in descriptions and checked in :mod:`bot.ask.model_answer`. Every field
is listed as required and may be null, as strict mode asks.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from bot.ask.filter import AGGREGATES, BANDS, DIRECTIONS, MAX_LIMIT, OWNER_KINDS, SORTS, STAGES, Filter
from bot.ask.reader import Vocabulary

SCHEMA_NAME = "touchpoint_filter"
MAX_PROMPT_PEOPLE = 300  # beyond this the prompt lists no more names; a name read is still looked up

# ----------------------------------------------------------------------------------------- the schema


def _nullable(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "anyOf": [schema, {"type": "null"}]}


def _choice(values: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _strict_object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_NUMBER = {"type": "number"}
_INTEGER = {"type": "integer"}
_FLAG = {"type": "boolean"}
_DAY = {"type": "string"}

# One entry per field of Filter, with what it means in short (the model reads the descriptions too).
_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "owner": _nullable(
        _strict_object(
            {
                "kind": _choice(OWNER_KINDS),
                "name": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            }
        ),
        'Whose accounts: {"kind": "me"} the asker\'s ("my"), {"kind": "team"} the asker\'s and their '
        'reports\' ("my team"), {"kind": "person", "name": "<the name as the question gives it>"} one '
        "person's; null for everyone's.",
    ),
    "bands": _nullable(_list_of(_choice(BANDS)), 'Health bands, any of these; "at risk" is red.'),
    "score_min": _nullable(_NUMBER, "Lowest health score, 0-100, inclusive."),
    "score_max": _nullable(_NUMBER, "Highest health score, 0-100, inclusive."),
    "trend": _nullable(
        _strict_object(
            {"direction": _choice(DIRECTIONS), "points": _NUMBER, "days": _INTEGER},
        ),
        "The health score moved at least points (1-100) in direction within days (1-365).",
    ),
    "renewal_from": _nullable(_DAY, "First renewal day, YYYY-MM-DD, inclusive."),
    "renewal_to": _nullable(_DAY, "Last renewal day, YYYY-MM-DD, inclusive."),
    "arr_min": _nullable(_NUMBER, 'Lowest ARR, a plain number ("over 100k" is 100000), inclusive.'),
    "arr_max": _nullable(_NUMBER, "Highest ARR, a plain number, inclusive."),
    "segments": _nullable(_list_of({"type": "string"}), "Segments, any of the known ones."),
    "tiers": _nullable(_list_of({"type": "string"}), "Tiers, any of the known ones."),
    "stages": _nullable(_list_of(_choice(STAGES)), "Lifecycle stages, any of these."),
    "detractor": _nullable(_FLAG, "true: a detractor NPS answer (0-6) in the last 90 days."),
    "open_feedback": _nullable(_FLAG, "true: feedback about the account not resolved yet."),
    "overdue_milestones": _nullable(_FLAG, "true: an open milestone past its due date."),
    "overdue_followups": _nullable(_FLAG, "true: an open follow-up past its due date."),
    "outcomes_at_risk": _nullable(_FLAG, "true: a success-plan outcome behind the line to its target."),
    "untouched_days": _nullable(_INTEGER, "No follow-up or note logged in the last this many days."),
    "sort": _nullable(_choice(SORTS), "Order: arr, score or renewal, asc or desc; fall_desc biggest fall."),
    "limit": _nullable(_INTEGER, f"At most this many accounts (1-{MAX_LIMIT}), as in 'top 5'."),
    "aggregate": _nullable(_choice(AGGREGATES), '"count" for how many, "arr" for how much ARR.'),
}


def _answer_schema() -> dict[str, Any]:
    """The schema of an answer: ``refuse`` and every field of :class:`Filter`, built from the dataclass so
    that a field added there without a schema entry stops the import instead of going unasked."""
    names = [spec.name for spec in fields(Filter)]
    if set(names) != set(_FIELD_SCHEMAS):
        raise RuntimeError(f"the answer schema and Filter differ: {sorted(set(names) ^ set(_FIELD_SCHEMAS))}")
    refuse = _nullable(_FLAG, "true when the question cannot be expressed with these fields.")
    return _strict_object({"refuse": refuse, **{name: _FIELD_SCHEMAS[name] for name in names}})


ANSWER_SCHEMA: dict[str, Any] = _answer_schema()

# ---------------------------------------------------------------------------------- the system prompt

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_INSTRUCTIONS = (
    "You turn a Customer Success manager's question about their customer accounts into a filter.",
    "Answer with JSON only: one object that follows the JSON Schema below. Use null (or leave out) every "
    "field the question does not say. If the question cannot be expressed with these fields (a question "
    'about one named account, a request to do something, a "why" question), answer {"refuse": true}.',
    'Ranges are inclusive. Days are written YYYY-MM-DD. Renewal windows: "next month" is the whole next '
    'calendar month, "this quarter" the whole calendar quarter, "in 60 days" today to today + 60, '
    '"before 1 March" today to the day before; renewal words without a time mean today to today + 90.',
    'A score trend without a number is 5 points; without a period, 30 days. "Top N" without an order '
    'word sorts by ARR, biggest first. "My" is the asker (kind "me"), never a person\'s name.',
)


def system_prompt(vocabulary: Vocabulary) -> str:
    """What the model is told before the question: the task, today, the known values and the schema."""
    today = vocabulary.today
    people = sorted(vocabulary.people)
    listed = ", ".join(people[:MAX_PROMPT_PEOPLE])
    if len(people) > MAX_PROMPT_PEOPLE:
        listed += ", and others"
    lines = [
        *_INSTRUCTIONS,
        f"Today is {_WEEKDAYS[today.weekday()]} {today.isoformat()}.",
        f"Known segments: {', '.join(vocabulary.segments) or 'none'}.",
        f"Known tiers: {', '.join(vocabulary.tiers) or 'none'}.",
        f"People who own accounts: {listed or 'none'}.",
        "JSON Schema:",
        json.dumps(ANSWER_SCHEMA, separators=(",", ":")),
    ]
    return "\n".join(lines)


def request_body(text: str, vocabulary: Vocabulary, *, structured: bool = True) -> dict[str, Any]:
    """The chat-completions request for ``text``: Structured Outputs with the schema, or (``structured``
    False, for endpoints that refuse that) JSON mode and no temperature."""
    body: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": system_prompt(vocabulary)},
            {"role": "user", "content": text},
        ],
    }
    if structured:
        body["temperature"] = 0
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "schema": ANSWER_SCHEMA, "strict": True},
        }
    else:
        body["response_format"] = {"type": "json_object"}
    return body


__all__ = ["ANSWER_SCHEMA", "SCHEMA_NAME", "request_body", "system_prompt"]
