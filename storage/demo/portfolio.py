"""The plan of a demo portfolio: who works in the team and which accounts they own, before any row is written.

Everything is drawn from random generators seeded by the demo seed and a label (see :func:`rng_for`), so the
same seed and the same ``today`` always give the same plan, whatever order the parts are generated in.
"""

from __future__ import annotations

import enum
import heapq
import math
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from storage.demo import vocabulary as words
from storage.models import LifecycleStage, Role
from storage.names import name_key

DEMO_CSM_EMAIL: Final = "maya.chen@example.com"
DEMO_MANAGER_EMAIL: Final = "jonas.albrecht@example.com"
DEMO_CX_EMAIL: Final = "priya.raman@example.com"
DEMO_ADMIN_EMAIL: Final = "sam.okafor@example.com"

RENEWING_WITHIN_DAYS: Final = 90  # an account whose renewal is this close is in the "renewing" stage
MIN_TENURE_DAYS: Final = 150  # accounts past onboarding started at least this long ago
FEATURES_AVAILABLE: Final = {"enterprise": 24, "mid-market": 18, "smb": 12}
SEGMENT_WEIGHTS: Final = {"enterprise": 0.2, "mid-market": 0.35, "smb": 0.45}

_ARR_RANGE: Final = {
    "enterprise": (150_000, 900_000, 1_000),
    "mid-market": (40_000, 150_000, 500),
    "smb": (6_000, 40_000, 100),
}  # low, high, rounded to
_SEAT_PRICE: Final = {"enterprise": (700, 900), "mid-market": (500, 650), "smb": (350, 450)}


def rng_for(seed: int, *labels: object) -> random.Random:
    """A generator for one part of the portfolio; string seeds are hashed with SHA-512, so this is stable."""
    return random.Random(":".join([str(seed), *map(str, labels)]))


def slug(text: str) -> str:
    """ASCII, lower-case, dash-separated: "Café Lumière" -> "cafe-lumiere"."""
    return re.sub(r"[^a-z0-9]+", "-", name_key(text)).strip("-")


def add_years(day: date, years: int) -> date:
    """``day`` moved by whole years; 29 February becomes 28 February in other years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# ---------------------------------------------------------------------------------------------- people


@dataclass(frozen=True, slots=True)
class DemoPerson:
    email: str
    name: str
    role: Role
    timezone: str
    manager_email: str | None = None


_FIXED_PEOPLE: Final = {
    Role.CS_MANAGER: DemoPerson(DEMO_MANAGER_EMAIL, "Jonas Albrecht", Role.CS_MANAGER, "Europe/Berlin"),
    Role.CSM: DemoPerson(DEMO_CSM_EMAIL, "Maya Chen", Role.CSM, "America/New_York", DEMO_MANAGER_EMAIL),
    Role.CX: DemoPerson(DEMO_CX_EMAIL, "Priya Raman", Role.CX, "Europe/London"),
    Role.ADMIN: DemoPerson(DEMO_ADMIN_EMAIL, "Sam Okafor", Role.ADMIN, "Asia/Singapore"),
}


def staff_counts(accounts: int) -> dict[Role, int]:
    """About one CSM per ten accounts (at least 3), a manager per six CSMs, a CX person per five CSMs."""
    csms = max(3, round(accounts / 10))
    return {
        Role.CS_MANAGER: max(1, round(csms / 6)),
        Role.CSM: csms,
        Role.CX: max(2, round(csms / 5)),
        Role.ADMIN: 1,
    }


class _NameSource:
    """Unique fictional full names and example.com addresses, in a seeded order."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self._pairs = [(first, last) for first in words.FIRST_NAMES for last in words.LAST_NAMES]
        rng.shuffle(self._pairs)
        self._taken = taken
        self._next = 0

    def take(self) -> tuple[str, str]:
        while True:
            first, last = self._pairs[self._next % len(self._pairs)]
            round_ = self._next // len(self._pairs)
            self._next += 1
            suffix = str(round_ + 1) if round_ else ""
            email = f"{slug(first)}.{slug(last)}{suffix}@{words.STAFF_DOMAIN}"
            if email not in self._taken:
                self._taken.add(email)
                return f"{first} {last}", email


