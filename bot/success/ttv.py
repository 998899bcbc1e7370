"""Time to value (TTV): days from an account's contract start to the completion of its first-value
milestone (the earliest completed one when there are several).

The facts come from one set-based read (:func:`read_ttv_facts`); everything else is pure: medians per
segment, and for accounts still onboarding the days elapsed against their segment's median. A segment
with fewer than :data:`MIN_SEGMENT_ACCOUNTS` accounts that reached first value has no median of its own:
the median over all accounts stands in, and says so.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.format import plural
from storage.models import Account, LifecycleStage, Milestone, MilestoneKind

MIN_SEGMENT_ACCOUNTS = 3


@dataclass(frozen=True, slots=True)
class TtvFacts:
    """What TTV needs to know about one account."""

    account_id: int
    name: str
    segment: str | None
    lifecycle_stage: str | None
    contract_start: date | None
    first_value_on: date | None  # the day its first-value milestone was completed (UTC)


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A median TTV in days and how many accounts it is based on.

    ``segment`` is the segment it was asked for (None: all accounts); ``fallback`` is True when that
    segment had too few accounts and the median is the one over all accounts.
    """

    median: float | None
    accounts: int
    segment: str | None = None
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class Reached:
    """An account that reached first value, ``days`` after its contract start."""

    facts: TtvFacts
    days: int


@dataclass(frozen=True, slots=True)
class Onboarding:
    """An account still on its way to first value, ``elapsed`` days into its contract."""

    facts: TtvFacts
    elapsed: int
    benchmark: Benchmark

    @property
    def beyond(self) -> float | None:
        """Days past the benchmark's median (negative: still within it); None without a median."""
        return None if self.benchmark.median is None else self.elapsed - self.benchmark.median


# ------------------------------------------------------------------------------------ pure functions


def segment_key(segment: str | None) -> str | None:
    """Segments compare without case or surrounding spaces ("Enterprise" is "enterprise")."""
    key = (segment or "").strip().casefold()
    return key or None


def ttv_days(contract_start: date | None, first_value_on: date | None) -> int | None:
    """Days from contract start to first value; None when either is unknown. First value before the
    contract started (a pilot) counts as day 0."""
    if contract_start is None or first_value_on is None:
        return None
    return max(0, (first_value_on - contract_start).days)


def median_days(days: Iterable[float]) -> float | None:
    """The median, or None for no values. An even count gives the mean of the middle two."""
    values = list(days)
    return float(statistics.median(values)) if values else None


def is_onboarding(facts: TtvFacts, today: date) -> bool:
    """Still on the way to first value: not reached, contract started, and in the onboarding stage (or
    in no stage at all)."""
    if facts.first_value_on is not None or facts.contract_start is None or facts.contract_start > today:
        return False
    return facts.lifecycle_stage in (None, LifecycleStage.ONBOARDING.value)


def days_text(days: float) -> str:
    """ "41 days", "1 day", "40.5 days"."""
    if days == int(days):
        return plural(int(days), "day")
    return f"{days:.1f} days"


@dataclass(frozen=True, slots=True)
class TtvReport:
    """TTV over a set of accounts: the overall median, the per-segment medians, who reached first value
    (slowest first) and who is still onboarding (furthest beyond their benchmark first)."""

    overall: Benchmark
    segments: dict[str, Benchmark]  # by segment key, every segment that reached first value
    reached: tuple[Reached, ...]
    onboarding: tuple[Onboarding, ...]

    def benchmark(self, segment: str | None) -> Benchmark:
        """The median an account of ``segment`` is measured against."""
        return segment_benchmark(self.overall, self.segments, segment)


def segment_benchmark(overall: Benchmark, segments: dict[str, Benchmark], segment: str | None) -> Benchmark:
    """The segment's own median when it has enough accounts, else the overall one (``fallback``)."""
    key = segment_key(segment)
    own = segments.get(key) if key is not None else None
    if own is not None and own.accounts >= MIN_SEGMENT_ACCOUNTS:
        return own
    return Benchmark(overall.median, overall.accounts, segment=segment, fallback=True)


def ttv_report(facts: Sequence[TtvFacts], today: date) -> TtvReport:
    """Medians and lists from the facts of all accounts (medians need every account that reached value)."""
    reached: list[Reached] = []
    for f in facts:
        days = ttv_days(f.contract_start, f.first_value_on)
        if days is not None:
            reached.append(Reached(f, days))
    by_segment: dict[str, list[Reached]] = {}
    spelling: dict[str, str] = {}
    for r in reached:
        key = segment_key(r.facts.segment)
        if key is not None and r.facts.segment is not None:
            by_segment.setdefault(key, []).append(r)
            spelling.setdefault(key, r.facts.segment.strip())
    segments = {
        key: Benchmark(median_days(r.days for r in items), len(items), segment=spelling[key])
        for key, items in by_segment.items()
    }
    overall = Benchmark(median_days(r.days for r in reached), len(reached))
    onboarding = [
        Onboarding(f, (today - f.contract_start).days, segment_benchmark(overall, segments, f.segment))
        for f in facts
        if is_onboarding(f, today) and f.contract_start is not None
    ]
    return TtvReport(
        overall,
        segments,
        tuple(sorted(reached, key=lambda r: (-r.days, r.facts.name))),
        tuple(sorted(onboarding, key=lambda o: (-(o.beyond or 0), -o.elapsed, o.facts.name))),
    )


