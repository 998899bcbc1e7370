"""Time to value: ``ttv [SEGMENT]``: the median days from contract start to first value (overall and per
segment, or of one segment), the accounts that took longest, and the onboarding accounts furthest beyond
their segment's median, each with a button to its account card."""

from __future__ import annotations

from collections.abc import Sequence

from bot import actions
from bot.core.context import BotContext
from bot.core.paging import paginate
from bot.core.registry import Registry
from bot.errors import BadArguments
from bot.format import plural, truncate
from bot.success.ttv import (
    MIN_SEGMENT_ACCOUNTS,
    Benchmark,
    Onboarding,
    Reached,
    TtvFacts,
    TtvReport,
    days_text,
    read_ttv_facts,
    segment_key,
    ttv_report,
)
from bot.types import Actions, Block, Button, Context, Header, Reply, Request, Response, Text

PAGE_SIZE = 5  # per list; every listed account gets a button
DEFINITION = "Time to value: days from contract start to the first-value milestone's completion"


def register(registry: Registry) -> None:
    registry.command(
        "ttv",
        usage="ttv [SEGMENT]",
        summary="time to value: the median, the slowest accounts and onboarding ones running late",
    )(ttv_command)


async def ttv_command(ctx: BotContext, request: Request) -> Response:
    today = ctx.today(request.actor)
    async with ctx.db.sessions() as session:
        facts = await read_ttv_facts(session)
    report = ttv_report(facts, today)
    segment = _segment_asked(request, facts)
    key = segment_key(segment)

    def in_scope(f: TtvFacts) -> bool:
        return key is None or segment_key(f.segment) == key

    slowest = [r for r in report.reached if in_scope(r.facts)]
    late = [o for o in report.onboarding if in_scope(o.facts) and (o.beyond or 0) > 0]
    title = f"Time to value: {segment}" if segment else "Time to value"
    blocks: list[Block] = [Header(title)]
    blocks.append(Text(_segment_summary(report, segment) if segment else _overall_summary(report, facts)))

    page = paginate(slowest if len(slowest) >= len(late) else late, request, size=PAGE_SIZE)
    shown_slow = slowest[page.offset : page.offset + PAGE_SIZE]
    shown_late = late[page.offset : page.offset + PAGE_SIZE]
    blocks += _section(
        "Slowest to first value",
        [_reached_line(r) for r in shown_slow],
        [r.facts for r in shown_slow],
        page.offset,
        len(slowest),
    )
    blocks += _section(
        "Onboarding, furthest beyond the median",
        [_late_line(o) for o in shown_late],
        [o.facts for o in shown_late],
        page.offset,
        len(late),
    )
    blocks.append(Context((DEFINITION,)))
    if page.more:
        blocks.append(Actions((page.more,)))
    median = report.benchmark(segment).median if segment else report.overall.median
    scope = f"Time to value in {segment}" if segment else "Time to value"
    summary = f"{scope}: median {days_text(median)}" if median is not None else f"{scope}: no data yet"
    return Reply(summary=summary, blocks=tuple(blocks), shared=request.share, replace=page.offset > 0)


def _segment_asked(request: Request, facts: Sequence[TtvFacts]) -> str | None:
    """The segment named in the command, in the accounts' own spelling; an unknown one is explained."""
    asked = request.arg_text.strip()
    if not asked:
        return None
    known: dict[str, str] = {}
    for f in facts:
        key = segment_key(f.segment)
        if key is not None and f.segment is not None:
            known.setdefault(key, f.segment.strip())
    found = known.get(segment_key(asked) or "")
    if found is None:
        names = ", ".join(sorted(known.values(), key=str.casefold))
        hint = f" Known segments: {names}." if names else " No account has a segment yet."
        raise BadArguments(f"No segment “{asked}”.{hint} Try `ttv` for all of them.")
    return found


def _overall_summary(report: TtvReport, facts: Sequence[TtvFacts]) -> str:
    overall = report.overall
    if overall.median is None:
        return "No account has reached first value yet."
    lines = [f"**Median {days_text(overall.median)}** over {plural(overall.accounts, 'account')}"]
    segments = sorted({f.segment.strip() for f in facts if f.segment and f.segment.strip()}, key=str.casefold)
    for name in segments:
        lines.append(f"{name}: {_benchmark_words(report.segments.get(segment_key(name) or ''))}")
    return "\n".join(lines)


def _benchmark_words(benchmark: Benchmark | None) -> str:
    if benchmark is None or not benchmark.accounts:
        return "none reached first value yet"
    if benchmark.accounts < MIN_SEGMENT_ACCOUNTS or benchmark.median is None:
        return f"{plural(benchmark.accounts, 'account')}, too few for a median"
    return f"{days_text(benchmark.median)} ({plural(benchmark.accounts, 'account')})"


def _segment_summary(report: TtvReport, segment: str) -> str:
    benchmark = report.benchmark(segment)
    overall = report.overall
    all_accounts = (
        f"all accounts: {days_text(overall.median)} over {plural(overall.accounts, 'account')}"
        if overall.median is not None
        else "no account has reached first value yet"
    )
    if not benchmark.fallback and benchmark.median is not None:
        median = f"**Median {days_text(benchmark.median)}** over {plural(benchmark.accounts, 'account')}"
        return f"{median}; {all_accounts}"
    own = report.segments.get(segment_key(segment) or "")
    count = own.accounts if own is not None else 0
    return (
        f"{plural(count, 'account')} in {segment} reached first value: too few for a median of their own "
        f"({MIN_SEGMENT_ACCOUNTS} needed), so {segment} is measured against {all_accounts}."
    )


def _section(
    heading: str, lines: list[str], accounts: list[TtvFacts], offset: int, total: int
) -> list[Block]:
    """A titled list and a button per account in it; nothing for an empty page."""
    if not lines:
        return []
    return [
        Text(f"**{heading} ({_span(offset, len(lines), total)})**\n" + "\n".join(lines)),
        Actions(tuple(_open_button(f) for f in accounts)),
    ]


def _span(offset: int, shown: int, total: int) -> str:
    """ "3" when the whole list shows, else "6-10 of 12"."""
    if offset == 0 and shown >= total:
        return str(total)
    return f"{offset + 1}-{offset + shown} of {total}"


def _reached_line(item: Reached) -> str:
    segment = f" · {item.facts.segment}" if item.facts.segment else ""
    return f"**{item.facts.name}** {days_text(item.days)}{segment}"


def _late_line(item: Onboarding) -> str:
    benchmark = item.benchmark
    assert benchmark.median is not None and item.beyond is not None
    if benchmark.fallback:
        against = f"the median of all accounts ({days_text(benchmark.median)})"
        if benchmark.segment:
            against += f", too few in {benchmark.segment}"
    else:
        against = f"the {benchmark.segment} median ({days_text(benchmark.median)})"
    return f"**{item.facts.name}** day {item.elapsed} · {days_text(item.beyond)} beyond {against}"


def _open_button(facts: TtvFacts) -> Button:
    return Button(
        label=truncate(facts.name, 75), action=actions.ACCOUNT_OPEN, payload={"account_id": facts.account_id}
    )
