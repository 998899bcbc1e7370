"""The Teams app: Bot Framework activities in, Requests to the core, Adaptive Cards out.

botbuilder's ``CloudAdapter`` authenticates each activity and runs a ``TeamsActivityHandler``; this
module decides what the activity means and where the answer goes:

- A personal-chat message (``account acme``) is answered in the personal chat. A channel or group chat
  message mentioning the bot (``@Touchpoint account acme``) is answered where it was asked, in the
  thread for a channel, and - as a Slack mention is - visible to everyone there. Answers that are one
  person's own data (``home``) go to that person's personal chat instead, with a note in the thread.
- Buttons are ``Action.Execute``: the ``adaptiveCard/action`` invoke is answered in its HTTP response
  with the card that replaces the clicked one (a form with its errors, Done, the next page); with a
  short text for the clicker alone when the answer is one line (a refusal, an outdated button); or,
  when the answer is a new message (a form to fill in, another list), with a short text while the
  message is posted beside the card. ``Action.Submit`` (a message whose ``value`` carries the data) is
  understood too; its in-place answers update the card's message.
- The messaging extension's invokes (Log to account on a message, account search, link unfurling) are
  answered by :mod:`adapters.teams.extension`.
- An install (``conversationUpdate`` adding the bot) or any message stores the conversation reference,
  so :meth:`TeamsAdapter.send_to_conversation` and :meth:`TeamsAdapter.send_to_person` can post later
  (digests, reminders, routed feedback) with ``continue_conversation``. The first install welcomes
  the person or channel, once.
- Tenants not in ``TOUCHPOINT_TEAMS_TENANT_IDS`` (when set) get a refusal and no data; nothing of
  theirs is stored or looked up.
- With ``MicrosoftAppId`` set every request needs a valid Bot Framework token (401 otherwise; 503 when
  it cannot be checked now). Without it (the Bot Framework Emulator's mode) requests are not
  authenticated, so they are only accepted when their service URL is on this machine: nobody can have
  answers sent elsewhere (:mod:`adapters.teams.service_url`).
- A body is refused (400) before it is read when it nests too deeply or holds text no database can
  store; names and text lose their control characters (:mod:`adapters.teams.inbound`).

This module is the thin part: the HTTP entry point, botbuilder's handler and the turn logic. What an
activity says, and the shapes of the answers, are pure functions in :mod:`adapters.teams.activities`;
posting, and remembering the conversations Touchpoint can post to, is :mod:`adapters.teams.proactive`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes

from adapters.teams.activities import (
    ADAPTIVE_CARD_ACTION,
    address_message,
    address_of,
    bad_invoke,
    card_request,
    card_response,
    command_request,
    in_place,
    kind_of,
    message_activity,
    one_liner,
    parse_activity,
    summary_of,
    tenant_of,
    text_response,
)
from adapters.teams.auth import TokenUncheckable, TokenVerifier, TouchpointAuthentication, token_problem
from adapters.teams.card_actions import CardAction, read_action
from adapters.teams.cards import Card, plain
from adapters.teams.conversations import CHANNEL, PERSONAL, ConversationStore
from adapters.teams.delivery import Sender, TeamsDeliveryError, TeamsUnreachable, base_conversation_id
from adapters.teams.extension import INVOKES as EXTENSION_INVOKES
from adapters.teams.extension import MessagingExtension, invoke_notice
from adapters.teams.forms import render_form
from adapters.teams.identity import TeamsIdentity
from adapters.teams.inbound import BodyProblem, clean_activity, read_body
from adapters.teams.proactive import Poster
from adapters.teams.render import notice_card, render_reply
from adapters.teams.service_url import service_url_problem
from adapters.teams.sharing import TeamsSharing
from adapters.teams.threads import channel_discussion
from bot.core.dispatch import Bot, error_reply
from bot.errors import crash_message, new_reference
from bot.log import get_logger
from bot.settings import Settings
from bot.types import Actor, Context, Form, Header, Platform, Reply, Request, Response, Text

log = get_logger("touchpoint.teams")

NOT_ALLOWED_TENANT = "Touchpoint is not enabled for your organisation."
PERSONAL_COMMANDS = frozenset({"home"})
SENT_PRIVATELY = "I sent the answer to you in our personal chat."
CANNOT_SEND_PRIVATELY = (
    "That answer is personal, and I could not open a personal chat with you. "
    "Open Touchpoint in Teams (Apps) and ask me there."
)
ANSWERED_BELOW = "Touchpoint answered in the conversation."
RETRY_AFTER_SECONDS = 30  # when a token cannot be checked now
GATED_TYPES = frozenset(
    {
        ActivityTypes.message,
        ActivityTypes.invoke,
        ActivityTypes.conversation_update,
        ActivityTypes.installation_update,
    }
)

WELCOME_PERSONAL = Reply(
    summary="Hi, I'm Touchpoint.",
    blocks=(
        Header("Hi, I'm Touchpoint 👋"),
        Text("I answer questions about your customers: health, renewals, follow-ups and milestones."),
        Text("Try `account acme`, `my`, `followups` or `renewals`. Type `help` for everything I can do."),
    ),
)
WELCOME_CHANNEL = Reply(
    summary="Hi, I'm Touchpoint.",
    blocks=(
        Header("Hi, I'm Touchpoint 👋"),
        Text("Mention me to ask about a customer: `@Touchpoint account acme`. I answer in the thread."),
        Context(
            ("Personal overviews (`home`) go to each person's chat with me. `@Touchpoint help` lists all.",)
        ),
    ),
)


# --------------------------------------------------------------------------------------- handler


class _Handler(TeamsActivityHandler):  # type: ignore[misc]
    """botbuilder's dispatch by activity type, handing each kind to the adapter."""

    def __init__(self, adapter: TeamsAdapter) -> None:
        super().__init__()
        self._adapter = adapter

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.type in GATED_TYPES and not self._adapter.tenant_allowed(tenant_of(activity)):
            await self._adapter.refuse(turn_context)
            return
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await self._adapter.on_message(turn_context)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name == ADAPTIVE_CARD_ACTION:
            return await self._adapter.on_card_action(turn_context)
        if turn_context.activity.name in EXTENSION_INVOKES:
            return await self._adapter.extension.answer(turn_context)
        return await super().on_invoke_activity(turn_context)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        await self._adapter.on_conversation_update(turn_context)

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        await self._adapter.on_installation_update(turn_context)


