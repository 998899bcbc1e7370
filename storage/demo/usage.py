"""Daily usage of a demo account: 90 days ending on ``today``, shaped by the account's trajectory.

``active_users`` is read as the number of distinct users active in the trailing seven days, so there is no
weekend dip; ``open_tickets`` is the number of tickets open at the end of the day (a stock, scaled to the
seat count); ``escalations`` counts the escalations raised that day and is mostly zero.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from storage.demo.portfolio import DemoAccount, Trajectory, rng_for

USAGE_DAYS: Final = 90
USAGE_METRICS: Final = (
    "active_users",
    "licensed_seats",
    "features_adopted",
    "features_available",
    "open_tickets",
    "escalations",
)
DECLINE_DAYS: Final = 30  # declining accounts lose their users over this many days before today
DIP_START: Final = 70  # recovering accounts start dipping this many days ago ...
DIP_BOTTOM: Final = (50, 35)  # ... sit at the bottom between these days ago ...
RECOVERED_BY: Final = 5  # ... and are nearly back this many days ago

Shape = Callable[[int], float]  # days ago -> a number


@dataclass(frozen=True, slots=True)
class DailyUsage:
    day: date
    active_users: int
    licensed_seats: int
    features_adopted: int
    features_available: int
    open_tickets: int
    escalations: int

    def values(self) -> tuple[tuple[str, float], ...]:
        """(metric, value) in :data:`USAGE_METRICS` order."""
        return tuple((metric, float(getattr(self, metric))) for metric in USAGE_METRICS)


def _ramp(x: float) -> float:
    return min(1.0, max(0.0, x))


def _decline(days_ago: int) -> float:
    """0 until DECLINE_DAYS ago, then rising to 1 three days before today."""
    return _ramp((DECLINE_DAYS - days_ago) / (DECLINE_DAYS - 3))


def _dip(days_ago: int) -> float:
    """How far into the dip a recovering account is: 0 before and after, 1 at the bottom."""
    fall_end, rise_start = DIP_BOTTOM
    if days_ago >= DIP_START:
        return 0.0
    if days_ago >= fall_end:
        return (DIP_START - days_ago) / (DIP_START - fall_end)
    if days_ago >= rise_start:
        return 1.0
    # Recovers to within 15% of the depth by RECOVERED_BY days ago.
    return 1.0 - 0.85 * _ramp((rise_start - days_ago) / (rise_start - RECOVERED_BY))


def onboarding_progress(account: DemoAccount, rng: random.Random, today: date) -> Shape:
    """A logistic ramp over days since the contract started, 0 at the start, close to 1 at the end."""
    midpoint = rng.uniform(40, 60)

    def progress(days_ago: int) -> float:
        since_start = (today - account.contract_start).days - days_ago
        low = 1 / (1 + math.exp(midpoint / 8))
        return _ramp((1 / (1 + math.exp(-(since_start - midpoint) / 8)) - low) / (1 - low))

    return progress


def _churn_fade(account: DemoAccount, today: date) -> Shape:
    """0 at the start of the history, 1 on the day the account left."""
    assert account.churned_on is not None
    left = (today - account.churned_on).days
    return lambda days_ago: _ramp((USAGE_DAYS - 1 - days_ago) / max(1, USAGE_DAYS - 1 - left))


def _utilisation(account: DemoAccount, rng: random.Random, progress: Shape, fade: Shape) -> Shape:
    """Share of licensed seats active, by days ago."""
    k = account.intensity
    match account.trajectory:
        case Trajectory.HEALTHY:
            base, drift = rng.uniform(0.68, 0.88), rng.uniform(-0.03, 0.06)
            return lambda d: base * (1 + drift * (USAGE_DAYS - 1 - d) / (USAGE_DAYS - 1))
        case Trajectory.DECLINING:
            base, drop = rng.uniform(0.65, 0.82), 0.33 + 0.27 * k
            return lambda d: base * (1 - drop * _decline(d))
        case Trajectory.RECOVERING:
            base, depth = rng.uniform(0.62, 0.8), 0.30 + 0.15 * k
            return lambda d: base * (1 - depth * _dip(d))
        case Trajectory.ONBOARDING:
            start, target = rng.uniform(0.03, 0.08), rng.uniform(0.35, 0.6)
            return lambda d: start + (target - start) * progress(d)
        case Trajectory.CHURNED:
            base = rng.uniform(0.45, 0.65)
            return lambda d: base * (1 - 0.85 * fade(d))


def _ticket_level(account: DemoAccount, rng: random.Random, progress: Shape, fade: Shape) -> Shape:
    """Expected open tickets, by days ago: a rate per 100 licensed seats, plus a few for a declining account
    (so that even a small account visibly piles up tickets)."""
    per_100_seats = _ticket_rate(account, rng, progress, fade)
    if account.trajectory is Trajectory.DECLINING:
        extra = 1.5 + 2 * account.intensity
        return lambda d: account.seats * per_100_seats(d) / 100 + extra * _decline(d)
    return lambda d: account.seats * per_100_seats(d) / 100


def _ticket_rate(account: DemoAccount, rng: random.Random, progress: Shape, fade: Shape) -> Shape:
    """Open tickets per 100 licensed seats, by days ago."""
    k = account.intensity
    match account.trajectory:
        case Trajectory.HEALTHY:
            rate = rng.uniform(0.3, 1.2)
            return lambda d: rate
        case Trajectory.DECLINING:
            rate, rise = rng.uniform(0.6, 1.4), 2.5 + 3.5 * k
            return lambda d: rate + rise * _decline(d)
        case Trajectory.RECOVERING:
            rate = rng.uniform(0.5, 1.2)
            return lambda d: rate + 3.0 * _dip(d)
        case Trajectory.ONBOARDING:
            early, late = rng.uniform(2.0, 3.5), rng.uniform(0.8, 1.5)
            return lambda d: late + (early - late) * (1 - progress(d))
        case Trajectory.CHURNED:
            rate = rng.uniform(0.8, 1.5)
            return lambda d: rate + 3.0 * fade(d)


def _escalation_chance(account: DemoAccount) -> Shape:
    """Chance of an escalation on a day, by days ago."""
    k = account.intensity
    match account.trajectory:
        case Trajectory.HEALTHY:
            return lambda d: 0.002
        case Trajectory.DECLINING:
            return lambda d: 0.05 + 0.08 * k if d < DECLINE_DAYS else 0.01
        case Trajectory.RECOVERING:
            return lambda d: 0.05 if DIP_BOTTOM[1] <= d < DIP_START else 0.004
        case Trajectory.ONBOARDING:
            return lambda d: 0.008
        case Trajectory.CHURNED:
            return lambda d: 0.05


def _feature_changes(
    account: DemoAccount, rng: random.Random, last_days_ago: int
) -> tuple[int, list[tuple[int, int]]]:
    """Features adopted at the start of the history, and (days ago, change) steps after it."""
    available = account.features_available
    steps: list[tuple[int, int]] = []
    match account.trajectory:
        case Trajectory.HEALTHY:
            start = round(available * rng.uniform(0.55, 0.78))
            steps = [(rng.randint(1, 85), 1) for _ in range(rng.randint(0, 2))]
        case Trajectory.DECLINING:
            start = round(available * rng.uniform(0.5, 0.7))
            steps = [(rng.randint(2, DECLINE_DAYS - 2), -1) for _ in range(1 + round(2 * account.intensity))]
        case Trajectory.RECOVERING:
            start = round(available * rng.uniform(0.5, 0.7))
            lost = rng.randint(1, 2)
            steps = [(rng.randint(45, 65), -1) for _ in range(lost)]
            steps += [(rng.randint(5, 30), 1) for _ in range(lost + rng.randint(0, 1))]
        case Trajectory.CHURNED:
            start = round(available * rng.uniform(0.35, 0.55))
            steps = [(rng.randint(last_days_ago, USAGE_DAYS - 2), -1) for _ in range(rng.randint(1, 3))]
        case Trajectory.ONBOARDING:
            start = 1
    return start, steps


def usage_history(account: DemoAccount, *, today: date, seed: int) -> list[DailyUsage]:
    """One :class:`DailyUsage` per day of the 90 days ending ``today`` (or ending when the account left)."""
    rng = rng_for(seed, account.external_id, "usage")
    progress = onboarding_progress(account, rng, today)
    fade = _churn_fade(account, today) if account.churned_on else (lambda d: 0.0)
    utilisation = _utilisation(account, rng, progress, fade)
    ticket_level = _ticket_level(account, rng, progress, fade)
    escalation_chance = _escalation_chance(account)
    last_days_ago = (today - account.churned_on).days if account.churned_on else 0
    features_start, feature_steps = _feature_changes(account, rng, last_days_ago)
    onboarding_features = rng.randint(3, 6)
    expansion = _expansion(account, rng)

    history: list[DailyUsage] = []
    user_noise = ticket_noise = 0.0
    for days_ago in range(USAGE_DAYS - 1, last_days_ago - 1, -1):
        seats = expansion[0] if days_ago > expansion[1] else account.seats
        user_noise = 0.6 * user_noise + rng.gauss(0, 0.015)
        active = min(seats, max(0, round(seats * utilisation(days_ago) * (1 + user_noise))))
        tickets_level = ticket_level(days_ago)
        ticket_noise = 0.7 * ticket_noise + rng.gauss(0, 0.7 * (0.4 * math.sqrt(tickets_level) + 0.05))
        chance, draw = escalation_chance(days_ago), rng.random()
        if account.trajectory is Trajectory.ONBOARDING:
            adopted = 1 + round((onboarding_features - 1) * progress(days_ago))
        else:
            adopted = features_start + sum(change for when, change in feature_steps if days_ago <= when)
        history.append(
            DailyUsage(
                day=today - timedelta(days=days_ago),
                active_users=active,
                licensed_seats=seats,
                features_adopted=min(account.features_available, max(1, adopted)),
                features_available=account.features_available,
                open_tickets=max(0, round(tickets_level + ticket_noise)),
                escalations=int(draw < chance) + int(draw < chance * 0.1),
            )
        )
    if account.trajectory is Trajectory.DECLINING:
        _ensure_recent_escalation(history, rng)
    return history


def _expansion(account: DemoAccount, rng: random.Random) -> tuple[int, int]:
    """Seats before a mid-history expansion and how many days ago it happened (-1: no expansion)."""
    if account.trajectory is Trajectory.HEALTHY and rng.random() < 0.2:
        return max(5, round(account.seats / rng.uniform(1.1, 1.25))), rng.randint(10, 80)
    return account.seats, -1


def _ensure_recent_escalation(history: list[DailyUsage], rng: random.Random) -> None:
    """A declining account always has at least one escalation in its last 30 days."""
    recent = history[-DECLINE_DAYS:]
    if any(day.escalations for day in recent):
        return
    i = len(history) - 1 - rng.randint(3, DECLINE_DAYS - 5)
    day = history[i]
    history[i] = DailyUsage(
        day.day,
        day.active_users,
        day.licensed_seats,
        day.features_adopted,
        day.features_available,
        day.open_tickets,
        1,
    )
