"""Feedback items: what CX sends CS about an account, and what CS sends CX about many.

An item is stored first (with its first transition, None -> new), then routed and announced through the
outbox: the delivery worker posts the messages, on each person's own platform. Every later change
(acknowledged, resolved, reassigned) is checked against who may make it, recorded as a transition, and
told to the originator, so the loop closes back to whoever raised the item.

Where an item goes is :mod:`bot.feedback.routing`; a strongly negative text makes it urgent, and its card
carries a "⚠️ Strongly negative" marker with the score.

Anyone who should hear and cannot (no Slack or Teams identity), and any item with nowhere to go, is
reported to the reachable admins instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import BadArguments, NotAllowed, NotFound
from bot.feedback.messages import PURPOSE, admin_reports, item_reply, originator_note, person_label
from bot.feedback.routing import (
    CS_TEAM,
    CX_TEAM,
    MAX_TEXT,
    Routing,
    channel_address,
    normalise_tags,
    pick_route,
)
from bot.feedback.sentiment import STRONGLY_NEGATIVE, is_strongly_negative, score
from bot.log import get_logger
from bot.recipients import address_for
from bot.serialize import outbox_message, reply_to_dict
from bot.types import Actor, Address
from storage import audit, living, outbox
from storage.db import Database
from storage.models import Account, FeedbackItem, FeedbackState, FeedbackTransition, Person, Role

log = get_logger("touchpoint.feedback")


# A feedback item's posts (to its recipient, their manager, the team channel) are living messages:
# every change of state rewrites them in place.
def subject_of(item_id: int) -> living.Subject:
    return living.Subject(kind=living.FEEDBACK, id=item_id)


# Which state may follow which; resolving straight from new is allowed.
NEXT_STATES = {
    FeedbackState.NEW.value: {FeedbackState.ACKNOWLEDGED.value, FeedbackState.RESOLVED.value},
    FeedbackState.ACKNOWLEDGED.value: {FeedbackState.RESOLVED.value},
    FeedbackState.RESOLVED.value: set(),
}


# ---------------------------------------------------------------------------------------------- submit


async def submit_feedback(
    db: Database,
    *,
    originator_id: int | None,
    originator_team: str,
    account_id: int | None,
    text: str,
    tags: Sequence[str],
    urgent: bool,
    source: str,
    now: datetime,
    routing: Routing,
    source_link: str | None = None,
    survey_response_id: int | None = None,
) -> FeedbackItem | None:
    """Store a feedback item, then queue its notifications. None when ``survey_response_id`` already has
    an item (an import or a scheduler run seeing the same answer twice). A strongly negative text makes
    the item urgent."""
    text = text.strip()
    if not text:
        raise BadArguments("What is the feedback? Add a sentence or two.")
    sentiment = score(text[:MAX_TEXT])
    flagged = is_strongly_negative(sentiment, threshold=routing.strongly_negative)
    urgent = urgent or flagged
    clean_tags = normalise_tags(tags)
    team = CX_TEAM if originator_team == CX_TEAM else CS_TEAM
    try:
        async with db.transaction() as session:
            if survey_response_id is not None:
                existing = await session.scalar(
                    select(FeedbackItem.id).where(FeedbackItem.survey_response_id == survey_response_id)
                )
                if existing is not None:
                    return None
            owner_id: int | None = None
            if account_id is not None:
                account = await session.get(Account, account_id)
                if account is None:
                    raise NotFound("That account no longer exists.")
                owner_id = account.owner_id
            route = pick_route(
                originator_id=originator_id,
                team=team,
                owner_id=owner_id,
                has_account=account_id is not None,
                tags=clean_tags,
                routing=routing,
            )
            item = FeedbackItem(
                originator_id=originator_id,
                originator_team=team,
                account_id=account_id,
                recipient_id=route.recipient_id,
                recipient_channel=route.recipient_channel,
                tags=clean_tags,
                text=text[:MAX_TEXT],
                urgent=urgent,
                sentiment=sentiment,
                source=source[:16],
                source_link=(source_link or None) and source_link[:1000],
                survey_response_id=survey_response_id,
                state=FeedbackState.NEW.value,
                escalation_level=0,
                created_at=now,
                updated_at=now,
            )
            session.add(item)
            await session.flush()
            session.add(
                FeedbackTransition(
                    item_id=item.id,
                    actor_id=originator_id,
                    from_state=None,
                    to_state=FeedbackState.NEW.value,
                    note=None,
                    at=now,
                )
            )
    except IntegrityError:
        if survey_response_id is not None:  # another run stored the same survey answer just now
            return None
        raise
    log.info(
        "feedback_submitted",
        item_id=item.id,
        team=team,
        account_id=account_id,
        recipient_id=item.recipient_id,
        recipient_channel=item.recipient_channel,
        urgent=urgent,
        strongly_negative=flagged,
    )
    await _announce_new(db, item, now=now, strongly_negative=routing.strongly_negative)
    return item


async def _announce_new(db: Database, item: FeedbackItem, *, now: datetime, strongly_negative: float) -> None:
    async with db.sessions() as session:
        account_name, originator_name = await _names(session, item)
        people: list[int] = []
        if item.recipient_id is not None:
            people.append(item.recipient_id)
            if item.urgent:
                manager_id = await session.scalar(
                    select(Person.manager_id).where(Person.id == item.recipient_id)
                )
                if manager_id is not None and manager_id not in people:
                    people.append(manager_id)
        directory = await _people(session, people)
        admins = await _admin_addresses(session)
    card = reply_to_dict(
        item_reply(
            item, account_name, originator_name, for_recipient=True, strongly_negative=strongly_negative
        )
    )
    posts: list[outbox.NewMessage] = []
    problems: list[str] = []
    for person_id in people:
        person = directory.get(person_id)
        address = (
            None if person is None else address_for(person.id, person.slack_user_id, person.teams_user_id)
        )
        if address is None:
            problems.append(f"{person_label(person, person_id)} cannot be reached on Slack or Teams")
            continue
        posts.append(outbox_message(f"feedback:{item.id}:new:{person_id}", PURPOSE, address, card))
    channel = channel_address(item.recipient_channel)
    if channel is not None:
        posts.append(outbox_message(f"feedback:{item.id}:new:channel", PURPOSE, channel, card))
    elif item.recipient_channel:
        problems.append(f"the channel {item.recipient_channel!r} is not slack:ID or teams:ID")
    if item.recipient_id is None and channel is None and not problems:
        team = "CX" if item.originator_team == CS_TEAM else "CS"
        problems.append(f"no {team} channel is configured and no person owns it")
    reports = admin_reports(item, account_name, problems, admins, key=f"feedback:{item.id}:new")
    await living.post(db, subject_of(item.id), posts, others=reports, now=now)


# ------------------------------------------------------------------------------------------ transitions


def can_change_item(actor: Actor, item: FeedbackItem, managers: Sequence[int | None]) -> bool:
    """The recipient, the originator, their managers and admins; CX people for items sent to CX."""
    if actor.role == Role.ADMIN.value:
        return True
    if actor.person_id is None:
        return False
    if actor.person_id in {item.recipient_id, item.originator_id, *managers} - {None}:
        return True
    sent_to_cx = item.recipient_id is None and item.originator_team == CS_TEAM
    return sent_to_cx and actor.role == Role.CX.value


async def load_for_change(session: AsyncSession, actor: Actor, item_id: int) -> FeedbackItem:
    """The item, once ``actor`` is confirmed to be allowed to change it."""
    item = await session.get(FeedbackItem, item_id)
    if item is None:
        raise NotFound("That feedback item no longer exists.")
    people = [p for p in (item.recipient_id, item.originator_id) if p is not None]
    managers: list[int | None] = []
    if people:
        managers = list((await session.scalars(select(Person.manager_id).where(Person.id.in_(people)))).all())
    if not can_change_item(actor, item, managers):
        raise NotAllowed(
            "Only the person it was sent to, whoever sent it, their managers or an admin can change this "
            "feedback item."
        )
    return item


async def transition(
    db: Database,
    *,
    item_id: int,
    actor: Actor,
    to_state: str,
    note: str | None,
    now: datetime,
    strongly_negative: float = STRONGLY_NEGATIVE,
) -> FeedbackItem:
    """Move an item to ``to_state`` (acknowledged or resolved) as ``actor``: its posts are rewritten to
    show it, in the same transaction, and the originator hears of it."""
    if to_state not in NEXT_STATES or to_state == FeedbackState.NEW.value:
        raise BadArguments(f"A feedback item cannot be moved to {to_state!r}.")
    note = (note or "").strip() or None
    async with db.transaction() as session:
        item = await load_for_change(session, actor, item_id)
        if item.state == to_state:
            raise BadArguments(f"That feedback item is already {to_state}.")
        if to_state not in NEXT_STATES.get(item.state, set()):
            raise BadArguments(f"That feedback item is {item.state}; it cannot be {to_state} now.")
        from_state = item.state
        item.state = to_state
        item.updated_at = now
        if to_state == FeedbackState.RESOLVED.value:
            item.resolution = note
        step = FeedbackTransition(
            item_id=item.id,
            actor_id=actor.person_id,
            from_state=from_state,
            to_state=to_state,
            note=note,
            at=now,
        )
        session.add(step)
        await session.flush()
        _audit(session, actor, f"feedback.{to_state}", item.id, {"from": from_state, "note": note})
        await _edit_posts(session, item, revision=f"t{step.id}", now=now, strongly_negative=strongly_negative)
    log.info("feedback_transition", item_id=item.id, to_state=to_state, actor_id=actor.person_id)
    verb = "acknowledged" if to_state == FeedbackState.ACKNOWLEDGED.value else "resolved"
    await _tell_originator(
        db, item, actor, verb=verb, note=note, key=f"feedback:{item.id}:{to_state}:originator", now=now
    )
    return item


async def reassign(
    db: Database,
    *,
    item_id: int,
    actor: Actor,
    email: str,
    now: datetime,
    strongly_negative: float = STRONGLY_NEGATIVE,
) -> tuple[FeedbackItem, Person]:
    """Give an open item to the registered person with ``email``; they get the card, the originator hears."""
    email = email.strip()
    async with db.transaction() as session:
        item = await load_for_change(session, actor, item_id)
        if item.state == FeedbackState.RESOLVED.value:
            raise BadArguments("That feedback item is resolved already.")
        target = await session.scalar(select(Person).where(Person.email.ilike(email)))
        if target is None:
            raise NotFound(f"Nobody with the email {email} is registered.")
        if target.id == item.recipient_id:
            raise BadArguments(f"It is {target.name}'s already.")
        from_state = item.state
        item.recipient_id = target.id
        item.state = FeedbackState.NEW.value
        item.updated_at = now
        note = f"reassigned to {target.name}"
        step = FeedbackTransition(
            item_id=item.id,
            actor_id=actor.person_id,
            from_state=from_state,
            to_state=FeedbackState.NEW.value,
            note=note,
            at=now,
        )
        session.add(step)
        await session.flush()
        _audit(
            session, actor, "feedback.reassigned", item.id, {"from": from_state, "to_person_id": target.id}
        )
        card = await _edit_posts(
            session, item, revision=f"t{step.id}", now=now, strongly_negative=strongly_negative
        )
        account_name, _ = await _names(session, item)
        admins = await _admin_addresses(session)
    address = address_for(target.id, target.slack_user_id, target.teams_user_id)
    key = f"feedback:{item.id}:reassigned:{step.id}"
    if address is None:
        problems = [f"{target.name} ({target.email}) cannot be reached on Slack or Teams"]
        await outbox.enqueue(db, admin_reports(item, account_name, problems, admins, key=key), now=now)
    else:
        post = outbox_message(f"{key}:{target.id}", PURPOSE, address, card)
        await living.post(db, subject_of(item.id), [post], now=now)
    await _tell_originator(db, item, actor, verb=note, note=None, key=f"{key}:originator", now=now)
    return item, target


async def _tell_originator(
    db: Database, item: FeedbackItem, actor: Actor, *, verb: str, note: str | None, key: str, now: datetime
) -> None:
    if item.originator_id is None or item.originator_id == actor.person_id:
        return
    async with db.sessions() as session:
        originator = await session.get(Person, item.originator_id)
        account_name, _ = await _names(session, item)
        admins = await _admin_addresses(session)
    if originator is None:
        return
    reply = originator_note(item, actor.name or actor.email or "Someone", verb, note, account_name)
    address = address_for(originator.id, originator.slack_user_id, originator.teams_user_id)
    if address is None:
        problems = [
            f"{originator.name} ({originator.email}), who sent it, cannot be reached on Slack or Teams"
        ]
        await outbox.enqueue(db, admin_reports(item, account_name, problems, admins, key=key), now=now)
        return
    await outbox.enqueue(db, [outbox_message(key, PURPOSE, address, reply)], now=now)


# ------------------------------------------------------------------------------------------------ cards


async def _edit_posts(
    session: AsyncSession, item: FeedbackItem, *, revision: str, now: datetime, strongly_negative: float
) -> dict[str, Any]:
    """Queue the rewrite of the item's posts to show it as it is now; returns the card."""
    account_name, originator_name = await _names(session, item)
    card = reply_to_dict(
        item_reply(
            item, account_name, originator_name, for_recipient=True, strongly_negative=strongly_negative
        )
    )
    await living.edit_in(session, subject_of(item.id), card, revision=revision, purpose=PURPOSE, now=now)
    return card


