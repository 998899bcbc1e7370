"""Feedback between CS and CX: ``feedback ACCOUNT TEXT #tag`` sends it, ``feedback [open|mine|ACCOUNT|#tag]``
lists it, and the recipient's buttons acknowledge, resolve or reassign it (see :mod:`bot.feedback`).

This module reads the command's words and registers the area; the send form is in
:mod:`handlers.feedback_send`, the recipient's buttons in :mod:`handlers.feedback_buttons` and the lists
in :mod:`handlers.feedback_lists`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import actions
from bot.core.context import BotContext
from bot.core.lookup import AccountRef
from bot.core.registry import Registry
from bot.errors import BadArguments, NotAllowed
from bot.feedback.routing import normalise_tags
from bot.feedback.themes import acknowledge_theme
from bot.format import plural, truncate
from bot.types import Actions, Button, Reply, Request, Response, Text
from handlers.accounts import choice_reply, payload_int
from handlers.feedback_buttons import (
    ack_action,
    reassign_action,
    reassign_save_action,
    resolve_action,
    resolve_save_action,
)
from handlers.feedback_lists import list_feedback
from handlers.feedback_send import open_form_action, save_action, submit
from storage.models import Role
from storage.names import name_key

URGENT_TAG = "urgent"
LIST_WORDS = ("open", "mine")
MAX_ACCOUNT_WORDS = 5
PAYLOAD_TEXT = 1500  # a Slack button value holds 2000 characters


def register(registry: Registry) -> None:
    registry.command(
        "feedback",
        usage="feedback ACCOUNT TEXT [#tag] | feedback #bug TEXT | feedback [open|mine|ACCOUNT|#tag]",
        summary="send feedback between CS and CX, or list it",
    )(feedback_command)
    registry.action(actions.FEEDBACK_OPEN_FORM)(open_form_action)
    registry.action(actions.FEEDBACK_SAVE)(save_action)
    registry.action(actions.FEEDBACK_ACK)(ack_action)
    registry.action(actions.FEEDBACK_RESOLVE)(resolve_action)
    registry.action(actions.FEEDBACK_RESOLVE_SAVE)(resolve_save_action)
    registry.action(actions.FEEDBACK_REASSIGN)(reassign_action)
    registry.action(actions.FEEDBACK_REASSIGN_SAVE)(reassign_save_action)
    registry.action(actions.FEEDBACK_THEME_ACK)(theme_ack_action)


async def theme_ack_action(ctx: BotContext, request: Request) -> Response:
    """'Acknowledge all' on a systemic-issue alert: the CX team, CS managers and admins may press it."""
    if request.actor.role not in (Role.CX, Role.CS_MANAGER, Role.ADMIN):
        raise NotAllowed("Only the CX team, CS managers and admins can acknowledge a recurring issue.")
    theme_id = payload_int(request, "theme_id")
    changed = await acknowledge_theme(
        ctx.db, theme_id=theme_id, actor_id=request.actor.person_id, now=ctx.now()
    )
    text = (
        f"✅ Acknowledged {plural(changed, 'feedback item')} of this recurring issue; "
        "whoever raised them hears back."
        if changed
        else "Nothing left to acknowledge: every item of this issue was already seen."
    )
    return Reply(summary=text, blocks=(Text(text),), replace=True)


# --------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class _Parsed:
    words: list[str]
    tags: list[str]
    urgent: bool


def _split_words(args: Sequence[str]) -> _Parsed:
    words: list[str] = []
    tags: list[str] = []
    urgent = False
    for word in args:
        if word.startswith("#") and len(word) > 1:
            tag = word[1:].lower()
            if tag == URGENT_TAG:
                urgent = True
            else:
                tags.append(tag)
        else:
            words.append(word)
    return _Parsed(words=words, tags=normalise_tags(tags), urgent=urgent)


def _is_named(ref: AccountRef, typed: str) -> bool:
    """A match by id, exact name or name prefix (not a fuzzy guess), safe to take from a sentence."""
    key = name_key(typed)
    return ref.external_id.casefold() == typed.strip().casefold() or (
        bool(key) and name_key(ref.name).startswith(key)
    )


async def feedback_command(ctx: BotContext, request: Request) -> Response:
    parsed = _split_words(request.args)
    words = parsed.words
    if not words or (len(words) == 1 and words[0].lower() in LIST_WORDS):
        mode = words[0].lower() if words else "open"
        return await list_feedback(ctx, request, mode=mode, tags=parsed.tags)
    whole = await ctx.accounts.find(" ".join(words))
    if whole.match is not None and _is_named(whole.match, " ".join(words)):
        return await list_feedback(ctx, request, mode="account", account=whole.match, tags=parsed.tags)
    if len(words) == 1:
        return choice_reply(whole)
    # Sending: the account is the shortest run of leading words that names exactly one account.
    ambiguous = None
    for n in range(1, min(MAX_ACCOUNT_WORDS, len(words) - 1) + 1):
        typed = " ".join(words[:n])
        found = await ctx.accounts.find(typed)
        if found.match is not None and _is_named(found.match, typed):
            return await _send(ctx, request, found.match.id, " ".join(words[n:]), parsed)
        if found.candidates and ambiguous is None and all(_is_named(c, typed) for c in found.candidates):
            ambiguous = found.candidates
    text = " ".join(words)
    if ambiguous is not None:
        buttons = tuple(
            Button(
                label=truncate(ref.name, 75),
                action=actions.FEEDBACK_OPEN_FORM,
                payload={
                    "account_id": ref.id,
                    "text": truncate(text, PAYLOAD_TEXT),
                    "tags": ", ".join(parsed.tags),
                    "urgent": parsed.urgent,
                },
            )
            for ref in ambiguous
        )
        message = "Several accounts match. Which one is this feedback about?"
        return Reply(summary=message, blocks=(Text(message), Actions(buttons)))
    return await _send(ctx, request, None, text, parsed)


async def _send(
    ctx: BotContext, request: Request, account_id: int | None, text: str, parsed: _Parsed
) -> Reply:
    if not text.strip():
        raise BadArguments("What is the feedback? Try `feedback acme the export times out #bug`.")
    return await submit(
        ctx, request, account_id=account_id, text=text, tags=parsed.tags, urgent=parsed.urgent, source="chat"
    )
