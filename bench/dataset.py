"""The benchmark portfolio: a large CS organisation, generated quickly and deterministically.

At scale 1.0: 20,000 accounts, 1,000 people (CSMs with managers), 90 days of 6 usage metrics per account
(10.8 million rows), 100,000 survey responses, 60,000 milestones, 40,000 follow-ups, about one
success-plan outcome per two accounts, 1-3 ARR changes per account, and health snapshots for the last
31 days. Every size scales with ``scale``.

Rows are generated in Python (seeded, so the same seed gives the same data) and written in bulk:
PostgreSQL with COPY (asyncpg's ``copy_records_to_table``, foreign-key triggers off during the load),
SQLite with ``executemany`` in large transactions (WAL, ``synchronous=OFF`` during the load). Today's
health snapshots come from the real health engine (``bot.health_service.recompute``), so cards show real
drivers; the 30 days before are derived from them in SQL with a per-account drift, so trends, risk and
digests have something to show.

Everyone works in UTC: "today" is the same calendar day for every person, so reads find the snapshots
of today instead of computing missing ones on the fly.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.health.model import HealthModel
from bot.health.service import recompute
from storage.db import Database, is_sqlite
from storage.demo.vocabulary import (
    COMPANY_INDUSTRIES,
    COMPANY_PREFIXES,
    CONTACT_FIRST_NAMES,
    CSAT_NEGATIVE_COMMENTS,
    CSAT_POSITIVE_COMMENTS,
    FIRST_NAMES,
    HEALTHY_FOLLOW_UPS,
    LAST_NAMES,
    NPS_DETRACTOR_COMMENTS,
    NPS_PASSIVE_COMMENTS,
    NPS_PROMOTER_COMMENTS,
    SEGMENTS,
)
from storage.migrate import upgrade
from storage.names import name_key

# ------------------------------------------------------------------------------------------ the sizes

ACCOUNTS: Final = 20_000
PEOPLE: Final = 1_000
USAGE_DAYS: Final = 90
USAGE_METRICS: Final = (
    "active_users",
    "licensed_seats",
    "features_adopted",
    "features_available",
    "open_tickets",
    "escalations",
)
SURVEYS: Final = 100_000
MILESTONES_PER_ACCOUNT: Final = 3  # 60,000
FOLLOW_UPS_PER_ACCOUNT: Final = 2  # 40,000
SNAPSHOT_DAYS: Final = 31  # today and the 30 days before
CHUNK_ROWS: Final = 50_000  # rows per COPY / executemany: bounds the loader's memory

POSTGRES_ADMIN_URL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
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
MILESTONE_TEMPLATES: Final = (
    ("Kickoff", "kickoff"),
    ("Technical setup", "technical_setup"),
    ("First value", "first_value"),
    ("Go-live", "go_live"),
    ("QBR", "qbr"),
    ("Renewal", "renewal"),
    ("Executive business review", "other"),
)
OUTCOME_TEMPLATES: Final = (  # (title, metric, comparison, target as a factor of the baseline)
    ("Grow active users", "active_users", "at_least", 1.3),
    ("Adopt more features", "features_adopted", "at_least", 1.25),
    ("Cut open tickets", "open_tickets", "at_most", 0.6),
    ("Lift NPS", "nps", "at_least", 1.2),
    ("Roll out to every licensed seat", "active_users", "at_least", 1.5),
    ("Executive sponsor signs off the rollout", None, "at_least", None),
)


# ----------------------------------------------------------------------------------------- the result


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """What :func:`build_dataset` wrote, and who and what the benchmarks can ask about.

    ``csm_email`` / ``csm_slack_user_id`` name a CSM owning ``csm_account_count`` accounts (about 20 at
    scale 1.0); every person's Slack user id is ``slack_user_id(person_id)``. ``sample_account_names``
    are exact names of existing accounts (benchmarks make typos of them). ``seconds`` is the build time.
    """

    url: str
    scale: float
    seed: int
    today: date
    counts: dict[str, int]
    sample_account_names: tuple[str, ...]
    csm_email: str
    csm_slack_user_id: str
    csm_account_count: int
    manager_email: str
    seconds: float
    phase_seconds: dict[str, float] = field(default_factory=dict)


def slack_user_id(person_id: int) -> str:
    """The Slack user id the dataset gives person ``person_id`` (so requests need no users.info call)."""
    return f"UB{person_id:07d}"


def scaled(size: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(size * scale))


# ------------------------------------------------------------------------------------- bench databases


@contextlib.asynccontextmanager
async def bench_database(backend: str, *, admin_url: str = POSTGRES_ADMIN_URL) -> AsyncIterator[str]:
    """A fresh, empty database for one benchmark run, removed afterwards whatever happens (errors,
    Ctrl-C): a SQLite file in a temporary directory, or a PostgreSQL database ``touchpoint_bench_<random>``
    on the server of ``admin_url``. Yields its SQLAlchemy URL."""
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="touchpoint_bench_"))
        try:
            yield f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}")
    name = f"touchpoint_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield str(
            make_url(admin_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(False)
        )
    finally:
        # Shielded: a second Ctrl-C must not leave the database behind.
        await asyncio.shield(_drop_postgres_database(admin_url, name))


async def _drop_postgres_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# ------------------------------------------------------------------------------------------ the loaders


class _Loader:
    """Bulk writes into one database; subclasses adapt values to the driver (``day``, ``moment``...)."""

    async def copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        raise NotImplementedError

    async def execute(self, sql: str, *params: Any) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        raise NotImplementedError

    def day(self, value: date) -> Any:
        return value

    def moment(self, value: datetime | None) -> Any:
        return value

    def money(self, value: Decimal | None) -> Any:
        return value


def _chunks(rows: Iterable[tuple[Any, ...]], size: int = CHUNK_ROWS) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _PostgresLoader(_Loader):
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str) -> _PostgresLoader:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        # Foreign keys are checked by triggers: off for this session's load (the data is consistent).
        await connection.execute("SET session_replication_role = replica")
        return cls(connection)

    async def copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        count = 0
        for chunk in _chunks(rows):
            await self.connection.copy_records_to_table(table, records=chunk, columns=list(columns))
            count += len(chunk)
        return count

    async def execute(self, sql: str, *params: Any) -> None:
        await self.connection.execute(sql.replace("?", "${}").format(*range(1, len(params) + 1)), *params)

    async def finish(self) -> None:
        try:
            for table in ("person", "account", "survey_response", "milestone", "follow_up", "outcome"):
                await self.connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            await self.connection.execute(
                "SELECT setval(pg_get_serial_sequence('arr_change', 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM arr_change), false)"
            )
            await self.connection.execute("ANALYZE")  # what autovacuum would soon do on a live server
        finally:
            await self.connection.close()


class _SqliteLoader(_Loader):
    """sqlite3 directly: the async driver adds a thread hop per call that a bulk load does not need."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-200000")

    async def copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        count = 0
        self.connection.execute("BEGIN")
        for chunk in _chunks(rows, CHUNK_ROWS * 10):
            self.connection.executemany(sql, chunk)
            count += len(chunk)
        self.connection.execute("COMMIT")
        return count

    async def execute(self, sql: str, *params: Any) -> None:
        self.connection.execute(sql, params)

    async def finish(self) -> None:
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.close()

    def day(self, value: date) -> Any:
        return value.isoformat()

    def moment(self, value: datetime | None) -> Any:
        # SQLAlchemy's SQLite format for a UTCDateTime: naive UTC with microseconds.
        return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def money(self, value: Decimal | None) -> Any:
        return None if value is None else float(value)


