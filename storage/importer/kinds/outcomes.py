"""``outcomes``: the desired outcomes of accounts' success plans, keyed by account and title.

Columns: ``account_external_id``, ``title``, ``due_date``; optional ``metric`` (one of the caller's
:class:`~storage.importer.rules.OutcomeRules` metrics; empty for a manual outcome a person marks
achieved), ``target`` (needed with a metric, refused without one; ``">= 200"`` or ``"<= 5"`` also sets
the comparison),
``comparison`` (``at_least`` or ``at_most``; by default the metric's own), ``status`` (``open``,
``achieved`` or ``missed``) and ``customer_owner``.

A new outcome starts on the import day with the metric's value then as its baseline, the start of
its progress line; a re-import never moves either (unless the metric itself changes: a new criterion
draws a new line). An empty ``status`` keeps an existing outcome's status (new ones are open). An
outcome that becomes achieved here is stamped ``achieved_at`` = now, and ``demonstrated_at`` = now:
it is history, so no Demonstrate message goes out for it. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer import fields as f
from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.errors import FieldProblem
from storage.importer.lookups import account_field
from storage.importer.rules import OutcomeRules, ValueOf
from storage.importer.write import Tally, table_of, upsert_rows
from storage.models import Outcome, OutcomeComparison, OutcomeStatus

TABLE = table_of(Outcome)
KEY = ("account_id", "title")
KEY_COLUMNS = "account_external_id, title"
# What a re-import may change (start_date and baseline only with the metric), and what is read back for
# outcomes that exist, to merge the file over them.
UPDATABLE = (
    "metric",
    "comparison",
    "target",
    "due_date",
    "customer_owner",
    "status",
    "start_date",
    "baseline",
    "achieved_at",
    "achieved_value",
    "demonstrated_at",
)
ACHIEVED = OutcomeStatus.ACHIEVED.value
AT_LEAST = OutcomeComparison.AT_LEAST.value
AT_MOST = OutcomeComparison.AT_MOST.value
# Account ids per query (SQLite caps bound parameters per statement).
MAX_IDS_PER_QUERY = 1000
OPERATORS = {">=": AT_LEAST, "≥": AT_LEAST, "<=": AT_MOST, "≤": AT_MOST}
_TARGET = re.compile(r"(>=|<=|≥|≤)?\s*([+-]?\d+(?:\.\d+)?)")


def target(raw: Any) -> tuple[str | None, float]:
    """ "200" -> (None, 200.0); ">= 200" -> ("at_least", 200.0); "<= 5" -> ("at_most", 5.0)."""
    if isinstance(raw, bool):
        raise f.FieldError(f"not a number: {f.shown(raw)}")
    if isinstance(raw, int | float):
        return None, f.number(raw)
    found = _TARGET.fullmatch(str(raw))
    if found is None:
        raise f.FieldError(f"not a number, optionally after >= or <=: {f.shown(raw)}")
    operator, number = found.groups()
    return (OPERATORS[operator] if operator else None), f.number(number)


class OutcomesKind(Kind):
    name = "outcomes"
    required = ("account_external_id", "title", "due_date")
    optional = ("metric", "target", "comparison", "status", "customer_owner")

    def __init__(self, fields: tuple[f.Field, ...], *, now: datetime, rules: OutcomeRules) -> None:
        super().__init__(fields)
        self.now = now
        self.rules = rules

    @classmethod
    async def load(cls, session: AsyncSession, options: ImportOptions) -> Self:
        if options.rules is None:
            raise ValueError("importing outcomes needs the outcome rules (ImportOptions.rules)")
        rules = options.rules.outcomes
        account = await account_field(session)
        comparisons = [c.value for c in OutcomeComparison]
        statuses = [s.value for s in OutcomeStatus]
        return cls(
            (
                account,
                f.Field("title", f.text(200)),
                f.Field("metric", f.choice(list(rules.metrics), "metric"), required=False),
                f.Field("target", target, required=False),
                f.Field("comparison", f.choice(comparisons, "comparison"), required=False),
                f.Field("due_date", f.iso_date()),
                f.Field("status", f.choice(statuses, "status"), required=False),
                f.Field("customer_owner", f.text(200), required=False),
            ),
            now=options.now or datetime.now(UTC),
            rules=rules,
        )

    def complete(self, values: Record) -> Record | list[FieldProblem]:
        metric: str | None = values.get("metric")
        operator, number = values.get("target") or (None, None)
        problems: list[FieldProblem] = []
        if metric is not None and number is None:
            problems.append(("target", "missing value (an outcome with a metric needs a target)"))
        if metric is None and number is not None:
            problems.append(("target", "a target needs a metric (leave both empty for a manual outcome)"))
        spec = self.rules.metrics.get(metric or "")
        if spec is not None and number is not None and not spec.allows(number):
            bounds = f"{spec.low:g} to {spec.high:g}" if spec.high is not None else f"{spec.low:g} or more"
            problems.append(("target", f"{spec.label} targets are {bounds}, not {number:g}"))
        given = values.get("comparison")
        if operator is not None and given is not None and operator != given:
            problems.append(("comparison", f"{given} contradicts the target's {_operator_text(operator)}"))
        if problems:
            return problems
        if "target" in values:
            values["target"] = number
        if "metric" in values or "target" in values or "comparison" in values:
            values["comparison"] = operator or given or (spec.comparison if spec else AT_LEAST)
        return values

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [(KEY_COLUMNS, f"{record['account_id']}|{record['title']}")]

    async def write(self, session: AsyncSession, records: Sequence[Record], present: frozenset[str]) -> Tally:
        stored = await self._stored(session, records)
        values = await self._values_now(session, records, stored)
        rows = [self._row(record, stored.get(_key(record)), values) for record in records]
        tally, _ = await upsert_rows(session, TABLE, rows, key=KEY, update=UPDATABLE)
        return tally

    async def _stored(
        self, session: AsyncSession, records: Sequence[Record]
    ) -> dict[tuple[int, str], dict[str, Any]]:
        """The outcomes of the batch that already exist, by (account id, title): the columns the file
        may leave out."""
        wanted = {_key(r) for r in records}
        account_ids = sorted({account_id for account_id, _ in wanted})
        columns = [TABLE.c[name] for name in (*KEY, *UPDATABLE)]
        found: dict[tuple[int, str], dict[str, Any]] = {}
        for i in range(0, len(account_ids), MAX_IDS_PER_QUERY):
            part = account_ids[i : i + MAX_IDS_PER_QUERY]
            rows = await session.execute(select(*columns).where(TABLE.c.account_id.in_(part)))
            for row in rows.mappings():
                key = (row["account_id"], row["title"])
                if key in wanted:
                    found[key] = dict(row)
        return found

    async def _values_now(
        self,
        session: AsyncSession,
        records: Sequence[Record],
        stored: Mapping[tuple[int, str], Mapping[str, Any]],
    ) -> Mapping[int, ValueOf]:
        """Today's metric values of the accounts whose new (or re-defined) outcomes need a baseline, or
        whose outcomes become achieved: one batch of set-based queries."""
        account_ids = set()
        for record in records:
            old = stored.get(_key(record))
            metric = record.get("metric", old["metric"] if old else None)
            if metric is None:
                continue
            if old is None or old["metric"] != metric or record.get("status") == ACHIEVED:
                account_ids.add(record["account_id"])
        if not account_ids:
            return {}
        return await self.rules.values_on(session, self.today, sorted(account_ids))

    @property
    def today(self) -> date:
        return self.now.date()

    def _row(
        self, record: Record, old: Mapping[str, Any] | None, values: Mapping[int, ValueOf]
    ) -> dict[str, Any]:
        """The whole row to write: the file's values over the stored ones (or over a new outcome's)."""
        row: dict[str, Any] = dict(old) if old else _new_row(self.today)
        row.update(record)
        metric = row["metric"]
        value_of = values.get(row["account_id"])

        def now_value() -> float | None:
            return value_of(metric) if value_of is not None and metric else None

        if old is None or old["metric"] != metric:
            row["start_date"] = self.today
            row["baseline"] = now_value()
        status = record.get("status")
        if status is None:
            row["status"] = old["status"] if old else OutcomeStatus.OPEN.value
        elif status == ACHIEVED and (old is None or old["status"] != ACHIEVED):
            row["achieved_at"] = self.now
            row["achieved_value"] = now_value()
            row["demonstrated_at"] = row.get("demonstrated_at") or self.now
        elif status != ACHIEVED:
            row["achieved_at"] = None
            row["achieved_value"] = None
        return row


def _operator_text(comparison: str) -> str:
    """How a comparison is written in a target: ">=" or "<="."""
    return ">=" if comparison == AT_LEAST else "<="


def _key(record: Mapping[str, Any]) -> tuple[int, str]:
    return record["account_id"], record["title"]


def _new_row(today: date) -> dict[str, Any]:
    """The columns of a new outcome that the file may leave out."""
    return {
        "metric": None,
        "target": None,
        "comparison": AT_LEAST,
        "customer_owner": None,
        "status": OutcomeStatus.OPEN.value,
        "start_date": today,
        "baseline": None,
        "achieved_at": None,
        "achieved_value": None,
        "demonstrated_at": None,
    }
