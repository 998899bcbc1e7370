"""One grammar for every way in: ``/cs account acme``, ``@Touchpoint account acme``, ``account acme``.

Adapters strip their own wrapping (a slash command's name, a mention) with :func:`parse`, which also
accepts the wrapped forms so that any of them typed anywhere means the same thing.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

# Leading "/cs", Slack's "<@U123ABC>" or "<@U123|name>", Teams' "<at>Touchpoint</at>",
# or a plain "@Touchpoint".
_WRAPPING = re.compile(
    r"^\s*(?:/cs\b|<@[A-Z0-9]+(?:\|[^>]*)?>|<at>[^<]*</at>|@touchpoint\b)[\s:,]*",
    re.IGNORECASE,
)

ALIASES = {
    "health": "account",
    "acct": "account",
    "card": "account",
    "followup": "followups",
    "follow-ups": "followups",
    "milestone": "milestones",
    "renewal": "renewals",
    "?": "help",
}


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    command: str
    args: tuple[str, ...]
    share: bool
    text: str


_IN_WORD_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
_KEPT = "\ue000"  # a private-use character stands in for an apostrophe inside a word while splitting


def _split(text: str) -> list[str]:
    """Words, keeping "quoted phrases" together; an unbalanced quote is treated as a plain character.

    An apostrophe inside a word ("haven't", "Leo's") is a letter, not a quote: two of them would
    otherwise quote the words between them and lose both apostrophes."""
    kept = _IN_WORD_APOSTROPHE.sub(_KEPT, text)
    try:
        words = shlex.split(kept)
    except ValueError:
        words = kept.split()
    return [word.replace(_KEPT, "'") for word in words]


def strip_wrapping(text: str) -> str:
    """Remove any leading slash command or bot mentions (repeated ones too)."""
    previous = None
    while previous != text:
        previous = text
        text = _WRAPPING.sub("", text, count=1)
    return text.strip()


def parse(text: str) -> ParsedCommand:
    """Parse a typed command. An empty text means ``help``; a trailing ``share`` is a flag, not an
    argument."""
    body = strip_wrapping(text.replace("\u00a0", " "))
    words = [word for word in _split(body) if word]  # a quoted "" is no word
    if not words:
        return ParsedCommand(command="help", args=(), share=False, text="")
    share = len(words) > 1 and words[-1].lower() == "share"
    if share:
        words = words[:-1]
    command = words[0].lower()
    command = ALIASES.get(command, command)
    return ParsedCommand(command=command, args=tuple(words[1:]), share=share, text=body)
