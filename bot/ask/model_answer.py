"""Checking what the language model answered: the message's JSON, the filter it describes, and the person
it names, each treated like any other outside input. Anything out of place raises :class:`Unusable`, whose
``kind`` says why (the reader then reads the question without the model and says so).

The model names an owner by the name it read (``{"kind": "person", "name": "Leo Prak"}``), never by an
id: the person is found among Touchpoint's own people (:func:`person_named`, forgiving typos and letters
from other scripts that look Latin) or the answer is refused.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from rapidfuzz import fuzz

from bot.ask.filter import OWNER_KINDS, Filter, FilterError, filter_from_dict
from bot.ask.reader import Vocabulary

PERSON_MIN_SCORE = 80.0  # a typed name must be this close (0-100) to a person's name or first/last name
PERSON_MARGIN = 5.0  # ... and this much closer than to anyone else's, or it is too ambiguous to use

# ------------------------------------------------------------------------------------ people by name

# fmt: off
_LOOKALIKES = str.maketrans(
    {
        # Cyrillic and Greek letters that look like Latin ones (after casefolding), typed by keyboards
        # set to another script: "Lео" is read as "Leo".
        "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
        "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d",
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    }
)
# fmt: on
_POSSESSIVE = re.compile(r"['’]s\b", re.IGNORECASE)
_NOT_WORD = re.compile(r"[\W_]+")


def name_key(name: str) -> str:
    """A name reduced to what matching compares: no case, accents, possessive or punctuation, and letters
    from other scripts that look Latin read as Latin."""
    text = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", name)).casefold().translate(_LOOKALIKES)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", text).strip()


def _name_score(key: str, full: str) -> float:
    """How close ``key`` is to the person called ``full`` (both keys): to the whole name, in either word
    order, or, for one typed word, to the closest of the name's words."""
    scores = [fuzz.ratio(key, full), fuzz.token_sort_ratio(key, full)]
    if " " not in key:
        scores.extend(fuzz.ratio(key, word) for word in full.split())
    return max(scores)


def person_named(name: str, people: Mapping[str, int]) -> tuple[str, int] | None:
    """The person (full name as stored, id) that ``name`` means, or None when nobody is called that or
    several people are. Exact names first (full, then a first or last name only one person has), then the
    closest name if it is close (:data:`PERSON_MIN_SCORE`) and clearly closer than any other."""
    key = name_key(name)
    if not key:
        return None
    keys = {full: name_key(full) for full in people}
    exact = [full for full, full_key in keys.items() if full_key == key]
    if not exact:
        exact = [full for full, full_key in keys.items() if key in full_key.split()]
    if exact:
        return (exact[0], people[exact[0]]) if len({people[f] for f in exact}) == 1 else None
    scored = sorted(((_name_score(key, full_key), full) for full, full_key in keys.items()), reverse=True)
    if not scored or scored[0][0] < PERSON_MIN_SCORE:
        return None
    best_score, best = scored[0]
    rivals = [score for score, full in scored[1:] if people[full] != people[best]]
    if rivals and rivals[0] > best_score - PERSON_MARGIN:
        return None
    return best, people[best]


# ---------------------------------------------------------------------------------- checking answers


class Unusable(Exception):
    """The model's answer cannot be used; ``kind`` names why (the keys of
    :data:`bot.ask.model_reader.FALLBACK_NOTES`)."""

    def __init__(
        self, kind: str, *, status: int | None = None, detail: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.detail = dict(detail or {})


_FENCE = re.compile(r"^```[A-Za-z]*[ \t]*\n?(.*?)\n?[ \t]*```$", re.DOTALL)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OWNER_KEYS = frozenset({"kind", "name"})


def parse_content(content: str) -> Any:
    """The JSON in a message's content; a ```json fence around it is tolerated. Unusable otherwise."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced is not None:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise Unusable("unusable") from None


def _stored(name: str, raw: Any, known: tuple[str, ...]) -> list[str]:
    """Segment or tier values as the data stores them, matched without case or punctuation ("mid market"
    is Mid-Market); a value the data does not have is unusable (the model made it up or misread it)."""
    if not isinstance(raw, list):
        raise Unusable("unusable", detail={"field": name})
    by_key = {name_key(value): value for value in known}
    out = []
    for value in raw:
        stored = by_key.get(name_key(value)) if isinstance(value, str) else None
        if stored is None:
            raise Unusable("unusable", detail={"field": name})
        out.append(stored)
    return out


def filter_from_answer(data: Any, vocabulary: Vocabulary) -> Filter | None:
    """The filter the model's parsed answer describes, or None when the model refused (or said nothing a
    filter can hold). :class:`Unusable` for anything out of place: unknown fields, values of the wrong
    kind or range, days not written YYYY-MM-DD, segments or tiers the data does not have, an owner given
    by id, or a person's name that matches no one (kind ``unknown_person``)."""
    if not isinstance(data, dict):
        raise Unusable("unusable")
    refuse = data.get("refuse")
    if refuse is True:
        return None
    if refuse not in (None, False):
        raise Unusable("unusable", detail={"field": "refuse"})
    values = {key: value for key, value in data.items() if key != "refuse" and value is not None}
    owner = values.get("owner")
    if isinstance(owner, dict):
        if not set(owner) <= _OWNER_KEYS:
            raise Unusable("unusable", detail={"field": "owner"})
        if owner.get("kind") == "person":
            name = owner.get("name")
            found = person_named(name, vocabulary.people) if isinstance(name, str) else None
            if found is None:
                raise Unusable("unknown_person")
            values["owner"] = {"kind": "person", "person_id": found[1], "name": found[0]}
        elif owner.get("kind") in OWNER_KINDS:
            values["owner"] = {"kind": owner["kind"]}
    for name in ("renewal_from", "renewal_to"):
        if name in values and not (isinstance(values[name], str) and _ISO_DAY.fullmatch(values[name])):
            raise Unusable("unusable", detail={"field": name})
    if "segments" in values:
        values["segments"] = _stored("segments", values["segments"], vocabulary.segments)
    if "tiers" in values:
        values["tiers"] = _stored("tiers", values["tiers"], vocabulary.tiers)
    try:
        flt = filter_from_dict(values)
    except FilterError:
        raise Unusable("unusable") from None
    return None if flt.empty else flt


def content_of(body: Any) -> str:
    """``choices[0].message.content`` of a chat completion; :class:`Unusable` when it has none (kind
    ``declined`` when the model set ``refusal`` instead)."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise Unusable("unusable") from None
    if not isinstance(message, dict):
        raise Unusable("unusable")
    content = message.get("content")
    if isinstance(content, str) and content.strip():
        return content
    if message.get("refusal"):
        raise Unusable("declined")
    raise Unusable("unusable")


def error_detail(raw: bytes) -> dict[str, str]:
    """The ``type`` and ``code`` of an error body, for the log. Never its ``message``: OpenAI's says
    which key was refused, partly spelled out."""
    try:
        error = json.loads(raw)["error"]
    except (ValueError, KeyError, TypeError):
        return {}
    if not isinstance(error, dict):
        return {}
    return {
        f"error_{key}": str(error[key])[:60]
        for key in ("type", "code")
        if isinstance(error.get(key), str | int) and not isinstance(error.get(key), bool)
    }


__all__ = [
    "Unusable",
    "content_of",
    "error_detail",
    "filter_from_answer",
    "name_key",
    "parse_content",
    "person_named",
]
