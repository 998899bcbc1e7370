"""Feedback routing and timing, from the ``[feedback]`` table of ``touchpoint.toml``.

Values missing from the file come from the environment settings (``TOUCHPOINT_FEEDBACK_*``), then from
the built-in defaults, so a team can start with environment variables and move to the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.feedback.sentiment import STRONGLY_NEGATIVE

DEFAULT_CX_TAGS = ("bug", "process", "docs", "product")


class FeedbackConfigError(ValueError):
    """An invalid ``[feedback]`` value, with the file and key in the message."""


@dataclass(frozen=True, slots=True)
class FeedbackConfig:
    cs_channel: str | None = None
    cx_channel: str | None = None
    cx_tags: tuple[str, ...] = DEFAULT_CX_TAGS
    escalate_after_business_days: tuple[int, int] = (1, 3)
    theme_min_accounts: int = 3
    theme_days: int = 14
    # Comments whose tone is at or below this are flagged "strongly negative" and handled as urgent.
    strongly_negative: float = STRONGLY_NEGATIVE


def load_feedback_config(settings: Any) -> FeedbackConfig:
    env_tags = getattr(settings, "feedback_cx_tags", None)
    env_negative = getattr(settings, "feedback_strongly_negative", None)
    base = FeedbackConfig(
        cs_channel=getattr(settings, "feedback_cs_channel", None) or None,
        cx_channel=getattr(settings, "feedback_cx_channel", None) or None,
        cx_tags=tuple(env_tags) if env_tags is not None else DEFAULT_CX_TAGS,
        strongly_negative=float(env_negative) if env_negative is not None else STRONGLY_NEGATIVE,
    )
    path = Path(getattr(settings, "config_file", "touchpoint.toml"))
    if not path.exists():
        return base
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get("feedback", {})
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise FeedbackConfigError(f"{path}: cannot be read: {exc}") from exc
    if not isinstance(table, Mapping):
        raise FeedbackConfigError(f"{path}: feedback: must be a table ([feedback])")
    return _merge(base, table, str(path))


def _merge(base: FeedbackConfig, table: Mapping[str, Any], source: str) -> FeedbackConfig:
    known = {
        "cs_channel",
        "cx_channel",
        "cx_tags",
        "escalate_after_business_days",
        "theme_min_accounts",
        "theme_days",
        "strongly_negative",
    }
    unknown = sorted(set(table) - known)
    if unknown:
        raise FeedbackConfigError(
            f"{source}: feedback.{unknown[0]}: unknown key (expected one of {sorted(known)})"
        )
    values: dict[str, Any] = {}
    for key in ("cs_channel", "cx_channel"):
        if key in table:
            value = table[key]
            if not isinstance(value, str) or ":" not in value:
                raise FeedbackConfigError(
                    f"{source}: feedback.{key}: must look like 'slack:C0123ABC' or 'teams:19:...'"
                )
            values[key] = value
    if "cx_tags" in table:
        tags = table["cx_tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise FeedbackConfigError(f"{source}: feedback.cx_tags: must be a list of tag names")
        values["cx_tags"] = tuple(t.strip().lstrip("#").lower() for t in tags)
    if "escalate_after_business_days" in table:
        days = table["escalate_after_business_days"]
        if (
            not isinstance(days, list)
            or len(days) != 2
            or not all(isinstance(d, int) and d > 0 for d in days)
            or days[0] >= days[1]
        ):
            raise FeedbackConfigError(
                f"{source}: feedback.escalate_after_business_days: two whole numbers, the reminder before "
                "the manager, e.g. [1, 3]"
            )
        values["escalate_after_business_days"] = (days[0], days[1])
    for key, lowest in (("theme_min_accounts", 2), ("theme_days", 1)):
        if key in table:
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
                raise FeedbackConfigError(
                    f"{source}: feedback.{key}: must be a whole number, at least {lowest}"
                )
            values[key] = value
    if "strongly_negative" in table:
        value = table["strongly_negative"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 0:
            raise FeedbackConfigError(
                f"{source}: feedback.strongly_negative: must be a number from -1 to 0, e.g. -0.6"
            )
        values["strongly_negative"] = float(value)
    return replace(base, **values)
