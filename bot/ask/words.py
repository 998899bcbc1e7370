"""A filter told back in words, shown above every answer so the asker sees exactly how the question
was read: "Renewal Tue 01 Dec 2026 – Thu 31 Dec 2026 · band red · owner you"."""

from __future__ import annotations

from bot.ask.filter import Filter
from bot.format import day_text, money

SORT_WORDS = {
    "arr_desc": "biggest ARR first",
    "arr_asc": "smallest ARR first",
    "score_asc": "worst health first",
    "score_desc": "best health first",
    "renewal_asc": "soonest renewal first",
    "fall_desc": "biggest fall first",
}
FLAG_WORDS = {
    "detractor": f"a detractor (NPS 0-6) in {90} days",
    "open_feedback": "open feedback",
    "overdue_milestones": "overdue milestones",
    "overdue_followups": "overdue follow-ups",
    "outcomes_at_risk": "success-plan outcomes at risk",
}


def _range(label: str, low: str | None, high: str | None) -> str | None:
    if low is not None and high is not None:
        return f"{label} {low} – {high}" if low != high else f"{label} {low}"
    if low is not None:
        return f"{label} from {low}"
    if high is not None:
        return f"{label} up to {high}"
    return None


def _score(value: float | None) -> str | None:
    return None if value is None else f"{value:.0f}"


def _money(value: float | None) -> str | None:
    return None if value is None else money(value)


def _day(value: object) -> str | None:
    return None if value is None else day_text(value)  # type: ignore[arg-type]


def filter_words(flt: Filter) -> str:
    """The filter's conditions, then its order and size, joined by " · "."""
    parts: list[str | None] = []
    parts.append(_range("Renewal", _day(flt.renewal_from), _day(flt.renewal_to)))
    if flt.bands:
        bands = [band for band in ("red", "yellow", "green") if band in flt.bands]
        parts.append(f"band {' or '.join(bands)}")
    parts.append(_range("health", _score(flt.score_min), _score(flt.score_max)))
    if flt.trend is not None:
        parts.append(f"health {flt.trend.direction} {flt.trend.points:.0f}+ points in {flt.trend.days} days")
    parts.append(_range("ARR", _money(flt.arr_min), _money(flt.arr_max)))
    if flt.segments:
        parts.append(f"segment {' or '.join(sorted(flt.segments))}")
    if flt.tiers:
        parts.append(f"tier {' or '.join(sorted(flt.tiers))}")
    if flt.stages:
        parts.append(f"stage {' or '.join(sorted(flt.stages))}")
    parts += [words for name, words in FLAG_WORDS.items() if getattr(flt, name)]
    if flt.untouched_days is not None:
        parts.append(f"no follow-up logged in {flt.untouched_days} days")
    if flt.owner is not None:
        owner = {"me": "you", "team": "you and your team"}.get(flt.owner.kind, flt.owner.name or "someone")
        parts.append(f"owner {owner}")
    if flt.sort is not None:
        parts.append(SORT_WORDS[flt.sort])
    if flt.limit is not None:
        parts.append(f"top {flt.limit}")
    shown = [part for part in parts if part]
    text = " · ".join(shown) if shown else "all accounts"
    return text[:1].upper() + text[1:]
