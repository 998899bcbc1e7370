"""The account card: what it reads (health, milestones, follow-ups, surveys, tone, plan, value) and how
each of its sections is laid out, with the buttons for what can be done next.

What every reader sees of an account on a day is built once and kept in this process
(:class:`~bot.core.cache.AccountCache`) while no change mark says that something on it changed; a
card shown again costs one small query instead of a dozen reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot import actions
from bot.core.cache import AccountCache, Built
from bot.core.context import BotContext
from bot.errors import NotFound
from bot.feedback.sentiment import Tone, ToneSummary, recent_tone
from bot.format import (
    arr_trend_text,
    band_mark,
    day_text,
    days_until_text,
    money,
    plural,
    score_text,
    trend_text,
    truncate,
)
from bot.health.outcomes import OutcomeState
from bot.health.service import AccountHealth, latest_health
from bot.success.plan_text import highlight_line, plan_highlights
from bot.success.plans import account_plan
from bot.success.ttv import account_ttv
from bot.types import Actions, Block, Button, Context, Divider, Fields, Header, Reply, Request, Text
from storage import queries
from storage.arr_history import account_arr_change
from storage.models import Band
from storage.queries import AccountRow

PLAN_LINES = 3  # outcomes named on the card; the plan card has them all
CACHE = "account_card"
NPS_LABEL = {range(0, 7): "detractor", range(7, 9): "passive", range(9, 11): "promoter"}


@dataclass(frozen=True, slots=True)
class CardBody:
    """An account's card on a day as every reader sees it: all but the reader's own parts (a note on
    why this account, the last touch dated in the reader's time zone, the buttons, sharing). Kept per
    account and day in :data:`CACHE` while nothing it shows changes."""

    account_id: int
    name: str
    summary: str
    blocks: tuple[Block, ...]  # from the health line to the latest feedback
    touch: queries.LastTouch | None
    external_id: str
    confidence: float | None


async def account_card(
    ctx: BotContext, request: Request, account_id: int, *, note: str | None = None
) -> Reply:
    """The card; ``note`` is a quiet line under its title (why this account, when it was a guess)."""
    today = ctx.today(request.actor)
    cache: AccountCache[CardBody] = ctx.cache(CACHE)
    card = await cache.get(account_id, today, lambda: read_card(ctx, account_id, today))
    touch = card.touch
    context = [
        # The day it happened where the reader is: a call at 9 pm in New York is not "tomorrow".
        f"Last touch: {touch.kind} {days_until_text(ctx.local_date(touch.created_at, request.actor), today)}"
        + (f" by {touch.author_name}" if touch.author_name else "")
        if touch
        else "Last touch: none logged"
    ]
    context.append(f"ID {card.external_id}")
    if card.confidence is not None:
        context.append(f"Confidence {card.confidence:.0%}")
    blocks: list[Block] = [Header(card.name), *([Context((note,))] if note else []), *card.blocks]
    blocks += [Context(tuple(context)), Divider(), Actions(card_buttons(ctx, card.account_id))]
    return Reply(summary=card.summary, blocks=tuple(blocks), shared=request.share)


async def read_card(ctx: BotContext, account_id: int, today: date) -> Built[CardBody]:
    """Everything the card shows of the account on ``today``, read and laid out."""
    async with ctx.db.sessions() as session:
        account = await queries.account_by_id(session, account_id)
        if account is None:
            raise NotFound("That account no longer exists.")
        milestones = await queries.open_milestones(session, today=today, account_id=account_id)
        follow_ups = await queries.open_follow_ups(session, today=today, account_id=account_id)
        surveys = await queries.latest_surveys(session, account_id, ["nps", "csat", "ces"])
        touch = await queries.last_touch(session, account_id)
        arr_trend = await account_arr_change(session, account_id, today)
        ttv = await account_ttv(session, account_id, today)
        plan = await account_plan(session, account_id, today)
        tone = await recent_tone(session, account_id, today)
    health = None
    if not account.churned:  # a churned account is no longer scored
        health = (await latest_health(ctx.db, [account_id], today, model=ctx.health_model)).get(account_id)

    blocks: list[Block] = []
    blocks.append(Text(churned_line(account) if account.churned else health_line(health)))
    if health is not None and health.drivers:
        blocks.append(Text("**Why:** " + "; ".join(d.reason for d in health.drivers)))
    elif health is not None and health.reason:
        blocks.append(Text(f"_{health.reason}_"))
    blocks.append(Fields(account_fields(account, today)))
    value_lines = [arr_trend_text(arr_trend)] if arr_trend is not None else []
    value_lines += [ttv.text] if ttv is not None else []
    if value_lines:
        blocks.append(Text("\n".join(value_lines)))
    if plan:
        blocks.append(Text(plan_section(plan, today)))

    overdue = [m for m in milestones if m.due_date < today]
    upcoming = [m for m in milestones if m.due_date >= today]
    lines = [f"🔺 {m.name}: overdue {plural((today - m.due_date).days, 'day')}" for m in overdue[:3]]
    lines += [
        f"▫️ {m.name}: {days_until_text(m.due_date, today)} ({day_text(m.due_date)})" for m in upcoming[:2]
    ]
    if lines:
        blocks.append(Text("**Milestones**\n" + "\n".join(lines)))
    if follow_ups:
        shown = [
            f"• {truncate(f.next_step or f.summary, 120)}{due_note(f.due_date, today)}"
            for f in follow_ups[:3]
        ]
        more = f"\n…and {len(follow_ups) - 3} more" if len(follow_ups) > 3 else ""
        blocks.append(Text(f"**Open follow-ups ({len(follow_ups)})**\n" + "\n".join(shown) + more))
    survey_lines = [survey_line(s) for s in surveys.values()]
    if tone is not None:
        survey_lines.append(tone_line(tone))
    if survey_lines:
        blocks.append(Text("**Latest feedback**\n" + "\n".join(survey_lines)))
    summary = f"{account.name}: health {score_text(health.score if health else None)}"
    if account.churned:
        summary = f"{account.name}: {churned_text(account)}"
    scored = health is not None and health.score is not None
    card = CardBody(
        account_id=account.id,
        name=account.name,
        summary=summary,
        blocks=tuple(blocks),
        touch=touch,
        external_id=account.external_id,
        confidence=health.confidence if health is not None and scored else None,
    )
    # A health computed on the fly (no snapshot yet today) comes from this process's health model,
    # which no change mark covers: such a card is built again next time.
    return Built(card, keep=health is None or health.stored)


def card_buttons(ctx: BotContext, account_id: int) -> tuple[Button, ...]:
    """The card's buttons; a button appears only when the action behind it exists."""
    wanted = (
        ("Log follow-up", actions.FOLLOWUP_OPEN_FORM, "primary"),
        ("Milestones", actions.MILESTONES_OF_ACCOUNT, None),
        ("Timeline", actions.TIMELINE_OF_ACCOUNT, None),
        ("Success plan", actions.PLAN_OPEN, None),
        ("Send feedback to CX", actions.FEEDBACK_OPEN_FORM, None),
    )
    return tuple(
        Button(label=label, action=action, payload={"account_id": account_id}, style=style)  # type: ignore[arg-type]
        for label, action, style in wanted
        if action in ctx.registry_actions
    )


def plan_section(plan: Sequence[OutcomeState], today: date) -> str:
    """The success plan in a few lines: how many outcomes, then those at risk and achieved this week."""
    at_risk, achieved = plan_highlights(plan, today)
    counts = [f"{len(at_risk)} at risk"] if at_risk else []
    counts += [f"{len(achieved)} achieved this week"] if achieved else []
    head = f"**Success plan** ({plural(len(plan), 'outcome')}" + (
        f": {', '.join(counts)})" if counts else ")"
    )
    shown = [highlight_line(s, today) for s in (*at_risk, *achieved)[:PLAN_LINES]]
    if not shown:
        shown = ["No outcome at risk."]
    return head + "\n" + "\n".join(shown)


def tone_line(tone: ToneSummary) -> str:
    """The recent tone; when it is negative, the comment that weighs most on it too."""
    line = tone.line
    if tone.label in (Tone.NEGATIVE, Tone.STRONGLY_NEGATIVE) and tone.most_negative:
        line += f": “{tone.most_negative}”"
    return line


def churned_text(account: AccountRow) -> str:
    """ "churned on Tue 03 Nov 2026", or "churned" when the day is not known."""
    return f"churned on {day_text(account.churned_on)}" if account.churned_on else "churned"


def churned_line(account: AccountRow) -> str:
    text = churned_text(account)
    return f"{band_mark(Band.UNKNOWN)} **{text[0].upper()}{text[1:]}**: health no longer scored"


def health_line(health: AccountHealth | None) -> str:
    if health is None or health.score is None:
        return f"{band_mark(Band.UNKNOWN)} **Health: not enough data**"
    trends = ", ".join(t for t in (trend_text(health.trend_7, 7), trend_text(health.trend_30, 30)) if t)
    line = f"{band_mark(health.band)} **Health {score_text(health.score)} ({health.band.value})**"
    return f"{line}  {trends}" if trends else line


def account_fields(account: AccountRow, today: date) -> tuple[tuple[str, str], ...]:
    renewal = "n/a"
    if account.renewal_date is not None:
        renewal = f"{day_text(account.renewal_date)} ({days_until_text(account.renewal_date, today)})"
    return (
        ("ARR", money(account.arr)),
        ("Segment", " / ".join(x for x in (account.segment, account.tier) if x) or "n/a"),
        ("Stage", churned_text(account) if account.churned else account.lifecycle_stage or "n/a"),
        ("Owner", account.owner_name or "unassigned"),
        ("Renewal", renewal),
    )


def due_note(due: date | None, today: date) -> str:
    """ " (overdue 3 days)", " (due tomorrow)", or nothing for an undated follow-up."""
    if due is None:
        return ""
    if due < today:
        return f" (overdue {plural((today - due).days, 'day')})"
    return f" (due {days_until_text(due, today)})"


def survey_line(survey: queries.LatestSurvey) -> str:
    label = survey.kind.upper()
    detail = ""
    if survey.kind == "nps":
        detail = next((f" ({name})" for span, name in NPS_LABEL.items() if survey.score in span), "")
    comment = f" “{truncate(survey.comment, 200)}”" if survey.comment else ""
    return f"{label} {survey.score}{detail}{comment}"
