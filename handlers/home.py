"""``home``: a person's overview, also shown as the Slack App Home tab."""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import BotContext
from bot.core.lines import follow_up_line, list_line, milestone_line, worst_first
from bot.core.registry import Registry
from bot.format import day_text
from bot.health.service import latest_health
from bot.types import Block, Context, Divider, Header, Reply, Request, Response, Text
from storage import queries

MAX_ACCOUNTS = 15
MAX_ITEMS = 10


def register(registry: Registry) -> None:
    registry.command("home", usage="home", summary="your overview: accounts, follow-ups due, milestones")(
        home_command
    )


async def home_command(ctx: BotContext, request: Request) -> Response:
    assert request.actor.person_id is not None
    person_id = request.actor.person_id
    today = ctx.today(request.actor)
    async with ctx.db.sessions() as session:
        # Churned accounts are not scored (see `my`): left out of the overview.
        accounts = [a for a in await queries.accounts_owned_by(session, person_id) if not a.churned]
        follow_ups = await queries.open_follow_ups(session, today=today, people_ids=[person_id])
        milestones = await queries.open_milestones(
            session, today=today, owner_ids=[person_id], due_before=today + timedelta(days=7)
        )
    blocks: list[Block] = [Header(f"Touchpoint for {request.actor.name or 'you'}")]
    if accounts:
        health = await latest_health(ctx.db, [a.id for a in accounts], today, model=ctx.health_model)
        items = sorted(((a, health.get(a.id)) for a in accounts), key=worst_first)
        shown = items[:MAX_ACCOUNTS]
        blocks.append(Text(f"**Your accounts ({len(accounts)}), worst health first**"))
        blocks.append(Text("\n".join(list_line(a, h, today) for a, h in shown)))
        if len(items) > MAX_ACCOUNTS:
            blocks.append(Context((f"{len(items) - MAX_ACCOUNTS} more: use `my` for the full list",)))
    else:
        blocks.append(Text("You own no accounts in Touchpoint."))
    due = [f for f in follow_ups if f.due_date is not None and f.due_date <= today]
    blocks.append(Divider())
    if due:
        blocks.append(Text(f"**Follow-ups due ({len(due)})**"))
        blocks.append(Text("\n".join(follow_up_line(f, today) for f in due[:MAX_ITEMS])))
    else:
        blocks.append(Text("**Follow-ups due:** none 🎉"))
    if milestones:
        blocks.append(Text(f"**Milestones overdue or due this week ({len(milestones)})**"))
        blocks.append(Text("\n".join(milestone_line(m, today) for m in milestones[:MAX_ITEMS])))
    else:
        blocks.append(Text("**Milestones this week:** none"))
    blocks.append(Context((f"Updated {day_text(today)}. Type `help` for everything Touchpoint can do.",)))
    return Reply(summary=f"Touchpoint overview for {request.actor.name}", blocks=tuple(blocks))
