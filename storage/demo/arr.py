"""ARR history of a demo account: its first known value about a year back (or at contract start), then the
expansions and contractions that led to today's ARR.

Healthy accounts expand (when their licensed seats grew in the usage history, on that day and by that
ratio); declining accounts shrink in their bad month; recovering ones were cut back during their dip;
churned ones were cut before they left. The last value is always the account's ARR, so the history and
``Account.arr`` agree. Changes are dated before ``today``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Final

from storage.demo.portfolio import DemoAccount, Trajectory, rng_for
from storage.demo.usage import DECLINE_DAYS, DIP_BOTTOM, DIP_START, DailyUsage

HISTORY_DAYS: Final = (365, 400)  # the first value is this many days back, or the contract start if later
_STEP: Final = {"enterprise": 1_000, "mid-market": 500, "smb": 100}  # ARR is rounded to this
_EXPANSION: Final = (1.1, 1.4)
_CONTRACTION: Final = (0.7, 0.9)


@dataclass(frozen=True, slots=True)
class DemoArrChange:
    day: date
    arr: Decimal
    previous_arr: Decimal | None


def seats_grew_on(history: Sequence[DailyUsage]) -> tuple[date, int, int] | None:
    """The day licensed seats went up in the usage history, with the seats before and after."""
    for before, after in pairwise(history):
        if after.licensed_seats > before.licensed_seats:
            return after.day, before.licensed_seats, after.licensed_seats
    return None


def _round(value: Decimal, segment: str) -> Decimal:
    step = Decimal(_STEP[segment])
    return ((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).quantize(Decimal("0.01"))


def _changes(
    account: DemoAccount, rng: random.Random, today: date, first: date, seats: tuple[date, int, int] | None
) -> list[tuple[date, float]]:
    """(day, factor) of each change, any order: ARR after = ARR before * factor."""
    last = (account.churned_on or today) - timedelta(days=1)

    def some_day(oldest_days_ago: int, newest_days_ago: int) -> date | None:
        low = max(first + timedelta(days=1), today - timedelta(days=oldest_days_ago))
        high = min(last, today - timedelta(days=newest_days_ago))
        return low + timedelta(days=rng.randint(0, (high - low).days)) if low <= high else None

    def expansion() -> float:
        return rng.uniform(*_EXPANSION)

    def contraction() -> float:
        return rng.uniform(*_CONTRACTION)

    span = (today - first).days
    planned: list[tuple[date | None, float]] = []
    match account.trajectory:
        case Trajectory.HEALTHY:
            if seats is not None:
                planned.append((seats[0], seats[2] / seats[1]))
            for _ in range(rng.randint(0, 2)):
                planned.append((some_day(span, 1), expansion()))
            if rng.random() < 0.1:
                planned.append((some_day(span, 1), contraction()))
        case Trajectory.DECLINING:
            if rng.random() < 0.5:
                planned.append((some_day(span, 120), expansion()))
            if rng.random() < 0.6:
                planned.append((some_day(DECLINE_DAYS, 1), contraction()))
        case Trajectory.RECOVERING:
            if rng.random() < 0.4:
                planned.append((some_day(span, DIP_START), expansion()))
            if rng.random() < 0.5:
                planned.append((some_day(DIP_START, DIP_BOTTOM[1]), contraction()))
        case Trajectory.ONBOARDING:
            if rng.random() < 0.2:
                planned.append((some_day(span, 1), expansion()))
        case Trajectory.CHURNED:
            if rng.random() < 0.5:
                planned.append((some_day(span, 1), contraction()))
    return [(day, factor) for day, factor in planned if day is not None and first < day <= last]


def arr_history(
    account: DemoAccount, *, today: date, seed: int, usage: Sequence[DailyUsage] = ()
) -> list[DemoArrChange]:
    """The account's ARR changes, oldest first; the last one is ``account.arr``."""
    rng = rng_for(seed, account.external_id, "arr")
    first = max(account.contract_start, today - timedelta(days=rng.randint(*HISTORY_DAYS)))
    changes = sorted(_changes(account, rng, today, first, seats_grew_on(usage)))
    # From today's ARR backwards: each change divides it by its factor; one that rounds away is dropped.
    values = [account.arr]
    days: list[date] = []
    for day, factor in reversed(changes):
        before = _round(values[-1] / Decimal(str(factor)), account.segment)
        if before <= 0 or before == values[-1] or (days and day == days[-1]):
            continue
        values.append(before)
        days.append(day)
    values.reverse()
    days.reverse()
    history = [DemoArrChange(first, values[0], None)]
    for day, previous, arr in zip(days, values[:-1], values[1:], strict=True):
        history.append(DemoArrChange(day, arr, previous))
    return history
