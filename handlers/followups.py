"""Follow-ups: ``log ACCOUNT`` opens the form, ``followups`` lists them, buttons close or snooze them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions
from bot.core.context import BotContext
from bot.core.lines import follow_up_line, item_buttons
from bot.core.registry import Registry
from bot.errors import BadArguments, NotFound
from bot.format import day_text, truncate
from bot.health.alert_notes import note_in
from bot.health.service import recompute_accounts
from bot.types import (
    Button,
    Form,
    FormInput,
    InputKind,
    Option,
    Payload,
    Reply,
    Request,
    Response,
    Text,
    validate_form,
)
from handlers.accounts import choice_reply, payload_int
from handlers.changes import account_for_change, audit_change
from handlers.item_list import item_list_reply
from handlers.scope import owner_scope
from storage import queries
from storage.models import FollowUp, FollowUpKind, FollowUpStatus, HealthAlert

SNOOZE_CHOICES = (1, 7)
MAX_LINK = 1000  # the column's size
KIND_LABELS = {"call": "Call", "email": "Email", "meeting": "Meeting", "qbr": "QBR", "note": "Note"}


def register(registry: Registry) -> None:
    registry.command("log", usage="log ACCOUNT", summary="log a call, email, meeting, QBR or note")(
        log_command
    )
    registry.command("followups", usage="followups [mine|ACCOUNT|overdue]", summary="open follow-ups")(
        followups_command
    )
    registry.action(actions.FOLLOWUP_OPEN_FORM)(open_form_action)
    registry.action(actions.FOLLOWUP_SAVE)(save_action)
    registry.action(actions.FOLLOWUP_DONE)(done_action)
    registry.action(actions.FOLLOWUP_SNOOZE)(snooze_action)


def follow_up_form(
    account_id: int | None,
    account_name: str | None,
    *,
    summary: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    source_link: str | None = None,
    named: Sequence[str] = (),
    alert_id: int | None = None,
) -> Form:
    """The follow-up form; without an account (a message shortcut) it asks which account first,
    proposing the first account ``named`` in the message. ``source_link`` (the message) is kept."""
    values = values or {}
    account_input: tuple[FormInput, ...] = ()
    if account_id is None:
        label = "Account (name or id)"
        if len(named) > 1:
            label = truncate(f"Account (named in the message: {', '.join(named)})", 140)
        account_input = (
            FormInput(
                id="account",
                label=label,
                initial=values.get("account") or (named[0] if named else None),
                max_length=200,
            ),
        )
    what = f"What happened with {truncate(account_name, 60)}?" if account_name else "What happened?"
    payload: Payload = {"account_id": account_id} if account_id is not None else {}
    if source_link:
        payload["source_link"] = source_link
    if alert_id is not None:  # opened from a health alert: the follow-up is written on its message
        payload["alert_id"] = alert_id
    return Form(
        title="Log follow-up",
        inputs=(
            *account_input,
            FormInput(
                id="kind",
                label="Kind",
                kind=InputKind.SELECT,
                initial=values.get("kind", "note" if source_link else "call"),
                options=tuple(Option(value=k.value, label=KIND_LABELS[k.value]) for k in FollowUpKind),
            ),
            FormInput(
                id="summary",
                label=what,
                kind=InputKind.MULTILINE,
                initial=values.get("summary", summary) or None,
                max_length=3000,
            ),
            FormInput(
                id="next_step",
                label="Next step",
                required=False,
                initial=values.get("next_step") or None,
                max_length=500,
            ),
            FormInput(
                id="due_date",
                label="Next step due",
                kind=InputKind.DATE,
                required=False,
                initial=values.get("due_date") or None,
                min_date="today",
            ),
        ),
        submit_action=actions.FOLLOWUP_SAVE,
        payload=payload,
        errors=errors or {},
        opener=Button(
            label="Log follow-up", action=actions.FOLLOWUP_OPEN_FORM, payload=payload, style="primary"
        ),
    )


async def log_command(ctx: BotContext, request: Request) -> Response:
    if not request.args:
        raise BadArguments("Which account? Try `log acme`.")
    found = await ctx.accounts.find(request.arg_text)
    if found.match is None:
        return choice_reply(found)
    return await _form_for(ctx, request, found.match.id)


def source_link_of(request: Request) -> str | None:
    """The message a form was opened from: a web link, or nothing (the payload comes back from the client)."""
    link = str(request.payload.get("source_link") or "").strip()
    return link if link.startswith("https://") and len(link) <= MAX_LINK and link.isprintable() else None


async def open_form_action(ctx: BotContext, request: Request) -> Response:
    """The form for the account in the payload, or asking for the account (a message shortcut), with the
    accounts the message names proposed."""
    summary = str(request.payload.get("summary") or "")
    link = source_link_of(request)
    if request.payload.get("account_id") is None:
        named = [ref.name for ref in await ctx.accounts.named_in(summary)] if summary else []
        return follow_up_form(None, None, summary=summary, source_link=link, named=named)
    return await _form_for(
        ctx,
        request,
        payload_int(request, "account_id"),
        summary=summary,
        source_link=link,
        alert_id=_alert_of(request),
    )


def _alert_of(request: Request) -> int | None:
    raw = request.payload.get("alert_id")
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else None


async def _account_from_values(ctx: BotContext, request: Request) -> tuple[int | None, str | None]:
    """The account a form names: from its payload, or looked up from the Account field (id, error)."""
    if request.payload.get("account_id") is not None:
        return payload_int(request, "account_id"), None
    typed = (request.values.get("account") or "").strip()
    if not typed:
        return None, "Account is required."
    account, problem = await ctx.accounts.pick(typed)
    return (account.id if account else None), problem


async def _form_for(
    ctx: BotContext,
    request: Request,
    account_id: int,
    *,
    summary: str = "",
    source_link: str | None = None,
    alert_id: int | None = None,
) -> Form:
    async with ctx.db.sessions() as session:
        account = await account_for_change(session, request.actor, account_id)
    return follow_up_form(
        account.id, account.name, summary=summary, source_link=source_link, alert_id=alert_id
    )


async def save_action(ctx: BotContext, request: Request) -> Response:
    today = ctx.today(request.actor)
    link = source_link_of(request)
    account_id, account_problem = await _account_from_values(ctx, request)
    if account_id is None:
        blank = follow_up_form(None, None, values=request.values, source_link=link)
        errors = validate_form(blank, request.values, today=today)
        errors.setdefault("account", account_problem or "Account is required.")
        return follow_up_form(None, None, values=request.values, errors=errors, source_link=link)
    async with ctx.db.transaction() as session:
        account = await account_for_change(session, request.actor, account_id)
        alert_id = _alert_of(request)
        form = follow_up_form(
            account.id, account.name, values=request.values, source_link=link, alert_id=alert_id
        )
        errors = validate_form(form, request.values, today=today)
        if errors:
            return follow_up_form(
                account.id,
                account.name,
                values=request.values,
                errors=errors,
                source_link=link,
                alert_id=alert_id,
            )
        due = request.values.get("due_date", "").strip()
        next_step = (request.values.get("next_step") or "").strip() or None
        # A touchpoint with a next step stays open until that step is done; a plain record is done at once.
        still_open = bool(next_step or due)
        follow_up = FollowUp(
            account_id=account.id,
            author_id=request.actor.person_id,
            kind=request.values["kind"].strip(),
            summary=request.values["summary"].strip(),
            next_step=next_step,
            due_date=date.fromisoformat(due) if due else None,
            status=FollowUpStatus.OPEN.value if still_open else FollowUpStatus.DONE.value,
            created_at=ctx.now(),
            done_at=None if still_open else ctx.now(),
            source_link=link,
        )
        session.add(follow_up)
        await session.flush()
        audit_change(
            session,
            request.actor,
            action="followup.logged",
            object_type="follow_up",
            object_id=follow_up.id,
            details={"account_id": account.id, "kind": follow_up.kind},
        )
        if alert_id is not None:
            await _note_on_alert(
                session, alert_id, account.id, follow_up, request, now=ctx.now(), today=today
            )
    # Logging a touchpoint is engagement: refresh today's health so the card shows it at once.
    await recompute_accounts(ctx.db, today, [account.id], model=ctx.health_model)
    kind = KIND_LABELS.get(follow_up.kind, follow_up.kind)
    kind = kind if kind.isupper() else kind.lower()  # "QBR" stays upper case
    what = f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"  # "an email", "a call"
    text = f"✅ Logged {what} for **{account.name}**" + (
        ", with a link to the message, on its timeline." if link else "."
    )
    if follow_up.next_step or follow_up.due_date:
        step = follow_up.next_step or "follow up"
        text += f"\nNext step: {step}" + (
            f", due {day_text(follow_up.due_date)}" if follow_up.due_date else ""
        )
    return Reply(summary=f"Logged {what} for {account.name}", blocks=(Text(text),))


async def _note_on_alert(
    session: AsyncSession,
    alert_id: int,
    account_id: int,
    follow_up: FollowUp,
    request: Request,
    *,
    now: datetime,
    today: date,
) -> None:
    """Write the follow-up on the health alert it was logged from (an alert of that account only)."""
    alert_account = await session.scalar(select(HealthAlert.account_id).where(HealthAlert.id == alert_id))
    if alert_account != account_id:
        return
    who = request.actor.name or request.actor.email or "Someone"
    kind = KIND_LABELS.get(follow_up.kind, follow_up.kind)
    kind = kind if kind.isupper() else kind.lower()
    line = f"📝 {who} logged a {kind} on {day_text(today)}: {truncate(follow_up.summary, 200)}"
    await note_in(session, alert_id, line, revision=f"followup:{follow_up.id}", now=now)


async def followups_command(ctx: BotContext, request: Request) -> Response:
    today = ctx.today(request.actor)
    mode = request.arg_text.strip()
    lowered = mode.lower()
    assert request.actor.person_id is not None
    async with ctx.db.sessions() as session:
        if lowered in ("", "mine"):
            title = "Your open follow-ups"
            rows = await queries.open_follow_ups(session, today=today, people_ids=[request.actor.person_id])
        elif lowered == "overdue":
            title = "Overdue follow-ups"
            scope = await owner_scope(ctx, request.actor)
            rows = await queries.open_follow_ups(session, today=today, people_ids=scope, overdue_only=True)
        else:
            found = await ctx.accounts.find(mode)
            if found.match is None:
                return choice_reply(found)
            title = f"Open follow-ups for {found.match.name}"
            rows = await queries.open_follow_ups(session, today=today, account_id=found.match.id)
    return item_list_reply(
        request, title, rows, line=lambda row: follow_up_line(row, today), buttons=follow_up_buttons
    )


def follow_up_buttons(row: queries.FollowUpRow) -> tuple[Button, ...]:
    return item_buttons(actions.FOLLOWUP_DONE, actions.FOLLOWUP_SNOOZE, "followup_id", row.id)


def snooze_days(request: Request) -> int:
    days = payload_int(request, "days")
    if days not in SNOOZE_CHOICES:
        raise BadArguments("Snooze for 1 day or 1 week.")
    return days


async def _load_follow_up(ctx: BotContext, request: Request) -> tuple[int, int]:
    follow_up_id = payload_int(request, "followup_id")
    async with ctx.db.sessions() as session:
        account_id = (
            await session.execute(select(FollowUp.account_id).where(FollowUp.id == follow_up_id))
        ).scalar_one_or_none()
    if account_id is None:
        raise NotFound("That follow-up no longer exists.")
    return follow_up_id, account_id


async def done_action(ctx: BotContext, request: Request) -> Response:
    follow_up_id, account_id = await _load_follow_up(ctx, request)
    async with ctx.db.transaction() as session:
        account = await account_for_change(session, request.actor, account_id)
        follow_up = await session.get(FollowUp, follow_up_id)
        assert follow_up is not None
        if follow_up.status == FollowUpStatus.DONE.value:
            text = f"That follow-up for **{account.name}** was already done."
        else:
            follow_up.status = FollowUpStatus.DONE.value
            follow_up.done_at = ctx.now()
            audit_change(
                session,
                request.actor,
                action="followup.done",
                object_type="follow_up",
                object_id=follow_up_id,
                details={"account_id": account_id},
            )
            text = f"✅ Done: {truncate(follow_up.next_step or follow_up.summary, 200)} (**{account.name}**)"
    return Reply(summary=text.replace("**", ""), blocks=(Text(text),), replace=True)


async def snooze_action(ctx: BotContext, request: Request) -> Response:
    days = snooze_days(request)
    follow_up_id, account_id = await _load_follow_up(ctx, request)
    until = ctx.today(request.actor) + timedelta(days=days)
    async with ctx.db.transaction() as session:
        account = await account_for_change(session, request.actor, account_id)
        follow_up = await session.get(FollowUp, follow_up_id)
        assert follow_up is not None
        follow_up.snoozed_until = until
        audit_change(
            session,
            request.actor,
            action="followup.snoozed",
            object_type="follow_up",
            object_id=follow_up_id,
            details={"account_id": account_id, "until": until.isoformat()},
        )
    what = truncate(follow_up.next_step or follow_up.summary, 200)
    text = f"💤 Snoozed until {day_text(until)}: {what} (**{account.name}**)"
    return Reply(summary=text.replace("**", ""), blocks=(Text(text),), replace=True)