def plan_people(accounts: int, seed: int) -> list[DemoPerson]:
    """Managers, CSMs, CX people and one admin; the fixed demo people come first in their role."""
    rng = rng_for(seed, "people")
    counts = staff_counts(accounts)
    names = _NameSource(rng, {p.email for p in _FIXED_PEOPLE.values()})
    by_role: dict[Role, list[DemoPerson]] = {}
    for role in (Role.CS_MANAGER, Role.CSM, Role.CX, Role.ADMIN):
        people = [_FIXED_PEOPLE[role]]
        for _ in range(counts[role] - 1):
            name, email = names.take()
            people.append(DemoPerson(email, name, role, rng.choice(words.TIME_ZONES)))
        by_role[role] = people
    managers, csms = by_role[Role.CS_MANAGER], by_role[Role.CSM]
    # Consecutive CSMs share a manager, so the demo CSM reports to the demo manager.
    by_role[Role.CSM] = [
        DemoPerson(p.email, p.name, p.role, p.timezone, managers[i * len(managers) // len(csms)].email)
        for i, p in enumerate(csms)
    ]
    return [person for role_people in by_role.values() for person in role_people]


# -------------------------------------------------------------------------------------------- accounts


class Trajectory(enum.StrEnum):
    """How an account's numbers move over the 90 days of demo history."""

    HEALTHY = "healthy"  # stable, high usage, promoters
    DECLINING = "declining"  # active users fall by a third to 60% in the last 30 days, tickets rise
    RECOVERING = "recovering"  # a dip 35-70 days ago, then back up
    ONBOARDING = "onboarding"  # started 90-105 days ago, usage ramps up from low, few features
    CHURNED = "churned"  # usage fades and stops when the account left, 20-60 days ago


# Shares of the generated (non-showcase) accounts; churned ones are counted separately.
_TRAJECTORY_SHARES: Final = {
    Trajectory.HEALTHY: 0.52,
    Trajectory.DECLINING: 0.18,
    Trajectory.RECOVERING: 0.13,
    Trajectory.ONBOARDING: 0.17,
}


@dataclass(frozen=True, slots=True)
class Contact:
    first_name: str
    email: str


@dataclass(frozen=True, slots=True)
class DemoAccount:
    index: int
    external_id: str
    name: str
    segment: str
    tier: str
    arr: Decimal
    lifecycle_stage: LifecycleStage
    contract_start: date
    renewal_date: date
    owner_email: str
    trajectory: Trajectory
    intensity: float  # 0..1: how steep the decline, how deep the dip
    seats: int
    features_available: int
    contacts: tuple[Contact, ...]
    churned_on: date | None = None


@dataclass(frozen=True, slots=True)
class _Showcase:
    """An account with a fixed name and story, owned by the demo CSM, so a demo script can rely on it."""

    name: str
    trajectory: Trajectory
    segment: str
    renewal_in_days: int
    contract_years: int
    intensity: float


# The demo CSM's own accounts: near-duplicate and accented names for fuzzy lookup, and one of every story.
SHOWCASE: Final = (
    _Showcase("Acme Rockets", Trajectory.DECLINING, "enterprise", 41, 3, 0.9),
    _Showcase("Acme Robotics", Trajectory.HEALTHY, "mid-market", 200, 2, 0.5),
    _Showcase("Café Lumière Studios", Trajectory.RECOVERING, "mid-market", 75, 2, 0.6),
    _Showcase("Grünfeld Maschinenbau", Trajectory.ONBOARDING, "smb", 270, 1, 0.5),
    _Showcase("Brightwater Logistics", Trajectory.HEALTHY, "enterprise", 25, 4, 0.3),
    _Showcase("Harborview Analytics", Trajectory.DECLINING, "smb", 12, 1, 0.4),
    _Showcase("Tidewater Health Partners", Trajectory.HEALTHY, "smb", 300, 1, 0.5),
)


@dataclass(frozen=True, slots=True)
class _Draft:
    name: str
    trajectory: Trajectory
    segment: str
    renewal_in_days: int | None  # None: drawn
    contract_years: int | None
    intensity: float | None


def _apportion(total: int, shares: dict[Trajectory, float]) -> list[Trajectory]:
    """``total`` trajectories in the given shares (largest remainder), in a fixed order."""
    exact = {t: total * share / sum(shares.values()) for t, share in shares.items()}
    counts = {t: math.floor(x) for t, x in exact.items()}
    by_remainder = sorted(shares, key=lambda t: (counts[t] - exact[t], list(shares).index(t)))
    for t in by_remainder[: total - sum(counts.values())]:
        counts[t] += 1
    return [t for t in shares for _ in range(counts[t])]


def churned_count(accounts: int) -> int:
    """A churned account or two in a portfolio of 60; none in tiny ones."""
    return max(1, round(accounts * 0.03)) if accounts >= 20 else 0


def _company_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    pairs = [f"{p} {i}" for p in words.COMPANY_PREFIXES for i in words.COMPANY_INDUSTRIES]
    rng.shuffle(pairs)
    names: list[str] = []
    round_ = 0
    while len(names) < count:
        for base in pairs:
            name = f"{base} {round_ + 1}" if round_ else base
            if name_key(name) not in taken:
                taken.add(name_key(name))
                names.append(name)
                if len(names) == count:
                    break
        round_ += 1
    return names


def _drafts(accounts: int, seed: int) -> list[_Draft]:
    showcase = [
        _Draft(s.name, s.trajectory, s.segment, s.renewal_in_days, s.contract_years, s.intensity)
        for s in SHOWCASE[:accounts]
    ]
    rest = accounts - len(showcase)
    rng = rng_for(seed, "accounts")
    churned = min(rest, churned_count(accounts))
    trajectories = _apportion(rest - churned, _TRAJECTORY_SHARES) + [Trajectory.CHURNED] * churned
    rng.shuffle(trajectories)
    names = _company_names(rng, rest, {name_key(s.name) for s in SHOWCASE})
    segments = list(SEGMENT_WEIGHTS)
    weights = list(SEGMENT_WEIGHTS.values())
    drawn = [
        _Draft(name, trajectory, rng.choices(segments, weights)[0], None, None, None)
        for name, trajectory in zip(names, trajectories, strict=True)
    ]
    return showcase + drawn


def _arr_and_seats(rng: random.Random, segment: str) -> tuple[Decimal, int]:
    low, high, step = _ARR_RANGE[segment]
    arr = round(math.exp(rng.uniform(math.log(low), math.log(high))) / step) * step
    seats = round(arr / rng.uniform(*_SEAT_PRICE[segment]))
    seats = max(5, round(seats / 5) * 5 if seats > 50 else seats)
    return Decimal(arr).quantize(Decimal("0.01")), seats


def _tier(segment: str, arr: Decimal) -> str:
    if segment == "enterprise":
        return "platinum" if arr >= 450_000 else "gold"
    if segment == "mid-market":
        return "gold" if arr >= 100_000 else "silver"
    return "silver" if arr >= 25_000 else "bronze"


def _dates(rng: random.Random, draft: _Draft, today: date) -> tuple[date, date, date | None]:
    """Contract start, renewal date (the next anniversary) and, for a churned account, the day it left."""
    if draft.trajectory is Trajectory.CHURNED:
        churned_on = today - timedelta(days=rng.randint(20, 60))
        return add_years(churned_on, -rng.randint(1, 3)), churned_on, churned_on
    if draft.trajectory is Trajectory.ONBOARDING:
        renewal_in = draft.renewal_in_days or 365 - rng.randint(90, 105)
        years = 1
    else:
        renewal_in = draft.renewal_in_days or rng.randint(1, 364)
        years = draft.contract_years or rng.randint(1, 4)
    renewal = today + timedelta(days=renewal_in)
    start = add_years(renewal, -years)
    if draft.trajectory is not Trajectory.ONBOARDING and (today - start).days < MIN_TENURE_DAYS:
        start = add_years(start, -1)
    return start, renewal, None


def _stage(trajectory: Trajectory, start: date, renewal: date, today: date) -> LifecycleStage:
    if trajectory is Trajectory.ONBOARDING:
        return LifecycleStage.ONBOARDING
    if trajectory is Trajectory.CHURNED:
        return LifecycleStage.CHURNED
    if (renewal - today).days <= RENEWING_WITHIN_DAYS:
        return LifecycleStage.RENEWING
    return LifecycleStage.ADOPTING if (today - start).days < 540 else LifecycleStage.MATURE


def _contacts(rng: random.Random, name: str) -> tuple[Contact, ...]:
    domain = f"{slug(name)}.{words.CUSTOMER_TLD}"
    firsts = rng.sample(words.CONTACT_FIRST_NAMES, rng.randint(2, 5))
    lasts = rng.sample(words.LAST_NAMES, len(firsts))
    return tuple(
        Contact(first, f"{slug(first)}.{slug(last)}@{domain}")
        for first, last in zip(firsts, lasts, strict=True)
    )


def _owners(drafts: list[_Draft], csm_emails: list[str]) -> list[str]:
    """Showcase accounts go to the demo CSM; every other account to the CSM with the fewest so far."""
    showcase = min(len(drafts), len(SHOWCASE))
    load = [(showcase if email == DEMO_CSM_EMAIL else 0, i) for i, email in enumerate(csm_emails)]
    heapq.heapify(load)
    owners = [DEMO_CSM_EMAIL] * showcase
    for _ in range(len(drafts) - showcase):
        count, i = heapq.heappop(load)
        owners.append(csm_emails[i])
        heapq.heappush(load, (count + 1, i))
    return owners


def plan_accounts(accounts: int, seed: int, today: date, csm_emails: list[str]) -> list[DemoAccount]:
    """The accounts, showcase first; ``csm_emails`` must start with the demo CSM."""
    drafts = _drafts(accounts, seed)
    owners = _owners(drafts, csm_emails)
    planned: list[DemoAccount] = []
    for index, (draft, owner) in enumerate(zip(drafts, owners, strict=True)):
        external_id = f"demo-acc-{index + 1:04d}"
        rng = rng_for(seed, external_id, "profile")
        arr, seats = _arr_and_seats(rng, draft.segment)
        start, renewal, churned_on = _dates(rng, draft, today)
        intensity = draft.intensity if draft.intensity is not None else rng.random()
        planned.append(
            DemoAccount(
                index=index,
                external_id=external_id,
                name=draft.name,
                segment=draft.segment,
                tier=_tier(draft.segment, arr),
                arr=arr,
                lifecycle_stage=_stage(draft.trajectory, start, renewal, today),
                contract_start=start,
                renewal_date=renewal,
                owner_email=owner,
                trajectory=draft.trajectory,
                intensity=intensity,
                seats=seats,
                features_available=FEATURES_AVAILABLE[draft.segment],
                contacts=_contacts(rng, draft.name),
                churned_on=churned_on,
            )
        )
    return planned


@dataclass(frozen=True, slots=True)
class DemoPortfolio:
    seed: int
    today: date
    people: list[DemoPerson]
    accounts: list[DemoAccount]


def plan_portfolio(accounts: int, seed: int, today: date) -> DemoPortfolio:
    """People and accounts of a demo portfolio; pure and deterministic."""
    if accounts < 1:
        raise ValueError("a demo portfolio needs at least one account")
    people = plan_people(accounts, seed)
    csm_emails = [p.email for p in people if p.role is Role.CSM]
    return DemoPortfolio(seed, today, people, plan_accounts(accounts, seed, today, csm_emails))
