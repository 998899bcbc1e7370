"""Account commands: the account card, ``my``, ``risk`` and ``renewals``, and the helpers other areas
share to find an account (:func:`choice_reply`) and read a button's payload (:func:`payload_int`).

The card itself is built in :mod:`handlers.accounts_card`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot import actions
from bot.core.context import BotContext
from bot.core.lines import list_line, worst_first
from bot.core.lookup import LookupResult, more_text
from bot.core.paging import PAGE_SIZE, Page, offset_of, page_of, paginate
from bot.core.registry import Registry
from bot.errors import BadArguments, NotFound
from bot.format import band_mark, day_text, days_until_text, money, plural, score_text, truncate
from bot.health.service import AccountHealth, latest_health
from bot.types import Actions, Block, Button, Context, Header, Reply, Request, Response, Text
from handlers.accounts_card import account_card
from storage import queries
from storage.models import Band
from storage.queries import AccountRow

RISK_FALL_POINTS = 10.0
RISK_FALL_DAYS = 30
PAYLOAD_INT_MIN, PAYLOAD_INT_MAX = -(2**31), 2**31 - 1


def register(registry: Registry) -> None:
    registry.command(
        "account", usage="account NAME|ID", summary="the account card: health, why, what is next"
    )(account_command)
    registry.action(actions.ACCOUNT_OPEN)(open_account_action)
    registry.command("my", usage="my [red|yellow|green]", summary="your accounts, worst health first")(
        my_command
    )
    registry.command("risk", usage="risk [SEGMENT]", summary="red and falling accounts, ARR at risk")(
        risk_command
    )
    registry.command("renewals", usage="renewals [DAYS=90]", summary="upcoming renewals with health")(
        renewals_command
    )


# ------------------------------------------------------------------------------------------- the card


async def account_command(ctx: BotContext, request: Request) -> Response:
    if not request.args:
        raise BadArguments("Which account? Try `account acme` or `account ACME-001`.")
    found = await ctx.accounts.find(request.arg_text)
    if found.match is None:
        return choice_reply(found)
    note = f"Closest match to “{found.query}”" if found.closest else None
    return await account_card(ctx, request, found.match.id, note=note)


async def open_account_action(ctx: BotContext, request: Request) -> Response:
    account_id = payload_int(request, "account_id")
    return await account_card(ctx, request, account_id)


def payload_int(request: Request, key: str) -> int:
    """An integer from a button's payload; anything else (a forged payload too) is a user error."""
    try:
        value = int(request.payload[key])  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, OverflowError):
        value = None
    # Ids are 32-bit columns: a larger number would make the database driver fail, not find nothing.
    if value is None or not PAYLOAD_INT_MIN <= value <= PAYLOAD_INT_MAX:
        raise BadArguments("That button is missing what it refers to. Run the command again.")
    return value


def choice_reply(found: LookupResult, action: str = actions.ACCOUNT_OPEN) -> Reply:
    """Several close matches become buttons running ``action`` for their account (default: the card),
    with how many more matched than are listed; none gives the nearest names."""
    if found.candidates:
        buttons = tuple(
            Button(label=truncate(ref.name, 75), action=action, payload={"account_id": ref.id})
            for ref in found.candidates
        )
        text = f"Several accounts match “{found.query}”. Which one?"
        blocks: tuple[Block, ...] = (Text(text), Actions(buttons))
        more = more_text(found)
        if more:
            blocks += (Context((f"{more}: type more of the name or its ID.",)),)
        return Reply(summary=text, blocks=blocks)
    nearest = ", ".join(ref.name for ref in found.nearest)
    message = f"No account matches “{found.query}”."
    if nearest:
        message += f" Nearest names: {nearest}."
    raise NotFound(message)


# --------------------------------------------------------------------------------------------- lists


async def my_command(ctx: BotContext, request: Request) -> Response:
    band_filter = request.args[0].lower() if request.args else None
    if band_filter not in (None, "red", "yellow", "green"):
        raise BadArguments("Use `my`, `my red`, `my yellow` or `my green`.")
    assert request.actor.person_id is not None
    today = ctx.today(request.actor)
    async with ctx.db.sessions() as session:
        owned = await queries.accounts_owned_by(session, request.actor.person_id)
    if not owned:
        return Reply(summary="You own no accounts.", blocks=(Text("You own no accounts in Touchpoint."),))
    # Churned accounts are not scored: they are named apart, under the list.
    accounts = [a for a in owned if not a.churned]
    apart = tuple(churned_note([a for a in owned if a.churned]))
    health = await latest_health(ctx.db, [a.id for a in accounts], today, model=ctx.health_model)
    items = sorted(((a, health.get(a.id)) for a in accounts), key=worst_first)
    if band_filter:
        items = [(a, h) for a, h in items if h is not None and h.band.value == band_filter]
    title = f"Your {band_filter} accounts" if band_filter else "Your accounts"
    if not items:
        text = f"{title}: none right now."
        return Reply(summary=f"{title}: none.", blocks=(Text(text), *([Context(apart)] if apart else [])))
    return list_reply(request, title, items, today, extra_context=apart)


def churned_note(churned: list[AccountRow], shown: int = 3) -> list[str]:
    """ "Churned, not listed: Acme Old (Tue 03 Nov 2026), Beta Labs": none when there are none."""
    if not churned:
        return []
    names = [f"{a.name} ({day_text(a.churned_on)})" if a.churned_on else a.name for a in churned[:shown]]
    more = f" and {len(churned) - shown} more" if len(churned) > shown else ""
    return [f"Churned, not listed: {', '.join(names)}{more}"]


