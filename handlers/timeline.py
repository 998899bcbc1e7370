"""``timeline ACCOUNT [KIND]`` and the Timeline button of the account card: every touch with an account,
newest first, ten to a page (:mod:`storage.timeline` reads them)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot import actions
from bot.core.context import BotContext
from bot.core.paging import PAGE_SIZE, offset_of, page_of
from bot.core.registry import Registry
from bot.errors import BadArguments, NotFound
from bot.format import truncate
from bot.types import Actions, Block, Context, Header, Reply, Request, Response, Text
from handlers.accounts import choice_reply, payload_int
from storage import queries
from storage.timeline import KINDS, Entry, timeline

KIND_WORDS = {kind: kind for kind in KINDS} | {
    "followup": "followups",
    "notes": "followups",
    "note": "followups",
    "survey": "surveys",
    "milestone": "milestones",
    "outcome": "outcomes",
    "renewal": "renewals",
    "ticket": "tickets",
}
LINE_CHARS = 280


def register(registry: Registry) -> None:
    registry.command(
        "timeline",
        usage=f"timeline ACCOUNT [{'|'.join(KINDS)}]",
        summary="every touch with an account, newest first",
    )(timeline_command)
    registry.action(actions.TIMELINE_OF_ACCOUNT)(of_account_action)


def _split(text: str) -> tuple[str, str | None]:
    """The account words and a trailing kind, when the last word is one."""
    words = text.split()
    if len(words) > 1 and words[-1].lower() in KIND_WORDS:
        return " ".join(words[:-1]), KIND_WORDS[words[-1].lower()]
    return text.strip(), None


async def timeline_command(ctx: BotContext, request: Request) -> Response:
    name, kind = _split(request.arg_text)
    if not name:
        raise BadArguments(
            f"Which account? Try `timeline acme` or `timeline acme feedback` ({', '.join(KINDS)})."
        )
    found = await ctx.accounts.find(name)
    if found.match is None:
        return choice_reply(found, actions.TIMELINE_OF_ACCOUNT)
    return await _timeline(ctx, request, found.match.id, kind)


async def of_account_action(ctx: BotContext, request: Request) -> Response:
    return await _timeline(ctx, request, payload_int(request, "account_id"), None)


def _zone(ctx: BotContext, request: Request) -> ZoneInfo:
    try:
        return ZoneInfo(request.actor.timezone)
    except (KeyError, ValueError):
        return ZoneInfo(ctx.settings.default_timezone)


def _when(entry: Entry, zone: ZoneInfo) -> str:
    """The entry's moment in the reader's time zone; only the day when that is all there is."""
    if not entry.timed:
        return f"{entry.at:%Y-%m-%d}"
    return f"{entry.at.astimezone(zone):%Y-%m-%d %H:%M}"


def entry_line(entry: Entry, zone_day: str) -> str:
    who = f" · {entry.who}" if entry.who else ""
    text = truncate(entry.what, LINE_CHARS)
    link = f" · {entry.link}" if entry.link else ""
    return f"**{zone_day}**{who} · {text}{link}"


async def _timeline(ctx: BotContext, request: Request, account_id: int, kind: str | None) -> Response:
    offset = offset_of(request)
    today = ctx.today(request.actor)
    async with ctx.db.sessions() as session:
        account = await queries.account_by_id(session, account_id)
        if account is None:
            raise NotFound("That account no longer exists.")
        entries, total = await timeline(
            session, account_id, today=today, offset=offset, limit=PAGE_SIZE, kind=kind
        )
    what = f"{kind} of " if kind else ""
    title = f"Timeline: {what}{account.name}"
    if not entries:
        text = f"Nothing on the timeline of **{account.name}** yet" + (f" ({kind})." if kind else ".")
        return Reply(summary=text.replace("**", ""), blocks=(Header(title), Text(text)), shared=request.share)
    zone = _zone(ctx, request)
    page = page_of(entries, request, offset=offset, total=total)
    blocks: list[Block] = [Header(title)]
    blocks += [Text(entry_line(entry, _when(entry, zone))) for entry in entries]
    blocks.append(
        Context((f"{page.caption}, newest first · `timeline {account.name} KIND`: {', '.join(KINDS)}",))
    )
    if page.more:
        blocks.append(Actions((page.more,)))
    return Reply(
        summary=f"{title}: {page.caption}", blocks=tuple(blocks), shared=request.share, replace=offset > 0
    )
