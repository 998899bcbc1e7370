"""Field parsers shared by every kind: each takes a raw value and returns a clean one or raises
:class:`FieldError` with the problem in words.

Raw values are strings from a CSV cell or, for the JSON ingest API, already-typed values (numbers,
dates); parsers accept both. Empty values never reach a parser: :func:`parse_record` turns them into
"missing value" or the field's default first. Parsers are built once per import (patterns compiled,
look-ups bound) because they run once per cell, possibly millions of times.

Every value is bounded by what its column and the health engine can hold, so one hostile value can
neither fail the write nor, later, a computation over many rows: numbers are finite and within
:data:`MAX_NUMBER` (integers within the 32-bit column), days within :data:`EARLIEST_DAY` ..
:data:`LATEST_DAY` (PostgreSQL would store the ends of Python's range as -infinity and infinity), and
text holds no NUL or lone surrogate, has its control characters removed (:mod:`storage.text`) and is
no longer than its column.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from storage import text as texts
from storage.importer.errors import FieldProblem

Parser = Callable[[Any], Any]

_SHOWN = 80

# The largest magnitude of a measured number (usage values, outcome targets): sums over a year of
# daily values stay exact and far from the float and PostgreSQL limits (about 1e308).
MAX_NUMBER = 1e15
MAX_NUMBER_TEXT = "10^15"
# Whole numbers go into 32-bit INTEGER columns.
MIN_INTEGER, MAX_INTEGER = -(2**31), 2**31 - 1
# Days and moments outside this range are refused: no customer data is that old or that far ahead.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2200, 12, 31)
DAY_RANGE = f"{EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"
# A multi-line comment is capped at this many characters.
MAX_COMMENT = 10_000


class FieldError(ValueError):
    """The value of one field is wrong; the message says how."""


def shown(value: object) -> str:
    """``value`` quoted for a message, cut short so one bad cell cannot flood the report, with control
    characters escaped so the report prints safely on a terminal."""
    text = str(value)
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 3] + "..."
    return f"'{texts.terminal_safe(text)}'"


@dataclass(frozen=True, slots=True)
class Field:
    """One input field: its name (the CSV column), how to parse it, whether it must have a value.

    The parsed value is stored in the record under ``column`` (the table column; by default the field
    name). An optional field whose value is empty becomes ``default``; an optional field that is absent
    altogether (no such column) is left out of the record, so writers can tell "set to empty" from
    "not given".
    """

    name: str
    parse: Parser
    required: bool = True
    default: Any = None
    column: str = ""

    @property
    def target(self) -> str:
        return self.column or self.name


_ABSENT = object()


def parse_record(
    fields: tuple[Field, ...], row: Mapping[str, object]
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Parse every field of ``row``: the values that parsed, and a (column, problem) per one that did not."""
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for f in fields:
        target = f.column or f.name
        raw = row.get(f.name, _ABSENT)
        if raw is _ABSENT:
            if f.required:
                problems.append((f.name, "missing value"))
            continue
        if isinstance(raw, str):
            raw = raw.strip()
        if raw is None or raw == "":
            if f.required:
                problems.append((f.name, "missing value"))
            else:
                values[target] = f.default
            continue
        try:
            values[target] = f.parse(raw)
        except FieldError as exc:
            problems.append((f.name, str(exc)))
    return values, problems


def text(max_length: int, *, multiline: bool = False) -> Parser:
    """Text of at most ``max_length`` characters (the column's size), without control characters.

    A NUL character or a lone surrogate is refused (neither can be stored); other control characters
    are removed, and in one-line text tabs and line breaks become spaces (see :func:`storage.text.clean`).
    """

    def parse(raw: Any) -> str:
        value = str(raw)
        problem = texts.problem(value)
        if problem is not None:
            raise FieldError(problem)
        value = texts.clean(value, multiline=multiline).strip()
        if len(value) > max_length:
            raise FieldError(f"longer than {max_length:,} characters")
        if not value:
            raise FieldError("only control characters")
        return value

    return parse


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def email(raw: Any) -> str:
    """A lower-cased email address."""
    value = str(raw)
    if len(value) > 320 or not _EMAIL.fullmatch(value):
        raise FieldError(f"not an email address: {shown(value)}")
    return value.lower()


