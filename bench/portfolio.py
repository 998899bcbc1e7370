"""The people and accounts of the benchmark portfolio, and their rows in the ``person`` and ``account``
tables.

Admins, CX staff, CS managers and CSMs (each reporting to a manager), and company-like accounts that
share words in their names, each with the traits (seats, utilisation, drift, sentiment...) that the
generated activity of :mod:`bench.activity` follows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from bench.loaders import Loader
from storage.demo.vocabulary import (
    COMPANY_INDUSTRIES,
    COMPANY_PREFIXES,
    FIRST_NAMES,
    LAST_NAMES,
    SEGMENTS,
)
from storage.names import name_key

TIMEZONE: Final = "UTC"
STAFF_DOMAIN: Final = "bench.example.com"

# Words that make company names share parts, as real portfolios do ("Northwind Logistics",
# "Northwind Capital Partners"), so fuzzy look-up has close neighbours to tell apart.
MODIFIERS: Final = (
    "North",
    "Blue",
    "Summit",
    "River",
    "Harbor",
    "Prime",
    "Union",
    "Atlas",
    "Crown",
    "Pioneer",
    "Evergreen",
    "Keystone",
    "Beacon",
    "Sterling",
    "Vista",
    "Horizon",
    "Granite",
    "Meridian",
    "Crescent",
    "Liberty",
)
SUFFIXES: Final = ("Inc", "Ltd", "GmbH", "Group", "Partners", "Holdings", "Co", "AG", "SA", "LLC")
TIERS: Final = ("gold", "silver", "bronze")


def slack_user_id(person_id: int) -> str:
    """The Slack user id the dataset gives person ``person_id`` (so requests need no users.info call)."""
    return f"UB{person_id:07d}"


@dataclass(slots=True)
class BenchAccount:
    id: int
    name: str
    segment: str
    owner_id: int | None
    seats: int
    utilisation: float  # share of seats active 30+ days ago
    drift: float  # relative change of active users over the last 30 days (-0.6 .. +0.2)
    features: int
    adoption: float
    tickets_per_100: float
    escalation_rate: float  # escalations per day
    sentiment: float  # 0 (unhappy) .. 1 (happy): drives survey scores
    arr: Decimal
    renewal: date
    contract_start: date


@dataclass(frozen=True, slots=True)
class People:
    rows: list[tuple[Any, ...]]
    csm_ids: list[int]
    manager_email: str
    email_of: dict[int, str]


def make_people(rng: random.Random, count: int, now: datetime, loader: Loader) -> People:
    """Admins, CX, CS managers (reporting to the first admin) and CSMs (each reporting to a manager)."""
    admins = max(1, count // 200)
    cx = max(1, count // 50)
    managers = max(1, count // 16)
    roles = ["admin"] * admins + ["cx"] * cx + ["cs_manager"] * managers
    roles += ["csm"] * max(1, count - len(roles))
    rows = []
    csm_ids: list[int] = []
    email_of: dict[int, str] = {}
    manager_ids = list(range(admins + cx + 1, admins + cx + managers + 1))
    stamp = loader.moment(now)
    for person_id, role in enumerate(roles, start=1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first.lower()}.{last.lower()}.{person_id}@{STAFF_DOMAIN}"
        manager_id = None
        if role == "cs_manager":
            manager_id = 1
        elif role == "csm":
            manager_id = manager_ids[person_id % len(manager_ids)]
            csm_ids.append(person_id)
        email_of[person_id] = email
        rows.append(
            (
                person_id,
                email,
                f"{first} {last}",
                role,
                manager_id,
                TIMEZONE,
                slack_user_id(person_id),
                stamp,
                stamp,
            )
        )
    return People(rows=rows, csm_ids=csm_ids, manager_email=email_of[manager_ids[0]], email_of=email_of)


def _company_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct company-like names that share words with many others."""
    pool: list[str] = [f"{p} {i}" for p in COMPANY_PREFIXES for i in COMPANY_INDUSTRIES]
    pool += [f"{p} {m} {i}" for p in COMPANY_PREFIXES for m in MODIFIERS for i in COMPANY_INDUSTRIES]
    pool += [f"{p} {i} {s}" for p in COMPANY_PREFIXES for i in COMPANY_INDUSTRIES for s in SUFFIXES]
    if count > len(pool):
        pool += [f"{name} {n}" for n in range(2, 2 + math.ceil(count / len(pool))) for name in pool]
    return rng.sample(pool, count)


def make_accounts(rng: random.Random, count: int, csm_ids: Sequence[int], today: date) -> list[BenchAccount]:
    owners = list(csm_ids)
    rng.shuffle(owners)
    accounts = []
    for index, name in enumerate(_company_names(rng, count)):
        segment = rng.choices(SEGMENTS, weights=(2, 3, 5))[0]
        seats = int(
            math.exp(
                rng.uniform(*{"enterprise": (5.5, 7.6), "mid-market": (4.0, 5.5)}.get(segment, (2.3, 4.0)))
            )
        )
        trajectory = rng.random()
        drift = rng.uniform(-0.6, -0.25) if trajectory < 0.15 else rng.uniform(-0.08, 0.2)
        years = rng.randint(1, 4)
        renewal = today + timedelta(days=rng.randint(-20, 364))
        accounts.append(
            BenchAccount(
                id=index + 1,
                name=name,
                segment=segment,
                owner_id=None if rng.random() < 0.01 else owners[index % len(owners)],
                seats=seats,
                utilisation=rng.uniform(0.25, 0.95),
                drift=drift,
                features=rng.randint(20, 60),
                adoption=rng.uniform(0.2, 0.9),
                tickets_per_100=rng.uniform(0.0, 8.0),
                escalation_rate=rng.choice((0.0, 0.0, 0.01, 0.03, 0.08)),
                sentiment=max(0.0, min(1.0, rng.gauss(0.65, 0.2) + drift)),
                arr=Decimal(round(seats * rng.uniform(300, 900), -2)).quantize(Decimal("0.01")),
                renewal=renewal,
                contract_start=renewal - timedelta(days=365 * years),
            )
        )
    return accounts


def _stage(account: BenchAccount, today: date) -> str:
    if (today - account.contract_start).days < 120:
        return "onboarding"
    if (account.renewal - today).days <= 90:
        return "renewing"
    return "mature" if account.utilisation > 0.5 else "adopting"


def account_rows(
    accounts: Sequence[BenchAccount], today: date, now: datetime, loader: Loader
) -> Iterator[tuple[Any, ...]]:
    stamp = loader.moment(now)
    for a in accounts:
        yield (
            a.id,
            f"ACC-{a.id:05d}",
            a.name,
            name_key(a.name),
            a.segment,
            TIERS[a.id % 3],
            loader.money(a.arr),
            _stage(a, today),
            loader.day(a.contract_start),
            loader.day(a.renewal),
            a.owner_id,
            stamp,
            stamp,
        )


PERSON_COLUMNS: Final = (
    "id",
    "email",
    "name",
    "role",
    "manager_id",
    "timezone",
    "slack_user_id",
    "created_at",
    "updated_at",
)
ACCOUNT_COLUMNS: Final = (
    "id",
    "external_id",
    "name",
    "name_key",
    "segment",
    "tier",
    "arr",
    "lifecycle_stage",
    "contract_start",
    "renewal_date",
    "owner_id",
    "created_at",
    "updated_at",
)
