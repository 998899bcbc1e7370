"""Writing a demo portfolio into an empty database: one transaction, bulk inserts in batches.

Survey comments are written with their tone (scored by the caller's ``tone``), as an import would store them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record
from storage.db import Database
from storage.demo.arr import arr_history
from storage.demo.outcomes import DemoOutcome, success_plan
from storage.demo.plans import follow_ups, milestones
from storage.demo.portfolio import DemoAccount, DemoPerson, DemoPortfolio, plan_portfolio
from storage.demo.surveys import DemoSurvey, survey_responses
from storage.demo.usage import USAGE_DAYS, DailyUsage, usage_history
from storage.importer.rules import ToneScorer
from storage.models import (
    Account,
    ArrChange,
    FollowUp,
    Milestone,
    Outcome,
    Person,
    SurveyResponse,
    UsageMetric,
)
from storage.names import name_key

BATCH_ROWS: Final = 10_000  # rows per executemany; bounds memory for large portfolios
SURVEY_ID_PREFIX: Final = "demo-srv-"
ARR_SOURCE: Final = "demo"  # ArrChange.source of the invented history


class DemoDataError(RuntimeError):
    """The database cannot take demo data: it already holds accounts (or the demo people)."""


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What :func:`generate_demo_data` wrote: rows per table, and accounts per trajectory."""

    seed: int
    today: date
    people: int = 0
    accounts: int = 0
    usage_metrics: int = 0
    survey_responses: int = 0
    milestones: int = 0
    follow_ups: int = 0
    arr_changes: int = 0
    outcomes: int = 0
    audit_events: int = 0
    trajectories: Mapping[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows written, by table name."""
        return {
            "person": self.people,
            "account": self.accounts,
            "usage_metric": self.usage_metrics,
            "survey_response": self.survey_responses,
            "milestone": self.milestones,
            "follow_up": self.follow_ups,
            "arr_change": self.arr_changes,
            "outcome": self.outcomes,
            "audit_event": self.audit_events,
        }


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class _BulkInserter:
    """Buffers rows per table and inserts them with executemany, BATCH_ROWS at a time."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.buffers: dict[Table, list[dict[str, Any]]] = {}
        self.written: dict[str, int] = {}

    async def add(self, model: Any, rows: Sequence[dict[str, Any]]) -> None:
        table = _table(model)
        buffer = self.buffers.setdefault(table, [])
        buffer.extend(rows)
        if len(buffer) >= BATCH_ROWS:
            await self._flush(table)

    async def _flush(self, table: Table) -> None:
        rows = self.buffers.get(table)
        if rows:
            await self.session.execute(insert(table), rows)
            self.written[table.name] = self.written.get(table.name, 0) + len(rows)
            self.buffers[table] = []

    async def flush_all(self) -> None:
        for table in list(self.buffers):
            await self._flush(table)


async def database_has_accounts(db: Database) -> bool:
    """Whether any account exists (demo data is only ever loaded into a database without accounts)."""
    async with db.sessions() as session:
        return await _has_accounts(session)


async def _has_accounts(session: AsyncSession) -> bool:
    return (await session.execute(select(Account.id).limit(1))).first() is not None


async def _refuse_unless_empty(session: AsyncSession, people: Sequence[DemoPerson]) -> None:
    if await _has_accounts(session):
        count = (await session.execute(select(func.count()).select_from(Account))).scalar_one()
        raise DemoDataError(
            f"The database already has {count} accounts; demo data is only loaded into an empty database."
        )
    emails = [p.email for p in people]
    clash = (await session.execute(select(Person.email).where(Person.email.in_(emails)).limit(1))).scalar()
    if clash is not None:
        raise DemoDataError(f"The database already has the demo person {clash}; demo data was not loaded.")


async def _insert_people(session: AsyncSession, people: Sequence[DemoPerson], at: datetime) -> dict[str, int]:
    """People by email -> id; managers first, so CSMs can point at them."""
    table = _table(Person)
    ids: dict[str, int] = {}
    for first_pass in (True, False):
        rows = [
            {
                "email": p.email,
                "name": p.name,
                "role": p.role.value,
                "manager_id": ids[p.manager_email] if p.manager_email else None,
                "timezone": p.timezone,
                "created_at": at,
                "updated_at": at,
            }
            for p in people
            if (p.manager_email is None) == first_pass
        ]
        if rows:
            result = await session.execute(insert(table).returning(table.c.id, table.c.email), rows)
            ids.update({email: person_id for person_id, email in result.all()})
    return ids


async def _insert_accounts(
    session: AsyncSession, accounts: Sequence[DemoAccount], owners: Mapping[str, int], at: datetime
) -> dict[str, int]:
    """Accounts by external id -> id."""
    table = _table(Account)
    ids: dict[str, int] = {}
    rows = [
        {
            "external_id": a.external_id,
            "name": a.name,
            "name_key": name_key(a.name),
            "segment": a.segment,
            "tier": a.tier,
            "arr": a.arr,
            "lifecycle_stage": a.lifecycle_stage.value,
            "contract_start": a.contract_start,
            "renewal_date": a.renewal_date,
            "churned_on": a.churned_on,
            "owner_id": owners[a.owner_email],
            "created_at": at,
            "updated_at": at,
        }
        for a in accounts
    ]
    for start in range(0, len(rows), BATCH_ROWS):
        result = await session.execute(
            insert(table).returning(table.c.id, table.c.external_id), rows[start : start + BATCH_ROWS]
        )
        ids.update({external_id: account_id for account_id, external_id in result.all()})
    return ids


def _usage_rows(account_id: int, history: Sequence[DailyUsage]) -> list[dict[str, Any]]:
    return [
        {"account_id": account_id, "day": daily.day, "metric": metric, "value": value}
        for daily in history
        for metric, value in daily.values()
    ]


def _survey_rows(
    account_id: int, answers: Sequence[DemoSurvey], *, first_number: int, score: ToneScorer
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, answer in enumerate(answers, start=first_number):
        external_id = f"{SURVEY_ID_PREFIX}{number:06d}"
        rows.append(
            {
                "account_id": account_id,
                "kind": answer.kind.value,
                "score": answer.score,
                "comment": answer.comment,
                "sentiment": score(answer.comment),  # cached: the demo texts repeat
                "respondent_email": answer.respondent_email,
                "submitted_at": answer.submitted_at,
                "external_id": external_id,
                "natural_key": f"ext:{external_id}",
            }
        )
    return rows


def _arr_rows(
    account: DemoAccount, account_id: int, usage: Sequence[DailyUsage], today: date, seed: int
) -> list[dict[str, Any]]:
    return [
        {
            "account_id": account_id,
            "day": change.day,
            "arr": change.arr,
            "previous_arr": change.previous_arr,
            "source": ARR_SOURCE,
            "recorded_at": datetime.combine(change.day, time(6), tzinfo=UTC),
        }
        for change in arr_history(account, today=today, seed=seed, usage=usage)
    ]


def _outcome_rows(account_id: int, owner_id: int, outcomes: Sequence[DemoOutcome]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        created = datetime.combine(o.start_date, time(15), tzinfo=UTC)
        rows.append(
            {
                "account_id": account_id,
                "title": o.title,
                "metric": o.metric,
                "comparison": o.comparison.value,
                "target": o.target,
                "baseline": o.baseline,
                "start_date": o.start_date,
                "due_date": o.due_date,
                "customer_owner": o.customer_owner,
                "status": o.status.value,
                "achieved_at": o.achieved_at,
                "achieved_value": o.achieved_value,
                "achieved_by_id": owner_id if o.marked_by_owner else None,
                "demonstrated_at": o.demonstrated_at,
                "created_by_id": owner_id,
                "created_at": created,
                "updated_at": o.demonstrated_at or created,
            }
        )
    return rows


async def _write_activity(
    inserter: _BulkInserter,
    portfolio: DemoPortfolio,
    account_ids: Mapping[str, int],
    people: Mapping[str, int],
    *,
    score: ToneScorer,
) -> None:
    """Usage, surveys, ARR history, success plans, milestones and follow-ups, account by account."""
    today, seed = portfolio.today, portfolio.seed
    survey_number = 1
    for account in portfolio.accounts:
        account_id = account_ids[account.external_id]
        owner_id = people[account.owner_email]
        history = usage_history(account, today=today, seed=seed)
        answers = survey_responses(account, today=today, seed=seed)
        await inserter.add(UsageMetric, _usage_rows(account_id, history))
        surveys = _survey_rows(account_id, answers, first_number=survey_number, score=score)
        survey_number += len(surveys)
        await inserter.add(SurveyResponse, surveys)
        await inserter.add(ArrChange, _arr_rows(account, account_id, history, today, seed))
        plan = success_plan(account, today=today, seed=seed, usage=history, surveys=answers)
        await inserter.add(Outcome, _outcome_rows(account_id, owner_id, plan))
        steps = milestones(account, today=today, seed=seed)
        await inserter.add(
            Milestone,
            [
                {
                    "account_id": account_id,
                    "name": m.name,
                    "kind": m.kind.value,
                    "due_date": m.due_date,
                    "completed_at": m.completed_at,
                    "snoozed_until": m.snoozed_until,
                }
                for m in steps
            ],
        )
        await inserter.add(
            FollowUp,
            [
                {
                    "account_id": account_id,
                    "author_id": owner_id,
                    "kind": f.kind.value,
                    "summary": f.summary,
                    "next_step": f.next_step,
                    "due_date": f.due_date,
                    "status": f.status.value,
                    "snoozed_until": None,
                    "created_at": f.created_at,
                    "done_at": f.done_at,
                }
                for f in follow_ups(account, today=today, seed=seed, plan=steps)
            ],
        )
    await inserter.flush_all()


async def generate_demo_data(
    db: Database, *, tone: ToneScorer, accounts: int = 60, seed: int = 7, today: date | None = None
) -> DemoSummary:
    """Write a synthetic portfolio of ``accounts`` accounts, with 90 days of history ending ``today`` (and a
    year of ARR history).

    The same ``seed`` and ``today`` always give the same data. Refuses (:class:`DemoDataError`) when the
    database already has accounts, so it can never mix invented customers into real ones.
    """
    today = today or datetime.now(UTC).date()
    portfolio = plan_portfolio(accounts, seed, today)
    # People and accounts "arrived" when the history starts, so the rows are the same on every run.
    arrived = datetime.combine(today - timedelta(days=USAGE_DAYS), time(9), tzinfo=UTC)
    async with db.transaction() as session:
        await _refuse_unless_empty(session, portfolio.people)
        people = await _insert_people(session, portfolio.people, arrived)
        account_ids = await _insert_accounts(session, portfolio.accounts, people, arrived)
        inserter = _BulkInserter(session)
        await _write_activity(inserter, portfolio, account_ids, people, score=tone)
        written = inserter.written
        summary = DemoSummary(
            seed=seed,
            today=today,
            people=len(people),
            accounts=len(account_ids),
            usage_metrics=written.get("usage_metric", 0),
            survey_responses=written.get("survey_response", 0),
            milestones=written.get("milestone", 0),
            follow_ups=written.get("follow_up", 0),
            arr_changes=written.get("arr_change", 0),
            outcomes=written.get("outcome", 0),
            audit_events=1,
            trajectories=_trajectory_counts(portfolio),
        )
        record(
            session,
            action="demo_data",
            object_type="database",
            object_id="demo",
            platform="cli",
            actor_label="cli",
            details={
                "seed": seed,
                "today": today.isoformat(),
                "counts": summary.counts(),
                "trajectories": dict(summary.trajectories),
            },
        )
    return summary


def _trajectory_counts(portfolio: DemoPortfolio) -> dict[str, int]:
    counts: dict[str, int] = {}
    for account in portfolio.accounts:
        counts[account.trajectory.value] = counts.get(account.trajectory.value, 0) + 1
    return counts
