"""Bot Framework activities read and written: pure conversions at the edge of the Teams adapter.

Nothing here does I/O or keeps state, so every rule about what an activity says can be read (and
tested) apart from botbuilder's turn machinery in :mod:`adapters.teams.app`:

- Reading: which tenant, kind of conversation and thread an activity comes from; whether a request
  body is an activity Touchpoint can act on; the typed command without the bot's mention; the
  :class:`bot.types.Address` and :class:`bot.types.Request` it makes.
- Answering: a message activity carrying cards, the invoke responses of ``adaptiveCard/action`` (a
  card, a short text, a 400), and the rules for which answers replace the clicked card.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, TypeGuard

from botbuilder.core import InvokeResponse
from botbuilder.schema import Activity, ActivityTypes, Attachment, ConversationAccount

from adapters.teams import limits
from adapters.teams.card_actions import CardAction
from adapters.teams.cards import CARD_CONTENT_TYPE, Card, plain
from adapters.teams.conversations import CHANNEL, GROUP_CHAT, KINDS, PERSONAL
from adapters.teams.delivery import base_conversation_id
from bot.core.grammar import parse
from bot.format import truncate
from bot.types import Actor, Address, Form, Platform, Reply, Request, RequestKind, Response, Text

ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
MESSAGE_RESPONSE_TYPE = "application/vnd.microsoft.activity.message"
ERROR_RESPONSE_TYPE = "application/vnd.microsoft.error"


# --------------------------------------------------------------------------------------- reading


def tenant_of(activity: Activity) -> str | None:
    tenant = getattr(activity.conversation, "tenant_id", None)
    if not tenant and isinstance(activity.channel_data, dict):
        data = activity.channel_data.get("tenant")
        tenant = data.get("id") if isinstance(data, dict) else None
    return tenant.lower() if isinstance(tenant, str) and tenant else None


def kind_of(activity: Activity) -> str:
    kind = getattr(activity.conversation, "conversation_type", None)
    if kind in KINDS:
        return str(kind)
    return GROUP_CHAT if getattr(activity.conversation, "is_group", False) else PERSONAL


def membership_of(activity: Activity) -> str | None:
    """A channel's type as Teams describes it in ``channelData.channel.type`` ("standard", "private",
    "shared"); a channel listed as shared with other teams (``sharedWithTeams``) is "shared" too.
    None when the activity does not say (a personal chat, most invokes)."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = data.get("channel")
    kind = channel.get("type") if isinstance(channel, dict) else None
    if data.get("sharedWithTeams"):
        return "shared"
    kind = kind.lower() if isinstance(kind, str) else None
    return kind if kind in ("standard", "private", "shared") else None


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
    sender = activity.from_property
    ids: tuple[object, ...] = (activity.id, activity.reply_to_id, activity.conversation.id)
    ids += (activity.recipient.id, getattr(sender, "id", None), getattr(sender, "aad_object_id", None))
    if any(isinstance(value, str) and len(value) > limits.ID_CHARS for value in ids):
        return None
    if isinstance(activity.text, str) and len(activity.text) > limits.INBOUND_TEXT_CHARS:
        return None
    return activity


def command_text(activity: Activity) -> str:
    """The typed text without the mention of the bot (anywhere in it) or Teams' HTML remnants."""
    text = str(activity.text or "")
    for entity in activity.entities or []:
        if getattr(entity, "type", None) != "mention":
            continue
        extra = getattr(entity, "additional_properties", None) or {}
        mentioned, mention = extra.get("mentioned"), extra.get("text")
        ours = isinstance(mentioned, dict) and mentioned.get("id") == activity.recipient.id
        if ours and isinstance(mention, str) and mention:
            text = text.replace(mention, " ")
    return text.replace("&nbsp;", " ").strip()


# -------------------------------------------------------------------------------------- requests


def address_of(activity: Activity, actor: Actor) -> Address:
    """Where the activity was asked: its conversation, and the thread for a channel."""
    kind = kind_of(activity)
    return Address(
        platform=Platform.TEAMS,
        target=base_conversation_id(str(activity.conversation.id)),
        thread=thread_of(activity) or (activity.id if kind == CHANNEL else None),
        user=actor.platform_user_id,
        private=kind == PERSONAL,
    )


def command_request(activity: Activity, actor: Actor, address: Address) -> Request:
    """A typed message as a command."""
    parsed = parse(command_text(activity))
    personal = kind_of(activity) == PERSONAL
    return Request(
        kind=RequestKind.COMMAND,
        actor=actor,
        address=address,
        command=parsed.command,
        args=parsed.args,
        text=parsed.text,
        # As for a Slack mention: an answer asked for in a shared place is shown there.
        share=parsed.share if personal else True,
        conversational=personal,
    )


def card_request(action: CardAction, actor: Actor, address: Address) -> Request:
    """A clicked button (an action) or a submitted form (a submit)."""
    return Request(
        kind=RequestKind.SUBMIT if action.submit else RequestKind.ACTION,
        actor=actor,
        address=address,
        action=action.action,
        payload=action.payload,
        values=action.values,
    )


# ------------------------------------------------------------------------------------- answering


def in_place(request: Request, response: Response) -> bool:
    """Answers that take the clicked card's place: a submitted form's outcome, or a Reply that asks
    for it (Done, Snooze, the next page). A form opened by a button comes as a new message."""
    if request.kind is RequestKind.SUBMIT:
        return True
    return isinstance(response, Reply) and response.replace


def one_liner(response: Response) -> TypeGuard[Reply]:
    """A reply of one short line (a refusal, "that button no longer works"): shown to the person
    who clicked, in the invoke answer, rather than posted for everyone."""
    return (
        isinstance(response, Reply)
        and len(response.blocks) == 1
        and isinstance(response.blocks[0], Text)
        and "\n" not in response.blocks[0].text
        and len(response.summary) <= 300
    )


def summary_of(response: Response) -> str:
    """The summary of the message showing ``response``: a form's title, else the reply's, plain."""
    return response.title if isinstance(response, Form) else plain(response.summary) or response.summary


def message_activity(cards: list[Card], summary: str) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=truncate(summary, limits.SUMMARY_CHARS),
        attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=card) for card in cards],
        attachment_layout="list" if len(cards) > 1 else None,
    )


def address_message(message: Activity, origin: Activity, conversation_id: str) -> None:
    """Address ``message`` as an answer to ``origin`` (from the bot, to its sender) in the conversation."""
    message.channel_id = origin.channel_id
    message.service_url = origin.service_url
    message.from_property = origin.recipient
    message.recipient = origin.from_property
    message.conversation = ConversationAccount(id=conversation_id, tenant_id=tenant_of(origin))


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
