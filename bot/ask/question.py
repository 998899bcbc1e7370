"""Whether a message typed to the bot is a question rather than a mistyped command: in a one-to-one
conversation such a message goes to ``ask`` without the command word."""

from __future__ import annotations

QUESTION_WORDS = frozenset(
    [
        "which",
        "what",
        "who",
        "whose",
        "how",
        "show",
        "list",
        "find",
        "give",
        "are",
        "is",
        "any",
        "do",
        "does",
        "where",
        "when",
        "top",
        "tell",
        "count",
    ]
)


def reads_as_question(text: str) -> bool:
    """It ends with a question mark, or starts with a question word ("which", "how", "show", ...)."""
    words = text.strip().lower().split()
    return bool(words) and (text.strip().endswith("?") or words[0] in QUESTION_WORDS)
