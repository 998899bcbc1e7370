"""What text may be stored, and how stored text is shown on a terminal.

Two characters can never be stored: NUL (PostgreSQL text cannot hold it) and a lone surrogate (half of
a UTF-16 pair, which is not a character and cannot be encoded as UTF-8). :func:`problem` names them so
the caller can refuse the value with a clear message. Other control characters (ESC, BEL, backspace,
the C1 range, and the bidirectional overrides that reorder what a reader sees) are noise in a name or
a comment, and a terminal acts on them: :func:`clean` removes them on the way in, and
:func:`terminal_safe` escapes any that are already stored before they are printed. Text that cannot be
refused with a message (a chat command) goes through :func:`sanitize`, which also replaces lone
surrogates.
"""

from __future__ import annotations

import re

# Never storable: NUL and the surrogate range (only lone surrogates survive into a Python str).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Removed from one-line text: every C0 control (tab, newline and CR become a space first), DEL, C1,
# and the bidirectional embedding, override and isolate controls.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_ONE_LINE_CONTROLS = re.compile(f"[{_CONTROLS}]")
_LINE_BREAKS = re.compile("\r\n|[\t\r\n]")
# Removed from multi-line text: the same, but tab and newline stay (CR LF and CR become newlines).
_MULTI_LINE_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CARRIAGE_RETURNS = re.compile("\r\n?")
# Escaped when printed: controls other than tab and newline, and lone surrogates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def problem(value: str) -> str | None:
    """Why ``value`` cannot be stored (a NUL character or a lone surrogate), or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return "contains an invalid character (a lone surrogate)"


def clean(value: str, *, multiline: bool = False) -> str:
    """``value`` without control characters. One-line text (names, titles, ids) turns tabs and line
    breaks into spaces; multi-line text (comments, notes) keeps tabs and newlines."""
    if multiline:
        return _MULTI_LINE_CONTROLS.sub("", _CARRIAGE_RETURNS.sub("\n", value))
    return _ONE_LINE_CONTROLS.sub("", _LINE_BREAKS.sub(" ", value))


_SURROGATES = re.compile("[\ud800-\udfff]")


def sanitize(value: str, *, multiline: bool = False) -> str:
    """:func:`clean`, and each lone surrogate replaced by U+FFFD: text that can always be stored."""
    return _SURROGATES.sub("\ufffd", clean(value, multiline=multiline))


def _escape(found: re.Match[str]) -> str:
    return found.group().encode("unicode_escape", "backslashreplace").decode("ascii")


def terminal_safe(value: str) -> str:
    """``value`` with every control character (but tab and newline) and lone surrogate written as an
    escape such as ``\\x1b``, so printing it cannot move the cursor, ring the bell or fail to encode."""
    return _UNPRINTABLE.sub(_escape, value)
