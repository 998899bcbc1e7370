"""``retention [quarter|year]``: gross and net revenue retention of the current quarter (or year) to date,
with the churned, contracted and expanded accounts named (biggest first)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.core.context import BotContext
from bot.core.registry import Registry
from bot.errors import BadArguments
from bot.format import day_text, money, plural, signed_money
from bot.success.retention import PERIODS, Retention, percent, retention
from bot.types import Block, Context, Header, Reply, Request, Response, Text
from storage.renewals import CohortAccount

NAMED = 5  # accounts named per list
FORMULAS = (
    "GRR = (starting ARR − churn − contraction) ÷ starting ARR · "
    "NRR = (starting ARR − churn − contraction + expansion) ÷ starting ARR, "
    "over the accounts with ARR at the start"
)


def register(registry: Registry) -> None:
    registry.command(
        "retention",
        usage="retention [quarter|year]",
        summary="gross and net revenue retention to date, with churned and contracted accounts",
    )(retention_command)


async def retention_command(ctx: BotContext, request: Request) -> Response:
    kind = request.args[0].lower() if request.args else "quarter"
    if kind not in PERIODS or len(request.args) > 1:
        raise BadArguments("Try `retention` (this quarter to date) or `retention year`.")
    async with ctx.db.sessions() as session:
        found = await retention(session, kind, ctx.today(request.actor))
    return Reply(
        summary=summary_text(found),
        blocks=tuple(retention_blocks(found)),
        shared=request.share,
    )


def summary_text(found: Retention) -> str:
    return f"Retention, {found.period.label}: GRR {percent(found.grr)} · NRR {percent(found.nrr)}"


def retention_blocks(found: Retention) -> list[Block]:
    blocks: list[Block] = [Header(f"Retention, {found.period.label}")]
    if not found.starting:
        blocks.append(Text(f"No account had ARR on {day_text(found.period.start)}: nothing to measure yet."))
        return blocks
    lines = [
        f"**GRR {percent(found.grr)}** · **NRR {percent(found.nrr)}**",
        f"Starting ARR {money(found.starting)} across {plural(found.accounts, 'account')} "
        f"(on {day_text(found.period.start)})",
    ]
    blocks.append(Text("\n".join(lines)))
    for title, amount, members in (
        ("Churned", -found.churn, found.churned),
        ("Contracted", -found.contraction, found.contracted),
        ("Expanded", found.expansion, found.expanded),
    ):
        if members:
            blocks.append(Text(_section(title, amount, members)))
    blocks.append(Context((FORMULAS,)))
    return blocks


def _section(title: str, amount: Decimal, members: Sequence[CohortAccount]) -> str:
    head = f"**{title} {signed_money(amount)} ({plural(len(members), 'account')})**"
    lines = [f"• {a.name}: {money(a.start)} → {money(a.end)}" for a in members[:NAMED]]
    if len(members) > NAMED:
        lines.append(f"…and {len(members) - NAMED} more")
    return "\n".join([head, *lines])
