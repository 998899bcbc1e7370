"""How numbers, dates and bands read in chat. One place, so Slack, Teams and the console agree."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from bot.currency import currency_prefix
from bot.settings import get_settings
from storage.arr_history import YEAR_DAYS, ArrTrend, same_arr
from storage.models import Band

BAND_MARK = {
    Band.GREEN: "🟢",
    Band.YELLOW: "🟡",
    Band.RED: "🔴",
    Band.UNKNOWN: "⚪",
}


def band_mark(band: Band | str) -> str:
    try:
        return BAND_MARK[Band(band)]
    except ValueError:
        return BAND_MARK[Band.UNKNOWN]


def score_text(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.0f}"


def trend_text(change: float | None, days: int) -> str:
    """ "▼ 12 in 7 days", "▲ 3 in 30 days", "= in 7 days"; empty when there is nothing to compare with."""
    if change is None:
        return ""
    rounded = round(change)
    if rounded == 0:
        return f"= in {days} days"
    arrow = "▲" if rounded > 0 else "▼"
    return f"{arrow} {abs(rounded)} in {days} days"


def trend_arrow(change: float | None) -> str:
    if change is None or round(change) == 0:
        return ""
    return f"▲{round(change)}" if change > 0 else f"▼{abs(round(change))}"


def money(amount: Decimal | float | int | None, currency: str | None = None) -> str:
    """Compact amount in ``currency`` (default: TOUCHPOINT_CURRENCY): $950, €12.5k, CHF 1.2M, -$4.0k."""
    if amount is None:
        return "n/a"
    value = float(amount)
    prefix = currency_prefix(currency or get_settings().currency)
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size >= 1_000_000:
        number = f"{size / 1_000_000:.1f}M"
    elif size >= 10_000:
        number = f"{size / 1_000:.0f}k"
    elif size >= 1_000:
        number = f"{size / 1_000:.1f}k"
    else:
        number = f"{size:,.0f}"
    return f"{sign}{prefix}{number}"


def plural(count: int, noun: str) -> str:
    """ "1 day", "3 days", "1 account"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def day_text(day: date | None) -> str:
    return "n/a" if day is None else f"{day:%a %d %b %Y}"


def days_until_text(day: date, today: date) -> str:
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta > 0:
        return f"in {delta} days"
    if delta == -1:
        return "1 day ago"
    return f"{-delta} days ago"


def ago_text(moment: datetime | date | None, today: date) -> str:
    if moment is None:
        return "never"
    day = moment.date() if isinstance(moment, datetime) else moment
    return days_until_text(day, today)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "..." when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 3)].rstrip() + "..."


def signed_money(amount: Decimal, currency: str | None = None) -> str:
    """ "+$12k", "-$4.0k": an ARR movement."""
    return ("-" if amount < 0 else "+") + money(abs(amount), currency)


def arr_trend_text(trend: ArrTrend) -> str:
    """ "ARR +$12k (+15%) in 12 months", "ARR -$3.0k (-4%) since Mon 02 Mar 2026", "ARR unchanged ..."."""
    span = "12 months" if trend.days == YEAR_DAYS else plural(trend.days, "day")
    period = f"in {span}" if trend.full_period else f"since {day_text(trend.since)}"
    if same_arr(trend.before, trend.now):
        return f"ARR unchanged {period}"
    share = f" ({trend.percent:+.0f}%)" if trend.percent is not None else ""
    return f"ARR {signed_money(trend.change)}{share} {period}"
