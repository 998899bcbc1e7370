"""The filter being read, and the tokens still to read.

The reader runs its patterns in a fixed order, most specific first ("biggest drop" before "biggest",
"outcomes at risk" before "at risk", "up for renewal" before "up 10 points"). Each pattern runs over the
tokens as one string of plain words; the words a match used are then shown to later patterns as "_"
(or as a tag such as "@person" for a name, so "owned by @person" can still be read) and can never be
read twice. What no pattern used is what the reader reports as unknown.

Values that can clash are put through one door each (:meth:`Draft.put`, :meth:`Draft.window`, ...): two
different sorts, or two people, make the reading a refusal rather than a guess.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.ask.filter import Owner, Trend
from bot.ask.tokens import Token

Handler = Callable[["Draft", re.Match[str]], bool]


def rx(body: str) -> re.Pattern[str]:
    """A pattern over plain tokens that starts and ends on token boundaries."""
    return re.compile(rf"(?<![^ ])(?:{body})(?![^ ])")


@dataclass
class Draft:
    today: date
    tokens: list[Token]
    used: list[bool] = field(default_factory=list)
    tags: list[str | None] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    owner_words: list[str] = field(default_factory=list)  # "me" / "team", as read
    people: list[Owner] = field(default_factory=list)  # people named
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None
    renewal_said: bool = False  # a renewal word: the window defaults to the next 90 days
    top_said: bool = False  # "top": the order defaults to biggest ARR first
    trend_timed: bool = False  # the trend's period was said
    fall_days: int | None = None  # "fell the most" (with its period, when said)

    def __post_init__(self) -> None:
        self.used = [False] * len(self.tokens)
        self.tags = [None] * len(self.tokens)

    # Reading -----------------------------------------------------------------------------------------

    def text(self) -> tuple[str, list[int]]:
        """The tokens as one string (used ones as "_" or their tag) and where each token starts."""
        parts: list[str] = []
        starts: list[int] = []
        at = 0
        for token, used, tag in zip(self.tokens, self.used, self.tags, strict=True):
            part = (tag or "_") if used else token.norm
            starts.append(at)
            parts.append(part)
            at += len(part) + 1
        return " ".join(parts), starts

    def scan(self, pattern: re.Pattern[str], handler: Handler) -> None:
        """Run ``pattern``; each match the handler accepts (returns True for) uses its tokens."""
        if self.refusal is not None:
            return
        text, starts = self.text()
        for match in pattern.finditer(text):
            if match.end() == match.start():
                continue
            if handler(self, match):
                self.use(bisect_right(starts, match.start()) - 1, bisect_right(starts, match.end() - 1))

    def use(self, first: int, end: int, tag: str | None = None) -> None:
        for index in range(first, end):
            self.used[index] = True
            if tag is not None:
                self.tags[index] = tag

    # Values ------------------------------------------------------------------------------------------

    def refuse(self, reason: str) -> bool:
        if self.refusal is None:
            self.refusal = reason
        return True

    def put(self, name: str, value: Any) -> bool:
        """Set a single value; a different one already set is a clash (a refusal)."""
        if name in self.values and self.values[name] != value:
            return self.refuse(f"two readings of {name}")
        self.values[name] = value
        return True

    def add(self, name: str, *items: str) -> bool:
        self.values[name] = frozenset(self.values.get(name, frozenset())) | frozenset(items)
        return True

    def at_least(self, name: str, value: Any) -> bool:
        current = self.values.get(name)
        self.values[name] = value if current is None else max(current, value)
        return True

    def at_most(self, name: str, value: Any) -> bool:
        current = self.values.get(name)
        self.values[name] = value if current is None else min(current, value)
        return True

    def window(self, first: date | None, last: date | None) -> bool:
        """Narrow the renewal window (two date phrases both apply: "after 1 Jan and before 1 March")."""
        if first is not None:
            self.at_least("renewal_from", first)
        if last is not None:
            self.at_most("renewal_to", last)
        return True

    def trend(self, direction: str, points: float, days: int | None) -> bool:
        if not 1 <= points <= 100:
            return False
        if days is not None:
            self.trend_timed = True
        return self.put("trend", Trend(direction, points, days or 30))  # type: ignore[arg-type]

    def time_trend(self, days: int) -> bool:
        """Give the period to a trend read without one (or to "fell the most")."""
        current = self.values.get("trend")
        if isinstance(current, Trend) and not self.trend_timed:
            self.values["trend"] = Trend(current.direction, current.points, days)
            self.trend_timed = True
            return True
        if current is None and self.values.get("sort") == "fall_desc" and self.fall_days is None:
            self.fall_days = days
            return True
        return False

    @property
    def trend_open(self) -> bool:
        """A trend (or "fell the most") is read whose period was not said."""
        if self.values.get("trend") is not None:
            return not self.trend_timed
        return self.values.get("sort") == "fall_desc" and self.fall_days is None
