"""What happens on the benchmark accounts, as table rows: usage metrics, survey responses, milestones,
follow-ups, success-plan outcomes and ARR changes.

Every generator follows the traits of :class:`bench.portfolio.BenchAccount` (declining accounts use
less and answer surveys less kindly) and yields rows in the column order of its ``*_COLUMNS``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from bench.loaders import Loader
from bench.portfolio import BenchAccount
from storage.demo.vocabulary import (
    CONTACT_FIRST_NAMES,
    CSAT_NEGATIVE_COMMENTS,
    CSAT_POSITIVE_COMMENTS,
    HEALTHY_FOLLOW_UPS,
    NPS_DETRACTOR_COMMENTS,
    NPS_PASSIVE_COMMENTS,
    NPS_PROMOTER_COMMENTS,
)

USAGE_DAYS: Final = 90
USAGE_METRICS: Final = (
    "active_users",
    "licensed_seats",
    "features_adopted",
    "features_available",
    "open_tickets",
    "escalations",
)
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


def usage_rows(
    accounts: Sequence[BenchAccount], today: date, loader: Loader, seed: int
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


def survey_rows(
    rng: random.Random, accounts: Sequence[BenchAccount], count: int, now: datetime, loader: Loader
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


def milestone_rows(
    rng: random.Random,
    accounts: Sequence[BenchAccount],
    per_account: int,
    now: datetime,
    today: date,
    loader: Loader,
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


def follow_up_rows(
    rng: random.Random,
    accounts: Sequence[BenchAccount],
    per_account: int,
    now: datetime,
    today: date,
    loader: Loader,
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


def outcome_rows(
    rng: random.Random, accounts: Sequence[BenchAccount], now: datetime, today: date, loader: Loader
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


def arr_rows(
    rng: random.Random, accounts: Sequence[BenchAccount], now: datetime, loader: Loader
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
