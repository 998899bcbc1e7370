"""Amounts and durations as the patterns capture them (plain tokens joined by spaces, see
:mod:`bot.ask.tokens`): "$ 1.5 m" is 1500000, "250 thousand" is 250000, "2 weeks" is 14 days.

The regular expressions that find them live with the patterns (:mod:`bot.ask.rules`); the text
fragments here (:data:`NUM`, :data:`MONEY`, :data:`DURATION`, ...) are shared so that every pattern
reads an amount the same way. Each is a non-capturing group: a pattern names the group it needs.
"""

from __future__ import annotations

import re

NUM = r"\d+(?:\.\d+)?"
INT = r"\d+"
MONEY_UNIT = r"(?:k|thousand|m|mm|mil|mn|million|millions|b|bn|billion)"
MONEY = rf"(?:\$ )?{NUM}(?: {MONEY_UNIT})?(?: (?:dollars|usd|bucks))?"
DAY_UNIT = r"(?:days?|d)"
WEEK_UNIT = r"(?:weeks?|wks?|w)"
MONTH_UNIT = r"(?:months?|mos?|mths?)"
QUARTER_UNIT = r"(?:quarters?|qtrs?)"
YEAR_UNIT = r"(?:years?|yrs?)"
UNIT = rf"(?:{DAY_UNIT}|{WEEK_UNIT}|{MONTH_UNIT}|{QUARTER_UNIT}|{YEAR_UNIT})"
DURATION = (
    rf"(?:(?:{INT}|an?|one) (?:\+ )?{UNIT}|(?:a )?fortnight|(?:a )?couple (?:of )?(?:weeks|months|days))"
)

_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mm": 1e6,
    "mil": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
}
_UNIT_DAYS = (
    (re.compile(rf"{DAY_UNIT}$"), 1),
    (re.compile(rf"{WEEK_UNIT}$"), 7),
    (re.compile(rf"{MONTH_UNIT}$"), 30),
    (re.compile(rf"{QUARTER_UNIT}$"), 90),
    (re.compile(rf"{YEAR_UNIT}$"), 365),
)
_NUMBER = re.compile(NUM)


def number(text: str) -> float:
    """The first number in ``text``."""
    found = _NUMBER.search(text)
    if found is None:
        raise ValueError(f"no number in {text!r}")
    return float(found.group(0))


def money(text: str) -> tuple[float, bool]:
    """The amount and whether it is surely money (a currency sign, a unit like k or million, dollars)."""
    words = text.split()
    amount = number(text)
    scale = next((_SCALE[word] for word in words if word in _SCALE), 1.0)
    sure = scale != 1.0 or "$" in words or any(word in ("dollars", "usd", "bucks") for word in words)
    return round(amount * scale, 2), sure


def scale_of(text: str) -> float:
    """The unit's multiplier in a money text (1 when it has none)."""
    return next((_SCALE[word] for word in text.split() if word in _SCALE), 1.0)


def unit_days(unit: str) -> int:
    """Days in one ``unit`` ("weeks" -> 7): a month is 30 days, a quarter 90, a year 365."""
    for pattern, days in _UNIT_DAYS:
        if pattern.match(unit):
            return days
    raise ValueError(f"not a unit of time: {unit!r}")


def count_and_unit(text: str) -> tuple[int, str]:
    """(how many, unit word) of a duration: "2 weeks" -> (2, "weeks"), "a month" -> (1, "month"),
    "a fortnight" -> (2, "weeks")."""
    words = [word for word in text.split() if word not in ("+", "of")]
    if words[-1] == "fortnight":
        return 2, "weeks"
    if words[0] == "a" and len(words) > 1 and words[1] == "couple":
        return 2, words[-1]
    if words[0] == "couple":
        return 2, words[-1]
    count = int(words[0]) if words[0].isdigit() else 1
    return count, words[-1]


def duration_days(text: str) -> int:
    """A duration in days: "30 days" 30, "2 weeks" 14, "a month" 30, "a quarter" 90."""
    count, unit = count_and_unit(text)
    return count * unit_days(unit)
