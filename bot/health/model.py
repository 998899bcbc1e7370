"""The health model: component weights, band thresholds and the too-little-data rule (``touchpoint.toml``).

Everything lives under ``[health]`` (see ``touchpoint.example.toml``)::

    [health]
    min_confidence = 0.5      # below this share of weight with data, the score is "unknown"
    min_components = 2        # ... and with fewer components than this
    [health.thresholds]
    green = 70                # score >= green is green
    yellow = 40               # yellow <= score < green is yellow; below is red
    [health.weights]
    nps = 10                  # any component left out keeps its default weight; 0 switches it off
    [health.segments.enterprise.weights]
    nps = 20                  # a segment overrides single weights (and thresholds) of the global model

Weights are relative: they need not add up to 100. Segment names match the account's segment without
regard to case. A file that is absent means built-in defaults; a file that is present but wrong is an
error naming the file and the key, never silently ignored.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.health.components import COMPONENT_NAMES, COMPONENTS
from bot.settings import get_settings

DEFAULT_GREEN = 70.0
DEFAULT_YELLOW = 40.0
DEFAULT_MIN_CONFIDENCE = 0.5
DEFAULT_MIN_COMPONENTS = 2

_HEALTH_KEYS = ("min_confidence", "min_components", "thresholds", "weights", "segments")
_SEGMENT_KEYS = ("thresholds", "weights")
_THRESHOLD_KEYS = ("green", "yellow")


class HealthConfigError(ValueError):
    """The health section of a configuration file is invalid; the message names the file and the key."""


def _default_weights() -> Mapping[str, float]:
    return MappingProxyType({c.name: float(c.default_weight) for c in COMPONENTS})


@dataclass(frozen=True)
class HealthProfile:
    """The weights and band thresholds that apply to one segment (or to accounts of no listed segment)."""

    weights: Mapping[str, float] = field(default_factory=_default_weights)
    green: float = DEFAULT_GREEN
    yellow: float = DEFAULT_YELLOW


def _no_segments() -> Mapping[str, HealthProfile]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HealthModel:
    """The whole configuration of the health score. ``segments`` are keyed by case-folded segment name."""

    default: HealthProfile = field(default_factory=HealthProfile)
    segments: Mapping[str, HealthProfile] = field(default_factory=_no_segments)
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    min_components: int = DEFAULT_MIN_COMPONENTS

    def profile_for(self, segment: str | None) -> HealthProfile:
        if segment and self.segments:
            return self.segments.get(segment.strip().casefold(), self.default)
        return self.default

    @classmethod
    def from_mapping(cls, health: Mapping[str, Any], source: str = "configuration") -> HealthModel:
        """Build from the contents of the ``[health]`` table; ``source`` names the file in errors."""
        return _Parser(source).model(health)


def load_health_model(path: Path | str | None = None) -> HealthModel:
    """The health model in ``path`` (default: the configured ``config_file``); defaults when it is absent."""
    if path is None:
        path = get_settings().config_file
    path = Path(path)
    if not path.exists():
        return HealthModel()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise HealthConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise HealthConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    health = data.get("health", {})
    if not isinstance(health, Mapping):
        raise HealthConfigError(f"{path}: health: must be a table ([health])")
    return HealthModel.from_mapping(health, str(path))


class _Parser:
    """Validation of the ``[health]`` table, with messages like ``touchpoint.toml: health.weights.x: ...``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, problem: str) -> HealthConfigError:
        return HealthConfigError(f"{self.source}: {key}: {problem}")

    def table(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a table, got {value!r}")
        return value

    def known_keys(self, table: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> None:
        for name in table:
            if name not in allowed:
                raise self.error(f"{key}.{name}", f"unknown key (expected one of: {', '.join(allowed)})")

    def number(self, value: Any, key: str, low: float, high: float = math.inf) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(key, f"must be a number, got {value!r}")
        if not low <= value <= high:
            bounds = f"at least {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
            raise self.error(key, f"must be {bounds}, got {value!r}")
        return float(value)

    def model(self, health: Mapping[str, Any]) -> HealthModel:
        self.known_keys(health, "health", _HEALTH_KEYS)
        min_confidence = DEFAULT_MIN_CONFIDENCE
        if "min_confidence" in health:
            min_confidence = self.number(health["min_confidence"], "health.min_confidence", 0, 1)
        min_components = DEFAULT_MIN_COMPONENTS
        if "min_components" in health:
            value = health["min_components"]
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error("health.min_components", f"must be a whole number, got {value!r}")
            min_components = int(self.number(value, "health.min_components", 1, len(COMPONENT_NAMES)))
        default = self.profile(health, "health", HealthProfile())
        segments: dict[str, HealthProfile] = {}
        raw_segments = self.table(health.get("segments", {}), "health.segments")
        for name, raw in raw_segments.items():
            key = f"health.segments.{name}"
            folded = name.strip().casefold()
            if folded in segments:
                raise self.error(key, "the same segment is listed twice (names ignore case)")
            segment = self.table(raw, key)
            self.known_keys(segment, key, _SEGMENT_KEYS)
            segments[folded] = self.profile(segment, key, default)
        return HealthModel(default, MappingProxyType(segments), min_confidence, min_components)

    def profile(self, table: Mapping[str, Any], key: str, base: HealthProfile) -> HealthProfile:
        """``base`` with the weights and thresholds that ``table`` overrides."""
        weights = dict(base.weights)
        raw_weights = self.table(table.get("weights", {}), f"{key}.weights")
        for name, value in raw_weights.items():
            if name not in COMPONENT_NAMES:
                raise self.error(
                    f"{key}.weights.{name}", f"unknown component (known: {', '.join(COMPONENT_NAMES)})"
                )
            weights[name] = self.number(value, f"{key}.weights.{name}", 0)
        if not any(w > 0 for w in weights.values()):
            raise self.error(f"{key}.weights", "at least one weight must be above 0")
        thresholds = self.table(table.get("thresholds", {}), f"{key}.thresholds")
        self.known_keys(thresholds, f"{key}.thresholds", _THRESHOLD_KEYS)
        green, yellow = base.green, base.yellow
        if "green" in thresholds:
            green = self.number(thresholds["green"], f"{key}.thresholds.green", 0, 100)
        if "yellow" in thresholds:
            yellow = self.number(thresholds["yellow"], f"{key}.thresholds.yellow", 0, 100)
        if not yellow < green:
            raise self.error(f"{key}.thresholds", f"yellow ({yellow:g}) must be below green ({green:g})")
        return HealthProfile(MappingProxyType(weights), green, yellow)


__all__ = ["HealthConfigError", "HealthModel", "HealthProfile", "load_health_model"]
