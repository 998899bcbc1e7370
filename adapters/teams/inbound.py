"""A request body, checked before it is read as an activity, and the activity's text made safe to keep.

Pure functions, no I/O. The order matters: the nesting of a body is measured before any JSON parser
recurses into it (:mod:`adapters.payloads`, shared by every way in: a body of 100,000 ``[`` would
otherwise end in a ``RecursionError``); the parsed body is refused when any string in it holds a
character no database can store (NUL, a lone surrogate: Teams never sends them, so such a body was
made by hand); and the text people write or are named by (message text, names, form values) loses its
control characters (ESC, BEL, bidirectional overrides) before anything reads it.
"""

from __future__ import annotations

from typing import Any

from botbuilder.schema import Activity

from adapters.payloads import PayloadError, loads
from storage import text

MAX_DEPTH = 64  # Teams nests an activity (with a card's data) about 10 deep


class BodyProblem(ValueError):
    """The body is not one Touchpoint reads (the message says why, without echoing it)."""


def read_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``; :class:`BodyProblem` when it is not one, nests more than
    :data:`MAX_DEPTH` deep, or holds a string that cannot be stored."""
    try:
        body = loads(raw, max_depth=MAX_DEPTH)
    except PayloadError as error:
        raise BodyProblem(str(error)) from None
    if not isinstance(body, dict):
        raise BodyProblem("not a json object")
    problem = unstorable(body)
    if problem is not None:
        raise BodyProblem(problem)
    return body


def unstorable(value: object) -> str | None:
    """Why some string in ``value`` (keys too) cannot be stored, or None. ``value`` is parsed JSON
    whose depth :func:`read_body` has bounded."""
    if isinstance(value, str):
        return text.problem(value)
    if isinstance(value, dict):
        for key, item in value.items():
            problem = text.problem(key) or unstorable(item)
            if problem is not None:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = unstorable(item)
            if problem is not None:
                return problem
    return None


def clean_activity(activity: Activity) -> None:
    """Remove control characters from what people wrote or are called in ``activity``: the text, the
    names of the sender, the bot and the conversation (one line each), and the strings of a submitted
    card's data (form values keep their line breaks)."""
    if isinstance(activity.text, str):
        activity.text = text.clean(activity.text, multiline=True)
    for account in (activity.from_property, activity.recipient, activity.conversation):
        name = getattr(account, "name", None)
        if isinstance(name, str):
            account.name = text.clean(name)
    if activity.value is not None:
        activity.value = _clean_json(activity.value)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return text.clean(value, multiline=True)
    if isinstance(value, dict):
        return {key: _clean_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean_json(item) for item in value]
    return value
