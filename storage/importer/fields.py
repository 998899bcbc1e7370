"""Field parsers shared by every kind: each takes a raw value and returns a clean one or raises
:class:`FieldError` with the problem in words.

Raw values are strings from a CSV cell or, for the JSON ingest API, already-typed values (numbers,
dates); parsers accept both. Empty values never reach a parser: :func:`parse_record` turns them into
"missing value" or the field's default first. Parsers are built once per import (patterns compiled,
look-ups bound) because they run once per cell, possibly millions of times.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from storage.importer.errors import FieldProblem

Parser = Callable[[Any], Any]

_SHOWN = 80


class FieldError(ValueError):
    """The value of one field is wrong; the message says how."""


def shown(value: object) -> str:
    """``value`` quoted for a message, cut short so one bad cell cannot flood the report."""
    text = str(value)
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 3] + "..."
    return f"'{text}'"


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


def text(max_length: int) -> Parser:
    def parse(raw: Any) -> str:
        value = str(raw)
        if len(value) > max_length:
            raise FieldError(f"longer than {max_length} characters")
        return value

    return parse


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def email(raw: Any) -> str:
    """A lower-cased email address."""
    value = str(raw)
    if len(value) > 320 or not _EMAIL.fullmatch(value):
        raise FieldError(f"not an email address: {shown(value)}")
    return value.lower()


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
            return raw
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
        if len(cache) >= 4096:
            cache.clear()
        cache[value] = found
        return found

    return parse


_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


def iso_datetime(raw: Any) -> datetime:
    """An ISO date or date-time as an aware UTC datetime; a date is midnight UTC, a naive time is UTC."""
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
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise FieldError(f"not a number: {shown(raw)}")
    if isinstance(raw, int | float):
        number = float(raw)
    else:
        value = str(raw)
        # float() also takes "1_000", "nan" and "infinity"; only plain decimal notation is data here.
        if "_" in value:
            raise FieldError(f"not a number: {shown(value)}")
        try:
            number = float(value)
        except ValueError:
            raise FieldError(f"not a number: {shown(value)}") from None
    if not math.isfinite(number):
        raise FieldError(f"not a finite number: {shown(raw)}")
    return number


def non_negative_number(raw: Any) -> float:
    number = _number(raw)
    if number < 0:
        raise FieldError(f"must be 0 or more, not {shown(raw)}")
    return number


_INTEGER = re.compile(r"[+-]?\d+")


def whole_number(raw: Any) -> int:
    if isinstance(raw, bool):
        raise FieldError(f"not a whole number: {shown(raw)}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    value = str(raw)
    if not _INTEGER.fullmatch(value):
        raise FieldError(f"not a whole number: {shown(value)}")
    return int(value)


_MONEY = re.compile(r"\+?\d{1,12}(?:\.\d{1,2})?")


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
        if amount != amount.quantize(Decimal("0.01")) or amount >= Decimal(10) ** 12:
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