def list_reply(
    request: Request,
    title: str,
    items: list[tuple[AccountRow, AccountHealth | None]],
    today: date,
    *,
    extra_context: tuple[str, ...] = (),
    page: Page[tuple[AccountRow, AccountHealth | None]] | None = None,
) -> Reply:
    """``items`` paged here, or ``page`` when the caller read only that page."""
    page = page or paginate(items, request)
    blocks: list[Block] = [Header(title)]
    blocks.append(Text("\n".join(list_line(a, h, today) for a, h in page.items)))
    blocks.append(Context((page.caption, *extra_context)))
    buttons = [
        Button(label=truncate(a.name, 75), action=actions.ACCOUNT_OPEN, payload={"account_id": a.id})
        for a, _ in page.items[:4]
    ]
    if page.more:
        buttons = [*buttons[:4], page.more]
    if buttons:
        blocks.append(Actions(tuple(buttons)))
    return Reply(
        summary=f"{title}: {page.caption}",
        blocks=tuple(blocks),
        shared=request.share,
        replace=page.offset > 0,
    )


async def risk_command(ctx: BotContext, request: Request) -> Response:
    segment = request.arg_text.strip() or None
    today = ctx.today(request.actor)
    async with ctx.db.sessions() as session:
        day = await queries.latest_snapshot_day(session, today)
        if day is None:
            return Reply(
                summary="No health data yet.",
                blocks=(Text("No health has been computed yet."),),
                shared=request.share,
            )
        # One page from SQL, with the whole list's count and ARR: at 20,000 accounts the list can
        # hold thousands, and scoring them all to show ten took over a second.
        page = await _first_page_or(
            request,
            lambda offset: queries.at_risk_page(
                session,
                day,
                fall_points=RISK_FALL_POINTS,
                fall_days=RISK_FALL_DAYS,
                segment=segment,
                offset=offset,
                limit=PAGE_SIZE,
            ),
        )
    scope = f" in {segment}" if segment else ""
    if not page.total:
        text = f"No red or falling accounts{scope}. 🎉"
        return Reply(summary=text, blocks=(Text(text),), shared=request.share)
    ids = [a.id for a in page.rows]
    health = await latest_health(ctx.db, ids, day, model=ctx.health_model, compute_missing=False)
    items = [(a, health.get(a.id)) for a in page.rows]
    return list_reply(
        request,
        f"At risk{scope}: {plural(page.total, 'account')}, {money(page.arr)} ARR",
        items,
        today,
        extra_context=(
            f"Red, or down {RISK_FALL_POINTS:.0f}+ points in {RISK_FALL_DAYS} days; health of {day}",
        ),
        page=page_of(items, request, offset=page.offset, total=page.total),
    )


async def _first_page_or(
    request: Request, read: Callable[[int], Awaitable[queries.AccountPage]]
) -> OffsetPage:
    """The page the request asks for; the first one when it asks past the end (a stale More button)."""
    offset = offset_of(request)
    page = await read(offset)
    if offset and not page.rows:
        offset = 0
        page = await read(0)
    return OffsetPage(page.rows, page.total, page.arr, offset)


@dataclass(frozen=True, slots=True)
class OffsetPage:
    rows: list[AccountRow]
    total: int
    arr: Decimal
    offset: int


async def renewals_command(ctx: BotContext, request: Request) -> Response:
    days = 90
    if request.args:
        try:
            days = int(request.args[0])
        except ValueError:
            raise BadArguments("Use `renewals` or `renewals DAYS`, for example `renewals 30`.") from None
        if not 1 <= days <= 730:
            raise BadArguments("Give a number of days between 1 and 730.")
    today = ctx.today(request.actor)
    end = today + timedelta(days=days)
    async with ctx.db.sessions() as session:
        found = await _first_page_or(
            request,
            lambda offset: queries.renewals_page(session, today, end, offset=offset, limit=PAGE_SIZE),
        )
        day = await queries.latest_snapshot_day(session, today) or today
    if not found.total:
        text = f"No renewals in the next {plural(days, 'day')}."
        return Reply(summary=text, blocks=(Text(text),), shared=request.share)
    health = await latest_health(ctx.db, [a.id for a in found.rows], day, model=ctx.health_model)
    items = [(a, health.get(a.id)) for a in found.rows]
    page = page_of(items, request, offset=found.offset, total=found.total)
    lines = []
    for account, h in page.items:
        renew = account.renewal_date
        assert renew is not None
        band = h.band if h else Band.UNKNOWN
        score = score_text(h.score if h else None)
        lines.append(
            f"{band_mark(band)} **{account.name}** {score} · {money(account.arr)}"
            f" · {day_text(renew)} ({days_until_text(renew, today)}) · {account.owner_name or 'unassigned'}"
        )
    counted = f"{plural(found.total, 'account')}, {money(found.arr)} ARR"
    title = f"Renewals in the next {plural(days, 'day')}: {counted}"
    blocks: list[Block] = [Header(title), Text("\n".join(lines)), Context((page.caption,))]
    if page.more:
        blocks.append(Actions((page.more,)))
    return Reply(summary=title, blocks=tuple(blocks), shared=request.share, replace=page.offset > 0)
