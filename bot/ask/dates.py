"""Date words as days, always relative to the asker's today (never the wall clock).

Every date phrase resolves to a span of days, first and last included: "1 March" is one day, "March"
the whole month (its next occurrence, the current month included), "next quarter" the whole calendar
quarter, "the end of the year" the one day 31 December. The renewal window then follows from the word
before it (:func:`window`): "before" ends the day before the span starts, "by"/"until" on its last day,
"after" starts the day after it ends. One rule for every kind of date keeps "before March", "before 1
March" and "before next month" consistent with one another.

:data:`DATE` is the text fragment the patterns embed (plain tokens, see :mod:`bot.ask.tokens`);
:func:`span` reads what it matched.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from bot.ask.lexicon import MONTHS

Span = tuple[date, date]

MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"
YEAR = r"(?:20\d\d)"
_DAYNUM = r"(?:[12]\d|3[01]|0?[1-9])"
PERIOD = r"(?:week|month|quarter|year)"
MONTHS_BY_NAME = MONTHS
DATE = (
    rf"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}"
    rf"|(?:the )?{_DAYNUM}(?: of)? {MONTH}(?: {YEAR})?"
    rf"|{MONTH} (?:the )?{_DAYNUM}(?: {YEAR})?"
    rf"|(?:the )?(?:very )?(?:end|close|start|beginning) of (?:the |this |next |the next )?"
    rf"(?:{PERIOD}|{MONTH}(?: {YEAR})?|{YEAR})"
    rf"|(?:the )?(?:year|quarter|month) end|eoy|eoq|eom"
    rf"|{MONTH}(?: {YEAR})?|{YEAR}|(?:the )?next {PERIOD}|today|tomorrow)"
)
DAY_DATE = (
    rf"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|(?:the )?{_DAYNUM}(?: of)? {MONTH}(?: {YEAR})?"
    rf"|{MONTH} (?:the )?{_DAYNUM}(?: {YEAR})?)"
)
_DATE = re.compile(
    r"(?P<iso>\d{4})-(?P<isom>\d{1,2})-(?P<isod>\d{1,2})"
    rf"|(?:the )?(?P<d1>{_DAYNUM})(?: of)? (?P<m1>{MONTH})(?: (?P<y1>{YEAR}))?"
    rf"|(?P<m2>{MONTH}) (?:the )?(?P<d2>{_DAYNUM})(?: (?P<y2>{YEAR}))?"
    rf"|(?:the )?(?:very )?(?P<edge>end|close|start|beginning) of (?:the |this )?(?P<next>next |the next )?"
    rf"(?:(?P<p1>{PERIOD})|(?P<m3>{MONTH})(?: (?P<y3>{YEAR}))?|(?P<y4>{YEAR}))"
    rf"|(?:the )?(?P<p2>year|quarter|month) end|(?P<eo>eoy|eoq|eom)"
    rf"|(?P<m4>{MONTH})(?: (?P<y5>{YEAR}))?|(?P<y6>{YEAR})|(?:the )?next (?P<p3>{PERIOD})"
    r"|(?P<rel>today|tomorrow)"
)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clipped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_span(year: int, month: int) -> Span:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def period_span(today: date, period: str, ahead: int = 0) -> Span:
    """The calendar week (Monday to Sunday), month, quarter or year holding today, or ``ahead`` later."""
    if period == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=ahead)
        return monday, monday + timedelta(days=6)
    if period == "month":
        first = add_months(today.replace(day=1), ahead)
        return month_span(first.year, first.month)
    if period == "quarter":
        first = add_months(date(today.year, (today.month - 1) // 3 * 3 + 1, 1), 3 * ahead)
        return first, add_months(first, 3) - timedelta(days=1)
    if period == "year":
        return date(today.year + ahead, 1, 1), date(today.year + ahead, 12, 31)
    raise ValueError(f"not a period: {period!r}")


def ahead_of(today: date, count: int, unit_days: int) -> Span:
    """Today to ``count`` units later: months, quarters and years by the calendar, others in days."""
    if unit_days == 30:
        return today, add_months(today, count)
    if unit_days == 90:
        return today, add_months(today, 3 * count)
    if unit_days == 365:
        return today, add_months(today, 12 * count)
    return today, today + timedelta(days=count * unit_days)


def named_month(today: date, month: int, year: int | None = None, *, skip_current: bool = False) -> Span:
    """A month by name: in ``year`` when given, else its next occurrence (the current month included
    unless ``skip_current``, as in "next November")."""
    if year is None:
        year = today.year
        if month < today.month or (skip_current and month == today.month):
            year += 1
    return month_span(year, month)


def _named_day(today: date, month: int, day: int, year: int | None) -> date:
    if year is not None:
        return date(year, month, day)
    found = date(today.year, month, day) if calendar.monthrange(today.year, month)[1] >= day else None
    if found is None or found < today:
        found = date(today.year + 1, month, day)
    return found


def _year(text: str | None) -> int | None:
    return int(text) if text else None


def span(text: str, today: date) -> Span:
    """The days a date phrase (one :data:`DATE` match) stands for; ValueError when it is no real day."""
    found = _DATE.fullmatch(text)
    if found is None:
        raise ValueError(f"not a date: {text!r}")
    g = found.groupdict()
    if g["iso"]:
        one = date(int(g["iso"]), int(g["isom"]), int(g["isod"]))
        return one, one
    for d, m, y in (("d1", "m1", "y1"), ("d2", "m2", "y2")):
        if g[d]:
            one = _named_day(today, MONTHS[g[m]], int(g[d]), _year(g[y]))
            return one, one
    if g["edge"]:
        if g["p1"]:
            whole = period_span(today, g["p1"], 1 if g["next"] else 0)
        elif g["m3"]:
            whole = named_month(today, MONTHS[g["m3"]], _year(g["y3"]))
        else:
            year = int(g["y4"])
            whole = date(year, 1, 1), date(year, 12, 31)
        one = whole[1] if g["edge"] in ("end", "close") else whole[0]
        return one, one
    if g["p2"] or g["eo"]:
        period = g["p2"] or {"eoy": "year", "eoq": "quarter", "eom": "month"}[g["eo"]]
        one = period_span(today, period)[1]
        return one, one
    if g["m4"]:
        return named_month(today, MONTHS[g["m4"]], _year(g["y5"]))
    if g["y6"]:
        year = int(g["y6"])
        return date(year, 1, 1), date(year, 12, 31)
    if g["p3"]:
        return period_span(today, g["p3"], 1)
    one = today if g["rel"] == "today" else today + timedelta(days=1)
    return one, one


def window(word: str, days: Span, today: date) -> tuple[date | None, date | None]:
    """The renewal window a date gives after ``word``: before, by (until, through), after, on or after."""
    first, last = days
    if word in ("before", "prior to", "ahead of"):
        return today, first - timedelta(days=1)
    if word in ("after", "later than"):
        return last + timedelta(days=1), None
    if word in ("on or after", "from", "starting", "since", "no earlier than"):
        return first, None
    return today, last
