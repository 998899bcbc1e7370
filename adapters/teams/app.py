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
- An install (``conversationUpdate`` adding the bot) or any message stores the conversation reference,
  so :meth:`TeamsAdapter.send_to_conversation` and :meth:`TeamsAdapter.send_to_person` can post later
  (digests, reminders, routed feedback) with ``continue_conversation``. The first install welcomes
  the person or channel, once.
- Tenants not in ``TOUCHPOINT_TEAMS_TENANT_IDS`` (when set) get a refusal and no data; nothing of
  theirs is stored or looked up.
- With ``MicrosoftAppId`` set every request needs a valid Bot Framework token (401 otherwise). Without
  it (the Bot Framework Emulator's mode) requests are not authenticated, so they are only accepted
  when their service URL is on this machine: nobody can have answers sent elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from ipaddress import ip_address
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from sqlalchemy import select

from adapters.teams import limits
from adapters.teams.auth import TouchpointAuthentication
from adapters.teams.conversations import CHANNEL, GROUP_CHAT, KINDS, PERSONAL, ConversationStore
from adapters.teams.delivery import (
    Sender,
    TeamsDeliveryError,
    TeamsUnreachable,
    base_conversation_id,
)
from adapters.teams.identity import TeamsIdentity
from adapters.teams.render import (
    CARD_CONTENT_TYPE,
    Card,
    CardAction,
    notice_card,
    plain,
    read_action,
    render_form,
    render_reply,
)
from bot.core.dispatch import Bot, error_reply
from bot.core.grammar import parse
from bot.errors import crash_message, new_reference
from bot.format import truncate
from bot.log import get_logger
from bot.settings import Settings
from bot.types import (
    Actor,
    Address,
    Context,
    Form,
    Header,
    Platform,
    Reply,
    Request,
    RequestKind,
    Response,
    Text,
)
from storage.models import Person

log = get_logger("touchpoint.teams")

ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
MESSAGE_RESPONSE_TYPE = "application/vnd.microsoft.activity.message"
ERROR_RESPONSE_TYPE = "application/vnd.microsoft.error"
NOT_ALLOWED_TENANT = "Touchpoint is not enabled for your organisation."
PERSONAL_COMMANDS = frozenset({"home"})
SENT_PRIVATELY = "I sent the answer to you in our personal chat."
CANNOT_SEND_PRIVATELY = (
    "That answer is personal, and I could not open a personal chat with you. "
    "Open Touchpoint in Teams (Apps) and ask me there."
)
ANSWERED_BELOW = "Touchpoint answered in the conversation."
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


# ------------------------------------------------------------------------------------ activities


def tenant_of(activity: Activity) -> str | None:
    tenant = getattr(activity.conversation, "tenant_id", None)
    if not tenant and isinstance(activity.channel_data, dict):
        tenant = (activity.channel_data.get("tenant") or {}).get("id")
    return str(tenant).lower() if tenant else None


def kind_of(activity: Activity) -> str:
    kind = getattr(activity.conversation, "conversation_type", None)
    if kind in KINDS:
        return str(kind)
    return GROUP_CHAT if getattr(activity.conversation, "is_group", False) else PERSONAL


def thread_of(activity: Activity) -> str | None:
    """The root message of a channel thread (Teams puts it in the conversation id)."""
    conversation_id = str(activity.conversation.id)
    if ";messageid=" in conversation_id:
        return conversation_id.split(";messageid=", 1)[1] or None
    return None


def parse_activity(body: Any) -> Activity | None:
    """The activity in a request body, or None when it is not one Touchpoint can act on."""
    if not isinstance(body, dict):
        return None
    try:
        activity = Activity().deserialize(body)
    except Exception:  # msrest raises a handful of types for wrong shapes
        return None
    if not isinstance(activity.type, str) or not activity.type:
        return None
    if not isinstance(activity.service_url, str) or not activity.service_url.startswith(
        ("http://", "https://")
    ):
        return None
    if activity.conversation is None or not activity.conversation.id:
        return None
    if activity.recipient is None or not activity.recipient.id:
        return None
    if activity.type in (ActivityTypes.message, ActivityTypes.invoke) and (
        activity.from_property is None or not activity.from_property.id
    ):
        return None
    if activity.channel_data is not None and not isinstance(activity.channel_data, dict):
        return None
    return activity


def is_local(url: str) -> bool:
    """Whether ``url`` points at this machine (what the Bot Framework Emulator uses)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def command_text(activity: Activity) -> str:
    """The typed text without the mention of the bot (anywhere in it) or Teams' HTML remnants."""
    text = str(activity.text or "")
    for entity in activity.entities or []:
        if getattr(entity, "type", None) != "mention":
            continue
        extra = getattr(entity, "additional_properties", None) or {}
        mentioned = extra.get("mentioned") or {}
        if mentioned.get("id") == activity.recipient.id and extra.get("text"):
            text = text.replace(str(extra["text"]), " ")
    return text.replace("&nbsp;", " ").strip()


def message_activity(cards: list[Card], summary: str) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=truncate(summary, limits.SUMMARY_CHARS),
        attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=card) for card in cards],
        attachment_layout="list" if len(cards) > 1 else None,
    )


