"""Milestones: ``milestones [ACCOUNT|overdue|week]`` with Done and Snooze buttons on each."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import select

from bot import actions
from bot.core.context import BotContext
from bot.core.lines import item_buttons, milestone_line
from bot.core.registry import Registry
from bot.errors import NotFound
from bot.format import day_text
from bot.health.service import recompute_accounts
from bot.types import Reply, Request, Response, Text
from handlers.accounts import choice_reply, payload_int
from handlers.changes import account_for_change, audit_change
from handlers.followups import snooze_days
from handlers.item_list import item_list_reply
from handlers.scope import owner_scope
from storage import queries
from storage.models import Milestone

DEFAULT_HORIZON_DAYS = 14


def register(registry: Registry) -> None:
    registry.command(
        "milestones",
        usage="milestones [ACCOUNT|overdue|week]",
        summary="milestones due, overdue or per account",
    )(milestones_command)
    registry.action(actions.MILESTONES_OF_ACCOUNT)(of_account_action)
    registry.action(actions.MILESTONE_DONE)(done_action)
    registry.action(actions.MILESTONE_SNOOZE)(snooze_action)


async def milestones_command(ctx: BotContext, request: Request) -> Response:
    today = ctx.today(request.actor)
    mode = request.arg_text.strip()
    lowered = mode.lower()
    scope = await owner_scope(ctx, request.actor)
    async with ctx.db.sessions() as session:
        if lowered == "":
            title = f"Milestones overdue or due in {DEFAULT_HORIZON_DAYS} days"
            rows = await queries.open_milestones(
                session, today=today, owner_ids=scope, due_before=today + timedelta(days=DEFAULT_HORIZON_DAYS)
            )
        elif lowered == "overdue":
            title = "Overdue milestones"
            rows = await queries.open_milestones(
                session, today=today, owner_ids=scope, due_before=today - timedelta(days=1)
            )
        elif lowered == "week":
            title = "Milestones this week"
            rows = [
                r
                for r in await queries.open_milestones(
                    session, today=today, owner_ids=scope, due_before=today + timedelta(days=7)
                )
                if r.due_date >= today
            ]
        else:
            found = await ctx.accounts.find(mode)
            if found.match is None:
                return choice_reply(found)
            return await _account_milestones(ctx, request, found.match.id)
    return _list(request, title, rows, today)


async def of_account_action(ctx: BotContext, request: Request) -> Response:
    return await _account_milestones(ctx, request, payload_int(request, "account_id"))


async def _account_milestones(ctx: BotContext, request: Request, account_id: int) -> Response:
    today = ctx.today(request.actor)
    async with ctx.db.sessions() as session:
        account = await queries.account_by_id(session, account_id)
        if account is None:
            raise NotFound("That account no longer exists.")
        rows = await queries.open_milestones(session, today=today, account_id=account_id)
    # As `milestones ID`, so the More button can run it again whether it was typed or clicked on a card.
    listing = replace(request, command="milestones", args=(account.external_id,))
    return _list(listing, f"Open milestones for {account.name}", rows, today)


def _list(request: Request, title: str, rows: list[queries.MilestoneRow], today: date) -> Reply:
    return item_list_reply(
        request,
        title,
        rows,
        line=lambda row: milestone_line(row, today),
        buttons=lambda row: item_buttons(
            actions.MILESTONE_DONE, actions.MILESTONE_SNOOZE, "milestone_id", row.id
        ),
    )


async def _milestone_account(ctx: BotContext, request: Request) -> tuple[int, int]:
    milestone_id = payload_int(request, "milestone_id")
    async with ctx.db.sessions() as session:
        account_id = (
            await session.execute(select(Milestone.account_id).where(Milestone.id == milestone_id))
        ).scalar_one_or_none()
    if account_id is None:
        raise NotFound("That milestone no longer exists.")
    return milestone_id, account_id


async def done_action(ctx: BotContext, request: Request) -> Response:
    milestone_id, account_id = await _milestone_account(ctx, request)
    async with ctx.db.transaction() as session:
        account = await account_for_change(session, request.actor, account_id)
        milestone = await session.get(Milestone, milestone_id)
        assert milestone is not None
        if milestone.completed_at is not None:
            text = f"{milestone.name} for **{account.name}** was already done."
        else:
            milestone.completed_at = ctx.now()
            milestone.snoozed_until = None
            audit_change(
                session,
                request.actor,
                action="milestone.done",
                object_type="milestone",
                object_id=milestone_id,
                details={"account_id": account_id},
            )
            text = f"✅ {milestone.name} for **{account.name}** is done."
    # A milestone done no longer counts as overdue: refresh today's health.
    await recompute_accounts(ctx.db, ctx.today(request.actor), [account_id], model=ctx.health_model)
    return Reply(summary=text.replace("**", ""), blocks=(Text(text),), replace=True)


async def snooze_action(ctx: BotContext, request: Request) -> Response:
    days = snooze_days(request)
    milestone_id, account_id = await _milestone_account(ctx, request)
    until = ctx.today(request.actor) + timedelta(days=days)
    async with ctx.db.transaction() as session:
        account = await account_for_change(session, request.actor, account_id)
        milestone = await session.get(Milestone, milestone_id)
        assert milestone is not None
        milestone.snoozed_until = until
        audit_change(
            session,
            request.actor,
            action="milestone.snoozed",
            object_type="milestone",
            object_id=milestone_id,
            details={"account_id": account_id, "until": until.isoformat()},
        )
    text = f"💤 {milestone.name} for **{account.name}** snoozed until {day_text(until)}."
    return Reply(summary=text.replace("**", ""), blocks=(Text(text),), replace=True)