_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def domain(raw: Any) -> str:
    """A lower-cased web domain (``acme.com``); a URL or an address gives its host (``https://www.acme.com/``
    and ``jo@acme.com`` are ``acme.com``)."""
    value = str(raw).strip().lower()
    value = value.rsplit("@", 1)[-1]
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value).split("/", 1)[0].rstrip(".")
    value = value.removeprefix("www.")
    if not _DOMAIN.fullmatch(value):
        raise FieldError(f"not a web domain: {shown(str(raw))} (like acme.com)")
    return value


def choice(values: list[str], what: str) -> Parser:
    """One of ``values``, compared case-insensitively; the message lists what is allowed."""
    allowed = frozenset(values)
    listing = ", ".join(values)

    def parse(raw: Any) -> str:
        value = str(raw).lower()
        if value not in allowed:
            raise FieldError(f"unknown {what} {shown(raw)} (expected one of {listing})")
        return value

    return parse


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def identifier(max_length: int) -> Parser:
    """A name such as ``active_users`` or ``api.calls``: starts with a letter or ``_``, no spaces."""

    def parse(raw: Any) -> str:
        value = str(raw)
        if not _IDENTIFIER.fullmatch(value):
            raise FieldError(
                f"not an identifier (letters, digits, '_', '.', '-', starting with a letter): {shown(value)}"
            )
        if len(value) > max_length:
            raise FieldError(f"longer than {max_length} characters")
        return value

    return parse


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date() -> Parser:
    """A ``YYYY-MM-DD`` date. Each parser keeps a small cache: long files repeat the same days."""
    cache: dict[str, date] = {}

    def parse(raw: Any) -> date:
        if isinstance(raw, date) and not isinstance(raw, datetime):
            return in_range(raw, raw)
        value = str(raw)
        found = cache.get(value)
        if found is not None:
            return found
        if not _ISO_DATE.fullmatch(value):
            raise FieldError(f"not a date (expected YYYY-MM-DD): {shown(value)}")
        try:
            found = date.fromisoformat(value)
        except ValueError:
            raise FieldError(f"no such date: {shown(value)}") from None
        in_range(found, value)
        if len(cache) >= 4096:
            cache.clear()
        cache[value] = found
        return found

    return parse


_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


