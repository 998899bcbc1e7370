"""Request bodies from outside, before they are parsed: JSON is parsed only when its nesting is shallow.

Python's JSON parser recurses once per level of nesting, so a body of a few thousand ``[`` characters
ends in a ``RecursionError`` deep inside whatever parses it (a 500 with a traceback, for a request
nobody signed). :func:`nesting_exceeds` measures the depth without parsing: string literals are cut
out and the brackets left are counted, in time linear in the body. :func:`loads` parses only after
that check, and refuses the non-standard ``NaN`` and ``Infinity`` literals too. Every way in (the
ingest API, Slack, Teams) uses these before handing a body to anything that parses it.
"""

from __future__ import annotations

import json
import re
from typing import Any

# String literals (escapes included), then everything that is not a bracket.
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_OPENING = frozenset("[{")


class PayloadError(ValueError):
    """The body cannot be accepted; the message says why in words fit for the sender."""


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON in ``text`` nests arrays and objects more than ``limit`` levels deep.

    Brackets inside strings do not count. Text that is not JSON gives some answer without failing:
    the parser that runs afterwards refuses it anyway.
    """
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    if len(brackets) <= 2 * limit:  # too few brackets to go deeper: the common case, no loop at all
        return False
    depth = 0
    for bracket in brackets:
        if bracket in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise PayloadError(f"{name} is not a JSON number")


def loads(raw: bytes | str, *, max_depth: int) -> Any:
    """The JSON value of ``raw``, refused with :class:`PayloadError` when it is not JSON, nests deeper
    than ``max_depth`` or holds ``NaN``/``Infinity``. Bytes are decoded as :func:`json.loads` would
    (UTF-8, with or without a byte order mark, or UTF-16/32). Integers keep Python's limit on digits
    (a longer one is refused here; a long one within it is the caller's to bound)."""
    try:
        text = raw.decode(json.detect_encoding(raw)) if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise PayloadError("the body is not UTF-8") from None
    if nesting_exceeds(text, max_depth):
        raise PayloadError(f"the JSON nests deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except PayloadError:
        raise
    except (ValueError, RecursionError):
        raise PayloadError("the body is not valid JSON") from None