# -------------------------------------------------------------------------------------------- reads


async def read_ttv_facts(
    session: AsyncSession, *, account_id: int | None = None, reached_only: bool = False
) -> list[TtvFacts]:
    """The TTV facts of every account in one query (or of one account, or of those that reached
    first value only)."""
    first_value = select(Milestone.account_id, func.min(Milestone.completed_at).label("completed_at")).where(
        Milestone.kind == MilestoneKind.FIRST_VALUE.value, Milestone.completed_at.is_not(None)
    )
    if account_id is not None:  # else the grouping runs over every account's milestones first
        first_value = first_value.where(Milestone.account_id == account_id)
    first = first_value.group_by(Milestone.account_id).subquery()
    stmt = select(
        Account.id,
        Account.name,
        Account.segment,
        Account.lifecycle_stage,
        Account.contract_start,
        first.c.completed_at,
    ).outerjoin(first, first.c.account_id == Account.id)
    if account_id is not None:
        stmt = stmt.where(Account.id == account_id)
    if reached_only:
        stmt = stmt.where(first.c.completed_at.is_not(None))
    return [
        TtvFacts(id_, name, segment, stage, start, completed.date() if completed is not None else None)
        for id_, name, segment, stage, start, completed in (await session.execute(stmt)).all()
    ]


# ------------------------------------------------------------------------------------- account card


@dataclass(frozen=True, slots=True)
class TtvView:
    """TTV on an account card: ``days`` to first value (``reached``) or into onboarding, the median it
    is measured against, and the line to show."""

    reached: bool
    days: int
    benchmark: Benchmark
    text: str


def benchmark_text(benchmark: Benchmark) -> str:
    """ "segment median 41 days", "median 41 days over all accounts, too few in smb"."""
    if benchmark.median is None:
        return ""
    if not benchmark.fallback:
        return f"segment median {days_text(benchmark.median)}"
    too_few = f", too few in {benchmark.segment}" if benchmark.segment else ""
    return f"median {days_text(benchmark.median)} over all accounts{too_few}"


def ttv_view(facts: TtvFacts, report: TtvReport, today: date) -> TtvView | None:
    """The card's TTV line for one account; None when it neither reached first value nor is onboarding."""
    benchmark = report.benchmark(facts.segment)
    compared = benchmark_text(benchmark)
    days = ttv_days(facts.contract_start, facts.first_value_on)
    if days is not None:
        text = f"Time to value: {days_text(days)}" + (f" ({compared})" if compared else "")
        return TtvView(True, days, benchmark, text)
    if is_onboarding(facts, today) and facts.contract_start is not None:
        elapsed = (today - facts.contract_start).days
        text = f"Onboarding: day {elapsed}" + (f", {compared}" if compared else "")
        return TtvView(False, elapsed, benchmark, text)
    return None


async def account_ttv(session: AsyncSession, account_id: int, today: date) -> TtvView | None:
    """TTV for the account card: "Time to value: 34 days (segment median 41 days)" once first value was
    reached, "Onboarding: day 52, segment median 41 days" while onboarding, None otherwise. Two queries:
    the account's facts and those of every account that reached first value (for the medians)."""
    own = await read_ttv_facts(session, account_id=account_id)
    if not own:
        return None
    return ttv_view(own[0], await _medians(session, today), today)


# Reading every account's first value and working out the medians cost about 90 ms a card at 20,000
# accounts. The report is kept per database and day, and made again only when the first-value
# milestones change (their count or latest completion: one small aggregate).
_report_cache: dict[str, tuple[tuple[int, object, date], TtvReport]] = {}


async def _medians(session: AsyncSession, today: date) -> TtvReport:
    done = and_(Milestone.kind == MilestoneKind.FIRST_VALUE.value, Milestone.completed_at.is_not(None))
    count, latest = (
        await session.execute(select(func.count(), func.max(Milestone.completed_at)).where(done))
    ).one()
    version = (int(count), latest, today)
    key = repr(session.get_bind().engine.url)
    cached = _report_cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    report = ttv_report(await read_ttv_facts(session, reached_only=True), today)
    _report_cache[key] = (version, report)
    return report
