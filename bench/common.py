"""What every benchmark reports: figures with a target, measured as the median of several runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of the results table.

    ``measured`` is the median of ``runs`` runs (or a ratio measured within one run); ``passed`` is
    whether it meets ``target``. ``backend`` is "sqlite", "postgresql" or "" for figures that do not
    depend on the database.
    """

    name: str
    backend: str
    target: str
    measured: str
    passed: bool
    runs: int = 1
    note: str = ""


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0..100) by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]