def card_response(card: Card) -> InvokeResponse:
    body = {"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card}
    return InvokeResponse(status=int(HTTPStatus.OK), body=body)


def text_response(text: str) -> InvokeResponse:
    body = {"statusCode": 200, "type": MESSAGE_RESPONSE_TYPE, "value": text}
    return InvokeResponse(status=int(HTTPStatus.OK), body=body)


def bad_invoke(message: str) -> InvokeResponse:
    body = {
        "statusCode": 400,
        "type": ERROR_RESPONSE_TYPE,
        "value": {"code": "BadRequest", "message": message},
    }
    return InvokeResponse(status=int(HTTPStatus.BAD_REQUEST), body=body)


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
        self.identity = TeamsIdentity(bot.context.db, self.sender)
        self.handler = _Handler(self)
        if not self.app_id:
            log.warning("teams_without_authentication", hint="set MicrosoftAppId outside local development")

    def tenant_allowed(self, tenant: str | None) -> bool:
        allowed = self.settings.teams_tenant_ids
        return not allowed or (tenant is not None and tenant in allowed)

    # ------------------------------------------------------------------------------------- HTTP

    async def handle(self, request: web.Request) -> web.Response:
        """One Bot Framework activity: 400 when it is not one, 401 when it is not authentic."""
        if request.content_type != "application/json":
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            log.warning("teams_malformed_request", reason="not json")
            return web.json_response({"error": "malformed request body"}, status=400)
        activity = parse_activity(body)
        if activity is None:
            log.warning("teams_malformed_request", reason="not an activity")
            return web.json_response({"error": "not a Bot Framework activity"}, status=400)
        auth_header = request.headers.get("Authorization", "")
        if not self.app_id and not is_local(activity.service_url):
            # Without authentication anyone could claim to be anyone; answers may then only go to
            # this machine (the Emulator), never to a service URL a stranger chose.
            log.warning("teams_request_refused", reason="unauthenticated mode, service URL not local")
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.app_id and not auth_header:
            log.warning("teams_request_refused", reason="no token")
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            authenticated = await self._authenticate(activity, auth_header)
        except Exception as error:  # PermissionError, jwt errors, malformed headers: all mean "no"
            log.warning("teams_request_refused", reason=type(error).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
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
            return await authentication.authenticate_request(activity, auth_header)
        # botbuilder checks tokens with blocking HTTP (Microsoft's signing keys, fetched once a day):
        # run it in a worker thread so the event loop keeps serving meanwhile.
        return await asyncio.to_thread(
            asyncio.run, authentication.authenticate_request(activity, auth_header)
        )

    # ------------------------------------------------------------------------------------- turns

    async def on_message(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        await self._remember(turn_context)
        actor = await self.identity.actor(turn_context)
        address = self._address(activity, actor)
        if isinstance(activity.value, dict) and activity.value:
            action = read_action(activity.value)
            request = self._card_request(action, actor, address)
            response = await self._ask(request, action)
            await self._answer_submit(turn_context, request, response)
            return
        parsed = parse(command_text(activity))
        personal = kind_of(activity) == PERSONAL
        request = Request(
            kind=RequestKind.COMMAND,
            actor=actor,
            address=address,
            command=parsed.command,
            args=parsed.args,
            text=parsed.text,
            # As for a Slack mention: an answer asked for in a shared place is shown there.
            share=parsed.share if personal else True,
        )
        response = await self.bot.handle(request)
        if not personal and request.command in PERSONAL_COMMANDS and actor.is_registered:
            delivered = await self._to_personal_chat(turn_context, response, actor)
            note = SENT_PRIVATELY if delivered else CANNOT_SEND_PRIVATELY
            await self._reply(turn_context, [notice_card(note)], summary=note)
            return
        await self._reply(turn_context, self._render(response, actor), summary=self._summary(response))

    async def on_card_action(self, turn_context: TurnContext) -> InvokeResponse:
        """An ``Action.Execute``: the answer card goes back in the HTTP response when it replaces the
        clicked card; a new message is posted beside it otherwise."""
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            return bad_invoke("Expected an Action.Execute.")
        await self._remember(turn_context)
        actor = await self.identity.actor(turn_context)
        card_action = read_action(action.get("data"), verb=action.get("verb"))
        request = self._card_request(card_action, actor, self._address(activity, actor))
        response = await self._ask(request, card_action)
        cards = self._render(response, actor)
        if self._in_place(request, response) and len(cards) == 1:
            return card_response(cards[0])
        if self._one_liner(response):
            return text_response(plain(response.summary))
        connector = self._connector(turn_context)
        conversation_id = str(activity.conversation.id)
        await self._post(
            connector, conversation_id, message_activity(cards, self._summary(response)), origin=activity
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
        await self._remember(turn_context)
        if not await self.conversations.claim_welcome(conversation_id):
            return
        welcome = WELCOME_PERSONAL if kind_of(activity) == PERSONAL else WELCOME_CHANNEL
        try:
            await self._post(
                self._connector(turn_context),
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
            await self._remember(turn_context)

    async def refuse(self, turn_context: TurnContext) -> None:
        """Another organisation's request: a refusal, nothing looked up, nothing stored."""
        activity = turn_context.activity
        log.warning("teams_tenant_refused", tenant=tenant_of(activity), type=activity.type)
        if activity.type == ActivityTypes.message:
            await self._reply(turn_context, [notice_card(NOT_ALLOWED_TENANT)], summary=NOT_ALLOWED_TENANT)
        elif activity.type == ActivityTypes.invoke:
            await turn_context.send_activity(
                Activity(
                    type=ActivityTypes.invoke_response, value=card_response(notice_card(NOT_ALLOWED_TENANT))
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
                    Activity(type=ActivityTypes.invoke_response, value=card_response(notice_card(message)))
                )
            elif activity.type == ActivityTypes.message:
                await self._reply(turn_context, [notice_card(message)], summary=message)
        except Exception:
            log.warning("teams_error_reply_failed", reference=reference)

    # ------------------------------------------------------------------------------- requests

    def _address(self, activity: Activity, actor: Actor) -> Address:
        kind = kind_of(activity)
        return Address(
            platform=Platform.TEAMS,
            target=base_conversation_id(str(activity.conversation.id)),
            thread=thread_of(activity) or (activity.id if kind == CHANNEL else None),
            user=actor.platform_user_id,
            private=kind == PERSONAL,
        )

    @staticmethod
    def _card_request(action: CardAction, actor: Actor, address: Address) -> Request:
        return Request(
            kind=RequestKind.SUBMIT if action.submit else RequestKind.ACTION,
            actor=actor,
            address=address,
            action=action.action,
            payload=action.payload,
            values=action.values,
        )

    async def _ask(self, request: Request, action: CardAction) -> Response:
        if action.problem is not None and request.actor.is_registered:
            return error_reply(action.problem)
        return await self.bot.handle(request)

    @staticmethod
    def _in_place(request: Request, response: Response) -> bool:
        """Answers that take the clicked card's place: a submitted form's outcome, or a Reply that asks
        for it (Done, Snooze, the next page). A form opened by a button comes as a new message."""
        if request.kind is RequestKind.SUBMIT:
            return True
        return isinstance(response, Reply) and response.replace

    @staticmethod
    def _one_liner(response: Response) -> TypeGuard[Reply]:
        """A reply of one short line (a refusal, "that button no longer works"): shown to the person
        who clicked, in the invoke answer, rather than posted for everyone."""
        return (
            isinstance(response, Reply)
            and len(response.blocks) == 1
            and isinstance(response.blocks[0], Text)
            and "\n" not in response.blocks[0].text
            and len(response.summary) <= 300
        )

    def _render(self, response: Response, actor: Actor | None) -> list[Card]:
        if isinstance(response, Form):
            return [render_form(response, today=self.bot.context.today(actor))]
        return render_reply(response)

    @staticmethod
    def _summary(response: Response) -> str:
        return response.title if isinstance(response, Form) else plain(response.summary) or response.summary

    async def _answer_submit(self, turn_context: TurnContext, request: Request, response: Response) -> None:
        """An ``Action.Submit``: update the card's message for in-place answers, else post beside it."""
        activity = turn_context.activity
        cards = self._render(response, request.actor)
        message = message_activity(cards, self._summary(response))
        if activity.reply_to_id and self._in_place(request, response) and len(cards) == 1:
            conversation_id = str(activity.conversation.id)
            message.id = activity.reply_to_id
            self._address_message(message, activity, conversation_id)
            connector = self._connector(turn_context)

            async def update() -> Any:
                return await connector.conversations.update_activity(
                    conversation_id, activity.reply_to_id, message
                )

            await self.sender.call("update", conversation_id, update)
            return
        await self._post(
            self._connector(turn_context), str(activity.conversation.id), message, origin=activity
        )

    # ------------------------------------------------------------------------------- delivery

    def _connector(self, turn_context: TurnContext) -> Any:
        return turn_context.turn_state[self.cloud.BOT_CONNECTOR_CLIENT_KEY]

    @staticmethod
    def _address_message(message: Activity, origin: Activity, conversation_id: str) -> None:
        message.channel_id = origin.channel_id
        message.service_url = origin.service_url
        message.from_property = origin.recipient
        message.recipient = origin.from_property
        message.conversation = ConversationAccount(id=conversation_id, tenant_id=tenant_of(origin))

    async def _post(
        self,
        connector: Any,
        conversation_id: str,
        message: Activity,
        *,
        origin: Activity,
        reply_to: str | None = None,
    ) -> str:
        """Send ``message`` (retried, rate-limited): as a reply to ``reply_to`` or into the conversation."""
        self._address_message(message, origin, conversation_id)
        message.reply_to_id = reply_to
        operation: Callable[[], Awaitable[Any]]
        if reply_to:

            async def operation() -> Any:
                return await connector.conversations.reply_to_activity(conversation_id, reply_to, message)

        else:

            async def operation() -> Any:
                return await connector.conversations.send_to_conversation(conversation_id, message)

        result = await self.sender.call("reply" if reply_to else "send", conversation_id, operation)
        return str(getattr(result, "id", "") or "")

    async def _reply(self, turn_context: TurnContext, cards: list[Card], *, summary: str) -> str:
        """Answer a message where it was asked: in the thread for a channel, else in the conversation."""
        activity = turn_context.activity
        reply_to = (
            activity.id if kind_of(activity) == CHANNEL and activity.type == ActivityTypes.message else None
        )
        return await self._post(
            self._connector(turn_context),
            str(activity.conversation.id),
            message_activity(cards, summary),
            origin=activity,
            reply_to=reply_to,
        )

    async def _remember(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        kind = kind_of(activity)
        tenant = tenant_of(activity)
        conversation_id = base_conversation_id(str(activity.conversation.id))
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        reference.conversation = ConversationAccount(
            id=conversation_id,
            conversation_type=kind,
            tenant_id=tenant,
            is_group=kind != PERSONAL,
            name=getattr(activity.conversation, "name", None),
        )
        user = activity.from_property
        await self.conversations.remember(
            conversation_id=conversation_id,
            kind=kind,
            tenant_id=tenant,
            service_url=str(activity.service_url),
            bot_id=str(activity.recipient.id),
            user_aad_id=getattr(user, "aad_object_id", None) if kind == PERSONAL else None,
            reference=reference.serialize(),
        )

    async def _to_personal_chat(self, turn_context: TurnContext, response: Response, actor: Actor) -> bool:
        """Deliver ``response`` to the asker's personal chat, opening one when there is none yet."""
        activity = turn_context.activity
        user = activity.from_property
        aad = getattr(user, "aad_object_id", None)
        try:
            stored = await self.conversations.personal_for(aad) if aad else None
            if stored is not None:
                await self.send_to_conversation(stored.conversation_id, response)
                return True
            conversation_id = await self._open_personal_chat(turn_context)
            cards = self._render(response, actor)
            message = message_activity(cards, self._summary(response))
            await self._post(self._connector(turn_context), conversation_id, message, origin=activity)
            return True
        except TeamsDeliveryError as error:
            log.warning("teams_personal_chat_failed", status=error.status)
            return False

    async def _open_personal_chat(self, turn_context: TurnContext) -> str:
        activity = turn_context.activity
        tenant = tenant_of(activity)
        user = activity.from_property
        parameters = ConversationParameters(
            is_group=False,
            bot=activity.recipient,
            members=[ChannelAccount(id=user.id, aad_object_id=getattr(user, "aad_object_id", None))],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )
        connector = self._connector(turn_context)

        async def create() -> Any:
            return await connector.conversations.create_conversation(parameters)

        created = await self.sender.call(
            "create conversation", str(activity.conversation.id), create, limited=False
        )
        conversation_id = str(created.id)
        reference = ConversationReference(
            channel_id=activity.channel_id,
            service_url=activity.service_url,
            bot=activity.recipient,
            user=user,
            conversation=ConversationAccount(
                id=conversation_id, conversation_type=PERSONAL, tenant_id=tenant
            ),
        )
        await self.conversations.remember(
            conversation_id=conversation_id,
            kind=PERSONAL,
            tenant_id=tenant,
            service_url=str(activity.service_url),
            bot_id=str(activity.recipient.id),
            user_aad_id=getattr(user, "aad_object_id", None),
            reference=reference.serialize(),
        )
        return conversation_id

    # ----------------------------------------------------------------------------- proactive API

    async def send_to_conversation(self, conversation_id: str, response: Response) -> str:
        """Post ``response`` to a stored conversation (a channel gets a new thread); returns the new
        activity id. Raises :class:`TeamsUnreachable` when Touchpoint was never installed or spoken to
        there, :class:`TeamsDeliveryError` when Teams refuses or keeps failing after retries."""
        stored = await self.conversations.get(base_conversation_id(conversation_id))
        if stored is None:
            raise TeamsUnreachable(f"no stored Teams conversation {conversation_id!r}")
        reference = ConversationReference().deserialize(stored.reference)
        cards = self._render(response, None)
        message = message_activity(cards, self._summary(response))
        sent: list[str] = []
        failed: list[Exception] = []

        async def callback(turn_context: TurnContext) -> None:
            try:
                sent.append(
                    await self._post(
                        self._connector(turn_context),
                        stored.conversation_id,
                        message,
                        origin=turn_context.activity,
                    )
                )
            except Exception as error:  # raised below, outside botbuilder's turn error handling
                failed.append(error)

        await self.cloud.continue_conversation(reference, callback, self.app_id)
        if failed:
            raise failed[0]
        return sent[0]

    async def send_to_person(self, person_id: int, response: Response) -> str:
        """Post ``response`` to the person's personal chat with Touchpoint; returns the activity id.

        The chat is known once the person installed the app for themselves, wrote to it, or asked for
        something personal in a channel. Raises :class:`TeamsUnreachable` before that.
        """
        async with self.bot.context.db.sessions() as session:
            aad = (
                await session.execute(select(Person.teams_user_id).where(Person.id == person_id))
            ).scalar_one_or_none()
        if not aad:
            raise TeamsUnreachable(f"person {person_id} has no Teams identity yet")
        stored = await self.conversations.personal_for(aad)
        if stored is None:
            raise TeamsUnreachable(f"no personal Teams chat with person {person_id} yet")
        return await self.send_to_conversation(stored.conversation_id, response)


__all__ = ["TeamsAdapter", "TeamsDeliveryError", "TeamsUnreachable"]
