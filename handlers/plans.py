"""Success plans: ``plan ACCOUNT``, adding outcomes, marking them achieved, sharing what was achieved."""

from __future__ import annotations

from bot.registry import Registry


def register(registry: Registry) -> None:
    """Nothing yet."""