# ---------------------------------------------------------------------------------------------- helpers


async def _names(session: AsyncSession, item: FeedbackItem) -> tuple[str | None, str | None]:
    account_name = None
    if item.account_id is not None:
        account_name = await session.scalar(select(Account.name).where(Account.id == item.account_id))
    originator_name = None
    if item.originator_id is not None:
        originator_name = await session.scalar(select(Person.name).where(Person.id == item.originator_id))
    return account_name, originator_name


async def _people(session: AsyncSession, ids: Sequence[int]) -> dict[int, Person]:
    if not ids:
        return {}
    rows = await session.scalars(select(Person).where(Person.id.in_(list(ids))))
    return {p.id: p for p in rows}


async def _admin_addresses(session: AsyncSession) -> dict[int, Address]:
    rows = await session.scalars(select(Person).where(Person.role == Role.ADMIN.value).order_by(Person.id))
    found = {p.id: address_for(p.id, p.slack_user_id, p.teams_user_id) for p in rows}
    return {person_id: address for person_id, address in found.items() if address is not None}


def _audit(session: AsyncSession, actor: Actor, action: str, item_id: int, details: dict[str, Any]) -> None:
    audit.record(
        session,
        action=action,
        object_type="feedback_item",
        object_id=item_id,
        platform=actor.platform.value,
        actor_id=actor.person_id,
        actor_label=actor.email or actor.platform_user_id,
        details=details,
    )