# ---------------------------------------------------------------------------------------- the portfolio


@dataclass(slots=True)
class _Account:
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
class _People:
    rows: list[tuple[Any, ...]]
    csm_ids: list[int]
    manager_email: str
    email_of: dict[int, str]


def _people(rng: random.Random, count: int, now: datetime, loader: _Loader) -> _People:
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
    return _People(rows=rows, csm_ids=csm_ids, manager_email=email_of[manager_ids[0]], email_of=email_of)


def _company_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct company-like names that share words with many others."""
    pool: list[str] = [f"{p} {i}" for p in COMPANY_PREFIXES for i in COMPANY_INDUSTRIES]
    pool += [f"{p} {m} {i}" for p in COMPANY_PREFIXES for m in MODIFIERS for i in COMPANY_INDUSTRIES]
    pool += [f"{p} {i} {s}" for p in COMPANY_PREFIXES for i in COMPANY_INDUSTRIES for s in SUFFIXES]
    if count > len(pool):
        pool += [f"{name} {n}" for n in range(2, 2 + math.ceil(count / len(pool))) for name in pool]
    return rng.sample(pool, count)


def _accounts(rng: random.Random, count: int, csm_ids: Sequence[int], today: date) -> list[_Account]:
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
            _Account(
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


def _stage(account: _Account, today: date) -> str:
    if (today - account.contract_start).days < 120:
        return "onboarding"
    if (account.renewal - today).days <= 90:
        return "renewing"
    return "mature" if account.utilisation > 0.5 else "adopting"


def _account_rows(
    accounts: Sequence[_Account], today: date, now: datetime, loader: _Loader
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


def _usage_rows(
    accounts: Sequence[_Account], today: date, loader: _Loader, seed: int
) -> Iterator[tuple[Any, ...]]:
    """90 days x 6 metrics per account, in primary-key order (account, day, metric) so indexes append."""
    noise_rng = random.Random(seed * 31 + 1)
    noise = [noise_rng.uniform(-0.06, 0.06) for _ in range(101)]
    days = [(n, loader.day(today - timedelta(days=n))) for n in range(USAGE_DAYS - 1, -1, -1)]
    for a in accounts:
        base_users = a.seats * a.utilisation
        adopted = a.features * a.adoption
        tickets = a.tickets_per_100 * a.seats / 100
        for days_ago, day in days:
            wobble = noise[(a.id * 7 + days_ago) % 101]
            progress = max(0.0, min(1.0, (30 - days_ago) / 27))  # drift happens over the last 30 days
            users = max(0, round(base_users * (1 + a.drift * progress) * (1 + wobble)))
            escalation = (
                1.0 if noise[(a.id * 13 + days_ago * 3) % 101] + 0.06 < a.escalation_rate * 1.2 else 0.0
            )
            yield (a.id, day, "active_users", float(users))
            yield (a.id, day, "licensed_seats", float(a.seats))
            yield (a.id, day, "features_adopted", float(round(adopted * (1 - days_ago / 400))))
            yield (a.id, day, "features_available", float(a.features))
            yield (a.id, day, "open_tickets", float(max(0, round(tickets * (1 + 3 * wobble)))))
            yield (a.id, day, "escalations", escalation)


def _survey_rows(
    rng: random.Random, accounts: Sequence[_Account], count: int, now: datetime, loader: _Loader
) -> Iterator[tuple[Any, ...]]:
    for survey_id in range(1, count + 1):
        a = accounts[rng.randrange(len(accounts))]
        kind = rng.choices(("nps", "csat", "ces"), weights=(50, 35, 15))[0]
        mood = max(0.0, min(1.0, rng.gauss(a.sentiment, 0.2)))
        comment = None
        sentiment = None
        if kind == "nps":
            score = round(mood * 10)
            if rng.random() < 0.35:
                texts = (
                    NPS_DETRACTOR_COMMENTS
                    if score <= 6
                    else NPS_PASSIVE_COMMENTS
                    if score <= 8
                    else NPS_PROMOTER_COMMENTS
                )
                comment = rng.choice(texts)
        elif kind == "csat":
            score = 1 + round(mood * 4)
            if rng.random() < 0.25:
                comment = rng.choice(CSAT_POSITIVE_COMMENTS if score >= 4 else CSAT_NEGATIVE_COMMENTS)
        else:
            score = 7 - round(mood * 6)
        if comment is not None:
            sentiment = round((mood - 0.5) * 1.6 + rng.uniform(-0.1, 0.1), 3)
        submitted = now - timedelta(days=rng.uniform(0, 180))
        key = f"bench-srv-{survey_id}"
        contact = rng.choice(CONTACT_FIRST_NAMES).lower()
        yield (
            survey_id,
            a.id,
            kind,
            score,
            comment,
            f"{contact}@acc{a.id}.example",
            loader.moment(submitted),
            key,
            key,
            sentiment,
        )


def _milestone_rows(
    rng: random.Random,
    accounts: Sequence[_Account],
    per_account: int,
    now: datetime,
    today: date,
    loader: _Loader,
) -> Iterator[tuple[Any, ...]]:
    milestone_id = 0
    for a in accounts:
        for template_name, kind in rng.sample(MILESTONE_TEMPLATES, per_account):
            milestone_id += 1
            due = today + timedelta(days=rng.randint(-120, 150))
            name = f"{template_name} {due:%b %Y}"
            completed = None
            if due < today and rng.random() < 0.75:
                completed = loader.moment(
                    datetime.combine(due, datetime.min.time(), UTC) + timedelta(hours=rng.randint(-240, 48))
                )
            snoozed = (
                loader.day(today + timedelta(days=rng.randint(1, 14)))
                if completed is None and rng.random() < 0.05
                else None
            )
            yield (milestone_id, a.id, name, kind, loader.day(due), completed, snoozed)


def _follow_up_rows(
    rng: random.Random,
    accounts: Sequence[_Account],
    per_account: int,
    now: datetime,
    today: date,
    loader: _Loader,
) -> Iterator[tuple[Any, ...]]:
    count = len(accounts) * per_account
    for follow_up_id in range(1, count + 1):
        n = follow_up_id - 1
        a = accounts[n] if n < len(accounts) else accounts[rng.randrange(len(accounts))]
        kind, summary, next_step = rng.choice(HEALTHY_FOLLOW_UPS)
        contact = rng.choice(CONTACT_FIRST_NAMES)
        created = now - timedelta(days=rng.uniform(0, 120))
        is_open = next_step is not None and rng.random() < 0.6
        due = today + timedelta(days=rng.randint(-30, 30)) if is_open else None
        done_at = None if is_open else loader.moment(created + timedelta(days=rng.uniform(0, 5)))
        yield (
            follow_up_id,
            a.id,
            a.owner_id,
            kind.value,
            summary.format(contact=contact),
            next_step.format(contact=contact) if next_step else None,
            loader.day(due) if due else None,
            "open" if is_open else "done",
            None,
            loader.moment(created),
            done_at,
        )


def _outcome_rows(
    rng: random.Random, accounts: Sequence[_Account], now: datetime, today: date, loader: _Loader
) -> Iterator[tuple[Any, ...]]:
    stamp = loader.moment(now)
    for outcome_id, a in enumerate(accounts[::2], start=1):
        title, metric, comparison, factor = rng.choice(OUTCOME_TEMPLATES)
        start = today - timedelta(days=rng.randint(10, 200))
        due = start + timedelta(days=rng.randint(60, 270))
        baseline = target = None
        if metric == "active_users":
            baseline = float(round(a.seats * a.utilisation))
        elif metric == "features_adopted":
            baseline = float(round(a.features * a.adoption))
        elif metric == "open_tickets":
            baseline = float(max(1, round(a.tickets_per_100 * a.seats / 100)))
        elif metric == "nps":
            baseline = float(round((a.sentiment - 0.5) * 120))
        if baseline is not None and factor is not None:
            target = round(baseline * factor, 1) if metric != "nps" else baseline + 20.0
        status = "open"
        achieved_at = achieved_value = None
        if due < today:
            status = rng.choice(("achieved", "missed"))
        if status == "achieved":
            achieved_at = loader.moment(datetime.combine(due, datetime.min.time(), UTC))
            achieved_value = target
        yield (
            outcome_id,
            a.id,
            title,
            metric,
            comparison,
            target,
            baseline,
            loader.day(start),
            loader.day(due),
            f"{rng.choice(CONTACT_FIRST_NAMES)} (customer)",
            status,
            achieved_at,
            achieved_value,
            a.owner_id if status == "achieved" else None,
            None,
            a.owner_id,
            stamp,
            stamp,
        )


def _arr_rows(
    rng: random.Random, accounts: Sequence[_Account], now: datetime, loader: _Loader
) -> Iterator[tuple[Any, ...]]:
    """1-3 changes per account ending on its current ARR: the first known value, then expansions or
    contractions."""
    change_id = 0
    stamp = loader.moment(now)
    for a in accounts:
        changes = rng.randint(1, 3)
        values = [a.arr]
        for _ in range(changes - 1):
            values.append(
                (values[-1] * Decimal(str(round(rng.uniform(0.7, 1.1), 2)))).quantize(Decimal("0.01"))
            )
        values.reverse()  # oldest first, ending on the current ARR
        span = max(1, (now.date() - a.contract_start).days)
        days = sorted(a.contract_start + timedelta(days=rng.randint(0, span)) for _ in values[1:])
        previous = None
        for value, day in zip(values, [a.contract_start, *days], strict=True):
            change_id += 1
            yield (
                change_id,
                a.id,
                loader.day(day),
                loader.money(value),
                loader.money(previous),
                "import",
                stamp,
            )
            previous = value


# ------------------------------------------------------------------------------------------- building


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
SURVEY_COLUMNS: Final = (
    "id",
    "account_id",
    "kind",
    "score",
    "comment",
    "respondent_email",
    "submitted_at",
    "external_id",
    "natural_key",
    "sentiment",
)
MILESTONE_COLUMNS: Final = ("id", "account_id", "name", "kind", "due_date", "completed_at", "snoozed_until")
FOLLOW_UP_COLUMNS: Final = (
    "id",
    "account_id",
    "author_id",
    "kind",
    "summary",
    "next_step",
    "due_date",
    "status",
    "snoozed_until",
    "created_at",
    "done_at",
)
OUTCOME_COLUMNS: Final = (
    "id",
    "account_id",
    "title",
    "metric",
    "comparison",
    "target",
    "baseline",
    "start_date",
    "due_date",
    "customer_owner",
    "status",
    "achieved_at",
    "achieved_value",
    "achieved_by_id",
    "demonstrated_at",
    "created_by_id",
    "created_at",
    "updated_at",
)
ARR_COLUMNS: Final = ("id", "account_id", "day", "arr", "previous_arr", "source", "recorded_at")


async def build_dataset(url: str, scale: float, seed: int = 7) -> DatasetInfo:
    """Migrate the empty database at ``url`` (a SQLAlchemy URL) and fill it with the benchmark portfolio
    at ``scale`` (1.0 = the sizes of the module docstring). Prints nothing; the time is in the result."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    rng = random.Random(seed)
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    phases["migrate"] = time.perf_counter() - started

    loader: _Loader
    if is_sqlite(url):
        loader = _SqliteLoader(str(make_url(url).database))
    else:
        loader = await _PostgresLoader.open(url)
    counts: dict[str, int] = {}
    try:
        people = _people(rng, scaled(PEOPLE, scale, 10), now, loader)
        accounts = _accounts(rng, scaled(ACCOUNTS, scale, 20), people.csm_ids, today)

        async def load(table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
            begun = time.perf_counter()
            counts[table] = await loader.copy(table, columns, rows)
            phases[table] = time.perf_counter() - begun

        await load("person", PERSON_COLUMNS, people.rows)
        await load("account", ACCOUNT_COLUMNS, _account_rows(accounts, today, now, loader))
        await load(
            "usage_metric",
            ("account_id", "day", "metric", "value"),
            _usage_rows(accounts, today, loader, seed),
        )
        await load(
            "survey_response",
            SURVEY_COLUMNS,
            _survey_rows(random.Random(seed + 1), accounts, scaled(SURVEYS, scale), now, loader),
        )
        await load(
            "milestone",
            MILESTONE_COLUMNS,
            _milestone_rows(random.Random(seed + 2), accounts, MILESTONES_PER_ACCOUNT, now, today, loader),
        )
        await load(
            "follow_up",
            FOLLOW_UP_COLUMNS,
            _follow_up_rows(random.Random(seed + 3), accounts, FOLLOW_UPS_PER_ACCOUNT, now, today, loader),
        )
        await load(
            "outcome", OUTCOME_COLUMNS, _outcome_rows(random.Random(seed + 4), accounts, now, today, loader)
        )
        await load("arr_change", ARR_COLUMNS, _arr_rows(random.Random(seed + 5), accounts, now, loader))
    finally:
        await loader.finish()

    begun = time.perf_counter()
    db = Database(url)
    try:
        await recompute(db, today, model=HealthModel())
        phases["health_today"] = time.perf_counter() - begun
        begun = time.perf_counter()
        counts["health_snapshot"] = await _past_snapshots(db, accounts, today, seed)
        phases["health_history"] = time.perf_counter() - begun
    finally:
        await db.dispose()

    csm_id = _typical_csm(accounts, people.csm_ids)
    owned = sum(1 for a in accounts if a.owner_id == csm_id)
    sample_rng = random.Random(seed + 6)
    samples = tuple(a.name for a in sample_rng.sample(accounts, min(50, len(accounts))))
    return DatasetInfo(
        url=url,
        scale=scale,
        seed=seed,
        today=today,
        counts=counts,
        sample_account_names=samples,
        csm_email=people.email_of[csm_id],
        csm_slack_user_id=slack_user_id(csm_id),
        csm_account_count=owned,
        manager_email=people.manager_email,
        seconds=time.perf_counter() - started,
        phase_seconds=phases,
    )


def _typical_csm(accounts: Sequence[_Account], csm_ids: Sequence[int]) -> int:
    """The CSM whose number of accounts is the median (about 20 at scale 1.0)."""
    owned: dict[int, int] = dict.fromkeys(csm_ids, 0)
    for a in accounts:
        if a.owner_id is not None:
            owned[a.owner_id] += 1
    ranked = sorted(owned, key=lambda person_id: (owned[person_id], person_id))
    return ranked[len(ranked) // 2]


async def _past_snapshots(db: Database, accounts: Sequence[_Account], today: date, seed: int) -> int:
    """The 30 days before today, derived in SQL from today's snapshots: each account's score moves
    along a straight line whose 30-day change follows its usage drift (declining accounts were better
    before), so trends, ``risk`` and digest charts have something to show."""
    rng = random.Random(seed + 7)
    slopes = [{"a": a.id, "s": round(-a.drift * 60 + rng.uniform(-6, 6), 2)} for a in accounts]
    sqlite = db.is_sqlite
    clamp = "min(100.0, max(0.0, {}))" if sqlite else "least(100.0, greatest(0.0, {}))"
    score = clamp.format("h.score + s.slope * :days_ago / 30.0")
    day = ":day" if sqlite else "CAST(:day AS DATE)"
    today_param = ":today" if sqlite else "CAST(:today AS DATE)"
    insert = text(
        "INSERT INTO health_snapshot (account_id, day, score, band, confidence, components, computed_at) "
        f"SELECT h.account_id, {day}, {score}, "
        f"CASE WHEN h.score IS NULL THEN 'unknown' WHEN {score} >= 70 THEN 'green' "
        f"WHEN {score} >= 40 THEN 'yellow' ELSE 'red' END, h.confidence, h.components, h.computed_at "
        "FROM health_snapshot h JOIN bench_slope s ON s.account_id = h.account_id "
        f"WHERE h.day = {today_param}"
    )

    def param(value: date) -> Any:
        return value.isoformat() if sqlite else value

    async with db.engine.begin() as connection:
        await connection.execute(
            text("CREATE TEMP TABLE bench_slope (account_id INTEGER PRIMARY KEY, slope REAL)")
        )
        await connection.execute(text("INSERT INTO bench_slope VALUES (:a, :s)"), slopes)
        for days_ago in range(1, SNAPSHOT_DAYS):
            await connection.execute(
                insert,
                {"days_ago": days_ago, "day": param(today - timedelta(days=days_ago)), "today": param(today)},
            )
        await connection.execute(text("DROP TABLE bench_slope"))
        total = (await connection.execute(text("SELECT count(*) FROM health_snapshot"))).scalar_one()
    if not sqlite:
        async with db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("ANALYZE health_snapshot"))
    return int(total)


# ---------------------------------------------------------------------------------------------- by hand


def main(argv: Sequence[str] | None = None) -> None:
    """``python bench/dataset.py --backend sqlite --scale 0.02``: build one, print what it holds, drop it."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    async def build() -> None:
        async with bench_database(args.backend) as url:
            info = await build_dataset(url, args.scale, args.seed)
            print(f"dataset built in {info.seconds:.1f} s: {info.counts}")
            print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in info.phase_seconds.items()))
            print(f"CSM {info.csm_email} ({info.csm_slack_user_id}) owns {info.csm_account_count} accounts")
            print("samples: " + "; ".join(info.sample_account_names[:5]))

    asyncio.run(build())


if __name__ == "__main__":
    main()
