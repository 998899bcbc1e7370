"""What every benchmark reports: figures with a target, measured as the median of several runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.dataset import DatasetInfo


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


@dataclass(frozen=True, slots=True)
class BenchContext:
    """What every benchmark's ``run(ctx)`` gets: a database holding the portfolio, and the options.

    ``url`` is a SQLAlchemy URL (``sqlite+aiosqlite:///...`` or ``postgresql+asyncpg://...``); a
    benchmark may change the data (the next one still sees the same portfolio, give or take its writes).
    """

    url: str
    backend: str
    scale: float
    runs: int
    dataset: DatasetInfo
    workdir: Path