# --------------------------------------------------------------------------------------- adapter


class TeamsAdapter:
    """Serve :meth:`handle` at ``/api/messages``; post proactively with :meth:`send_to_person` and
    :meth:`send_to_conversation`."""

    def __init__(self, bot: Bot, settings: Settings, *, sender: Sender | None = None) -> None:
        self.bot = bot
        self.settings = settings
        self.app_id = settings.microsoft_app_id or ""
        self.cloud = CloudAdapter(TouchpointAuthentication(settings))
        self.cloud.on_turn_error = self._on_turn_error
        self.sender = sender or Sender()
        self.conversations = ConversationStore(bot.context.db)
        bot.context.sharing_checks[Platform.TEAMS] = TeamsSharing(self.conversations).check
        self.identity = TeamsIdentity(bot.context.db, self.sender)
        self.poster = Poster(
            self.cloud,
            self.sender,
            self.conversations,
            bot.context.db,
            app_id=self.app_id,
            message_of=self._message,
        )
        self.extension = MessagingExtension(bot, self.identity)
        self.handler = _Handler(self)
        self.verifier = TokenVerifier()
        if not self.app_id:
            log.warning("teams_without_authentication", hint="set MicrosoftAppId outside local development")

    def tenant_allowed(self, tenant: str | None) -> bool:
        allowed = self.settings.teams_tenant_ids
        return not allowed or (tenant is not None and tenant in allowed)

    # ------------------------------------------------------------------------------------- HTTP

    async def handle(self, request: web.Request) -> web.Response:
        """One Bot Framework activity: 400 when it is not one, 401 when it is not authentic, 503 when
        its token cannot be checked now."""
        if request.content_type != "application/json":
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = read_body(await request.read())
        except BodyProblem as problem:
            log.warning("teams_malformed_request", reason=str(problem))
            return web.json_response({"error": "malformed request body"}, status=400)
        activity = parse_activity(body)
        if activity is None:
            log.warning("teams_malformed_request", reason="not an activity")
            return web.json_response({"error": "not a Bot Framework activity"}, status=400)
        url_problem = service_url_problem(activity.service_url, local_only=not self.app_id)
        if url_problem is not None:
            # Without authentication anyone could claim to be anyone; answers may then only go to
            # this machine (the Emulator), never to a service URL a stranger chose. With it, the URL
            # must still read the same to every parser (the token vouches for the string).
            log.warning("teams_request_refused", reason=url_problem)
            return web.json_response({"error": "unauthorized"}, status=401)
        auth_header = request.headers.get("Authorization", "")
        if self.app_id:
            token_refusal = token_problem(auth_header) if auth_header else "no token"
            if token_refusal is not None:
                log.warning("teams_request_refused", reason=token_refusal)
                return web.json_response({"error": "unauthorized"}, status=401)
        try:
            authenticated = await self._authenticate(activity, auth_header)
        except TokenUncheckable as error:
            log.warning("teams_token_unchecked", reason=str(error))
            return web.json_response(
                {"error": "cannot check the token now"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        except Exception as error:  # PermissionError, jwt errors, malformed headers: all mean "no"
            log.warning("teams_request_refused", reason=type(error).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        clean_activity(activity)
        try:
            invoke = await self.cloud.process_activity(authenticated, activity, self.handler.on_turn)
        except Exception:
            reference = new_reference()
            log.exception("teams_activity_failed", reference=reference, type=activity.type)
            return web.json_response({"error": f"internal error {reference}"}, status=500)
        if invoke is not None:
            return web.json_response(invoke.body, status=int(invoke.status))
        return web.Response(status=201)

    async def _authenticate(self, activity: Activity, auth_header: str) -> Any:
        authentication = self.cloud.bot_framework_authentication
        if not self.app_id:
            # The Emulator's mode checks no token, whatever the request carries: checking one would
            # fetch Microsoft's signing keys with blocking HTTP on the event loop.
            return await authentication.authenticate_request(activity, "")
        # botbuilder checks tokens with blocking HTTP (Microsoft's signing keys, fetched once a day):
        # on the verifier's own threads, bounded in time, so a flood of forged tokens holds up
        # nothing else.
        return await self.verifier.authenticate(authentication, activity, auth_header)

    def close(self) -> None:
        """Stop the token verifier's threads (the web server's shutdown)."""
        self.verifier.close()

    # ------------------------------------------------------------------------------------- turns

    async def on_message(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if await channel_discussion(turn_context, self.bot, self.identity):
            return  # not a question for Touchpoint (kept when it discusses a feedback item or an alert)
        await self.poster.remember(turn_context)
        actor = await self.identity.actor(turn_context)
        address = address_of(activity, actor)
        if isinstance(activity.value, dict) and activity.value:
            action = read_action(activity.value)
            request = card_request(action, actor, address)
            response = await self._ask(request, action)
            await self._answer_submit(turn_context, request, response)
            return
        request = command_request(activity, actor, address)
        personal = kind_of(activity) == PERSONAL
        response = await self.bot.handle(request)
        if not personal and request.command in PERSONAL_COMMANDS and actor.is_registered:
            delivered = await self.poster.to_personal_chat(turn_context, response, actor)
            note = SENT_PRIVATELY if delivered else CANNOT_SEND_PRIVATELY
            await self._reply(turn_context, [notice_card(note)], summary=note)
            return
        await self._reply(turn_context, self._render(response, actor), summary=summary_of(response))

    async def on_card_action(self, turn_context: TurnContext) -> InvokeResponse:
        """An ``Action.Execute``: the answer card goes back in the HTTP response when it replaces the
        clicked card; a new message is posted beside it otherwise."""
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            return bad_invoke("Expected an Action.Execute.")
        await self.poster.remember(turn_context)
        actor = await self.identity.actor(turn_context)
        card_action = read_action(action.get("data"), verb=action.get("verb"))
        request = card_request(card_action, actor, address_of(activity, actor))
        response = await self._ask(request, card_action)
        cards = self._render(response, actor)
        if in_place(request, response) and len(cards) == 1:
            return card_response(cards[0])
        if one_liner(response):
            return text_response(plain(response.summary))
        connector = self.poster.connector(turn_context)
        conversation_id = str(activity.conversation.id)
        await self.poster.post(
            connector, conversation_id, message_activity(cards, summary_of(response)), origin=activity
        )
        return text_response(ANSWERED_BELOW)

    async def on_conversation_update(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id
        conversation_id = base_conversation_id(str(activity.conversation.id))
        if any(m.id == bot_id for m in activity.members_removed or []):
            await self.conversations.forget(conversation_id)
            log.info("teams_removed", conversation=conversation_id)
            return
        if not any(m.id == bot_id for m in activity.members_added or []):
            return
        await self.poster.remember(turn_context)
        if not await self.conversations.claim_welcome(conversation_id):
            return
        welcome = WELCOME_PERSONAL if kind_of(activity) == PERSONAL else WELCOME_CHANNEL
        try:
            await self.poster.post(
                self.poster.connector(turn_context),
                conversation_id,
                message_activity(render_reply(welcome), welcome.summary),
                origin=activity,
            )
        except TeamsDeliveryError:
            await self.conversations.release_welcome(conversation_id)
            raise
        log.info("teams_installed", conversation=conversation_id, kind=kind_of(activity))

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        action = str(activity.action or "")
        if action.startswith("remove"):
            await self.conversations.forget(base_conversation_id(str(activity.conversation.id)))
        elif action.startswith("add"):
            await self.poster.remember(turn_context)

    async def refuse(self, turn_context: TurnContext) -> None:
        """Another organisation's request: a refusal, nothing looked up, nothing stored."""
        activity = turn_context.activity
        log.warning("teams_tenant_refused", tenant=tenant_of(activity), type=activity.type)
        if activity.type == ActivityTypes.message:
            await self._reply(turn_context, [notice_card(NOT_ALLOWED_TENANT)], summary=NOT_ALLOWED_TENANT)
        elif activity.type == ActivityTypes.invoke:
            await turn_context.send_activity(
                Activity(
                    type=ActivityTypes.invoke_response, value=invoke_notice(activity.name, NOT_ALLOWED_TENANT)
                )
            )

    async def _on_turn_error(self, turn_context: TurnContext, error: Exception) -> None:
        reference = new_reference()
        activity = turn_context.activity
        log.error(
            "teams_turn_failed", reference=reference, exc_info=error, type=getattr(activity, "type", None)
        )
        message = crash_message(reference)
        try:
            if activity.type == ActivityTypes.invoke:
                await turn_context.send_activity(
                    Activity(type=ActivityTypes.invoke_response, value=invoke_notice(activity.name, message))
                )
            elif activity.type == ActivityTypes.message:
                await self._reply(turn_context, [notice_card(message)], summary=message)
        except Exception:
            log.warning("teams_error_reply_failed", reference=reference)

    # -------------------------------------------------------------------------------- answers

    async def _ask(self, request: Request, action: CardAction) -> Response:
        if action.problem is not None and request.actor.is_registered:
            return error_reply(action.problem)
        return await self.bot.handle(request)

    def _render(self, response: Response, actor: Actor | None) -> list[Card]:
        if isinstance(response, Form):
            return [render_form(response, today=self.bot.context.today(actor))]
        return render_reply(response)

    def _message(self, response: Response, actor: Actor | None) -> Activity:
        return message_activity(self._render(response, actor), summary_of(response))

    async def _answer_submit(self, turn_context: TurnContext, request: Request, response: Response) -> None:
        """An ``Action.Submit``: update the card's message for in-place answers, else post beside it."""
        activity = turn_context.activity
        cards = self._render(response, request.actor)
        message = message_activity(cards, summary_of(response))
        if activity.reply_to_id and in_place(request, response) and len(cards) == 1:
            conversation_id = str(activity.conversation.id)
            message.id = activity.reply_to_id
            address_message(message, activity, conversation_id)
            connector = self.poster.connector(turn_context)

            async def update() -> Any:
                return await connector.conversations.update_activity(
                    conversation_id, activity.reply_to_id, message
                )

            await self.sender.call("update", conversation_id, update)
            return
        await self.poster.post(
            self.poster.connector(turn_context), str(activity.conversation.id), message, origin=activity
        )

    async def _reply(self, turn_context: TurnContext, cards: list[Card], *, summary: str) -> str:
        """Answer a message where it was asked: in the thread for a channel, else in the conversation."""
        activity = turn_context.activity
        reply_to = (
            activity.id if kind_of(activity) == CHANNEL and activity.type == ActivityTypes.message else None
        )
        return await self.poster.post(
            self.poster.connector(turn_context),
            str(activity.conversation.id),
            message_activity(cards, summary),
            origin=activity,
            reply_to=reply_to,
        )

    # ----------------------------------------------------------------------------- proactive API

    async def send_to_conversation(self, conversation_id: str, response: Response) -> str:
        """See :meth:`Poster.send_to_conversation`."""
        return await self.poster.send_to_conversation(conversation_id, response)

    async def send_to_person(self, person_id: int, response: Response) -> str:
        """See :meth:`Poster.send_to_person`."""
        return await self.poster.send_to_person(person_id, response)

    async def update_in_conversation(
        self, conversation_id: str, activity_id: str, response: Response
    ) -> None:
        await self.poster.update_in_conversation(conversation_id, activity_id, response)

    async def update_for_person(self, person_id: int, activity_id: str, response: Response) -> None:
        await self.poster.update_for_person(person_id, activity_id, response)


__all__ = ["TeamsAdapter", "TeamsDeliveryError", "TeamsUnreachable"]
