"""The Add outcome form: its fields (what measures the outcome, the target, the due date), checking
what was typed, and saving a new outcome to the account's plan."""

from __future__ import annotations

import math
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions
from bot.core.context import BotContext
from bot.format import truncate
from bot.health.measures import METRICS
from bot.success.plans import value_now
from bot.types import Button, Form, FormInput, InputKind, Option, Payload, Request, Response, validate_form
from handlers.accounts import payload_int
from handlers.changes import account_for_change, audit_change
from handlers.plans_card import plan_card
from storage.models import Outcome, OutcomeComparison, OutcomeStatus

MANUAL = "manual"
MANUAL_LABEL = "Manual: a person marks it achieved"


def metric_options() -> tuple[Option, ...]:
    """Every metric an outcome can follow, by its label, then the manual kind."""
    options = [
        Option(value=name, label=spec.label[:1].upper() + spec.label[1:]) for name, spec in METRICS.items()
    ]
    return (*options, Option(value=MANUAL, label=MANUAL_LABEL))


def outcome_form(
    account_id: int,
    account_name: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Form:
    values = values or {}
    payload: Payload = {"account_id": account_id}
    return Form(
        title="Add outcome",
        inputs=(
            FormInput(
                id="outcome",
                label=f"Outcome for {truncate(account_name, 60)}",
                initial=values.get("outcome") or None,
                placeholder="For example: 200 weekly active users",
                max_length=200,
            ),
            FormInput(
                id="metric",
                label="Measured by",
                kind=InputKind.SELECT,
                initial=values.get("metric") or None,
                options=metric_options(),
            ),
            FormInput(
                id="target",
                label="Target (a number; empty for a manual outcome)",
                required=False,
                initial=values.get("target") or None,
                max_length=30,
            ),
            FormInput(
                id="due_date",
                label="Due date",
                kind=InputKind.DATE,
                initial=values.get("due_date") or None,
                min_date="today",
            ),
            FormInput(
                id="customer_owner",
                label="Owner on the customer's side",
                required=False,
                initial=values.get("customer_owner") or None,
                max_length=200,
            ),
        ),
        submit_action=actions.PLAN_SAVE,
        submit_label="Add",
        payload=payload,
        errors=errors or {},
        opener=Button(label="Add outcome", action=actions.PLAN_OPEN_FORM, payload=payload, style="primary"),
    )


def parse_target(raw: str | None, metric: str | None) -> tuple[float | None, str | None]:
    """The target typed for ``metric`` (None: manual), or the problem to show under the field."""
    text = (raw or "").strip().replace(",", "").replace(" ", "").removesuffix("%")
    if metric is None:
        if text:
            return None, "A manual outcome has no target: leave it empty, or choose what measures it."
        return None, None
    if not text:
        return None, "A measured outcome needs a target, for example 200."
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        return None, "The target must be a number, for example 200 or 4.5."
    spec = METRICS.get(metric)
    if spec is not None and not spec.allows(value):
        return None, f"A target for {spec.label} must be {_bounds(spec.low, spec.high)}."
    return value, None


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    if low is not None:
        return f"{low:g} or more"
    return f"{high:g} or less"


async def open_form_action(ctx: BotContext, request: Request) -> Response:
    return await form_for(ctx, request, payload_int(request, "account_id"))


async def form_for(ctx: BotContext, request: Request, account_id: int) -> Form:
    async with ctx.db.sessions() as session:
        account = await account_for_change(session, request.actor, account_id)
    return outcome_form(account.id, account.name)


async def save_action(ctx: BotContext, request: Request) -> Response:
    account_id = payload_int(request, "account_id")
    today = ctx.today(request.actor)
    values = request.values
    title = " ".join((values.get("outcome") or "").split())
    try:
        async with ctx.db.transaction() as session:
            account = await account_for_change(session, request.actor, account_id)
            errors = validate_form(outcome_form(account.id, account.name), values, today=today)
            chosen = (values.get("metric") or "").strip()
            metric = None if chosen in ("", MANUAL) else chosen
            target, problem = parse_target(values.get("target"), metric)
            if problem and "metric" not in errors:
                errors.setdefault("target", problem)
            if title and "outcome" not in errors and await _title_taken(session, account.id, title):
                errors["outcome"] = _duplicate(title)
            if errors:
                return outcome_form(account.id, account.name, values=values, errors=errors)
            spec = METRICS[metric] if metric is not None else None
            outcome = Outcome(
                account_id=account.id,
                title=title,
                metric=metric,
                comparison=spec.comparison if spec is not None else OutcomeComparison.AT_LEAST.value,
                target=target,
                baseline=await value_now(session, account.id, metric, today) if metric is not None else None,
                start_date=today,
                due_date=date.fromisoformat(values["due_date"].strip()),
                customer_owner=" ".join((values.get("customer_owner") or "").split()) or None,
                status=OutcomeStatus.OPEN.value,
                created_by_id=request.actor.person_id,
                created_at=ctx.now(),
                updated_at=ctx.now(),
            )
            session.add(outcome)
            await session.flush()
            audit_change(
                session,
                request.actor,
                action="outcome.added",
                object_type="outcome",
                object_id=outcome.id,
                details={"account_id": account.id, "title": title, "metric": metric, "target": target},
            )
    except IntegrityError:  # the same title saved a moment ago by someone else
        async with ctx.db.sessions() as session:
            account = await account_for_change(session, request.actor, account_id)
        return outcome_form(account.id, account.name, values=values, errors={"outcome": _duplicate(title)})
    return await plan_card(ctx, request, account_id, notice=f"✅ Added “{title}” to the plan.")


async def _title_taken(session: AsyncSession, account_id: int, title: str) -> bool:
    """Titles are unique per account; "Go live" and "go live" would read as the same outcome."""
    found = await session.scalar(
        select(Outcome.id).where(Outcome.account_id == account_id, func.lower(Outcome.title) == title.lower())
    )
    return found is not None


def _duplicate(title: str) -> str:
    return f"The plan already has an outcome called “{truncate(title, 80)}”."