def in_range(day: date, raw: object) -> date:
    """``day`` when it lies within :data:`EARLIEST_DAY` .. :data:`LATEST_DAY`; else a :class:`FieldError`."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise FieldError(f"out of range ({DAY_RANGE}): {shown(raw)}")
    return day


# One day of margin each side: an offset moves a moment by less than a day, so converting a moment
# within these bounds to UTC cannot leave what Python's datetime can hold.
_FIRST_MOMENT = datetime.combine(EARLIEST_DAY - timedelta(days=1), datetime.min.time())
_LAST_MOMENT = datetime.combine(LATEST_DAY + timedelta(days=1), datetime.max.time())


def iso_datetime(raw: Any) -> datetime:
    """An ISO date or date-time as an aware UTC datetime; a date is midnight UTC, a naive time is UTC.

    The moment must fall within :data:`EARLIEST_DAY` .. :data:`LATEST_DAY` in UTC (its local date is
    checked first, so an offset such as ``+14:00`` on the first day Python knows cannot overflow).
    """
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime(raw.year, raw.month, raw.day)
    else:
        value = str(raw)
        if not _ISO_DATETIME.fullmatch(value):
            raise FieldError(
                f"not a date or date-time (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS): {shown(value)}"
            )
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise FieldError(f"no such date or time: {shown(value)}") from None
    if not _FIRST_MOMENT <= moment.replace(tzinfo=None) <= _LAST_MOMENT:
        raise FieldError(f"out of range ({DAY_RANGE}): {shown(raw)}")
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    in_range(moment.date(), raw)
    return moment


_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def number(raw: Any) -> float:
    """A finite number within -:data:`MAX_NUMBER` .. :data:`MAX_NUMBER`, from a number or plain decimal
    text (not ``nan``, ``infinity`` or ``1_000``)."""
    if isinstance(raw, bool):
        raise FieldError(f"not a number: {shown(raw)}")
    if isinstance(raw, int):
        if abs(raw) > MAX_NUMBER:  # before float(), which fails on integers past about 1e308
            raise FieldError(f"out of range (-{MAX_NUMBER_TEXT} to {MAX_NUMBER_TEXT}): {shown(raw)}")
        value: float = float(raw)
    elif isinstance(raw, float):
        value = raw
    else:
        text_value = str(raw)
        # float() also takes "1_000", "nan" and "infinity"; only plain decimal notation is data here.
        if "_" in text_value:
            raise FieldError(f"not a number: {shown(text_value)}")
        try:
            value = float(text_value)
        except ValueError:
            raise FieldError(f"not a number: {shown(text_value)}") from None
        if math.isinf(value) and _DECIMAL.fullmatch(text_value):  # digits past the float range
            raise FieldError(f"out of range (-{MAX_NUMBER_TEXT} to {MAX_NUMBER_TEXT}): {shown(raw)}")
    if not math.isfinite(value):
        raise FieldError(f"not a finite number: {shown(raw)}")
    if abs(value) > MAX_NUMBER:
        raise FieldError(f"out of range (-{MAX_NUMBER_TEXT} to {MAX_NUMBER_TEXT}): {shown(raw)}")
    return value


def non_negative_number(raw: Any) -> float:
    value = number(raw)
    if value < 0:
        raise FieldError(f"must be 0 or more, not {shown(raw)}")
    return value


_INTEGER = re.compile(r"([+-]?)(\d+)")
# Ten digits reach past the 32-bit range: longer text is refused before int() reads it.
_INTEGER_DIGITS = 10


def whole_number(raw: Any) -> int:
    """A whole number that fits a 32-bit INTEGER column."""
    if isinstance(raw, bool):
        raise FieldError(f"not a whole number: {shown(raw)}")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    else:
        text_value = str(raw)
        found = _INTEGER.fullmatch(text_value)
        if found is None:
            raise FieldError(f"not a whole number: {shown(text_value)}")
        sign, digits = found.groups()
        digits = digits.lstrip("0") or "0"
        if len(digits) > _INTEGER_DIGITS:
            raise FieldError(f"out of range ({MIN_INTEGER} to {MAX_INTEGER}): {shown(text_value)}")
        value = int(sign + digits)
    if not MIN_INTEGER <= value <= MAX_INTEGER:
        raise FieldError(f"out of range ({MIN_INTEGER} to {MAX_INTEGER}): {shown(raw)}")
    return value


_MONEY = re.compile(r"\+?\d{1,12}(?:\.\d{1,2})?")
_MONEY_LIMIT = Decimal(10) ** 12
_CENT = Decimal("0.01")


def money(raw: Any) -> Decimal:
    """A non-negative amount with at most 2 decimals and 12 integer digits (the ``Numeric(14, 2)`` column)."""
    if isinstance(raw, bool):
        raise FieldError(f"not a number: {shown(raw)}")
    if isinstance(raw, Decimal | int | float):
        try:
            amount = Decimal(str(raw))
        except InvalidOperation:
            raise FieldError(f"not a number: {shown(raw)}") from None
        if not amount.is_finite():
            raise FieldError(f"not a finite number: {shown(raw)}")
        if amount < 0:
            raise FieldError(f"must be 0 or more, not {shown(raw)}")
        # The size first: quantize() itself fails on amounts with more digits than its context holds.
        if amount >= _MONEY_LIMIT or amount != amount.quantize(_CENT):
            raise FieldError(f"not an amount with at most 12 digits and 2 decimals: {shown(raw)}")
        return amount
    value = str(raw)
    if not _MONEY.fullmatch(value):
        if value.startswith("-"):
            raise FieldError(f"must be 0 or more, not {shown(value)}")
        raise FieldError(f"not an amount with at most 12 digits and 2 decimals: {shown(value)}")
    return Decimal(value)


@lru_cache(maxsize=1024)
def _zone_exists(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def timezone(raw: Any) -> str:
    """An IANA time zone name, such as ``Europe/Paris``."""
    value = str(raw)
    if len(value) > 64 or not _zone_exists(value):
        raise FieldError(f"unknown time zone {shown(value)} (expected an IANA name such as Europe/Paris)")
    return value


def lookup(table: Mapping[str, int], missing: str, normalize: Parser = str) -> Parser:
    """The id that ``table`` maps the (normalized) value to.

    ``missing`` is the message when there is none, with ``{value}`` where the quoted value goes.
    """

    def parse(raw: Any) -> int:
        value = normalize(raw)
        found = table.get(value)
        if found is None:
            raise FieldError(missing.format(value=shown(value)))
        return found

    return parse
