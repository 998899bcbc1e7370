"""Posting into Teams conversations, during a turn and later, and remembering where Touchpoint can post.

Every message Touchpoint sends goes through :meth:`Poster.post` (rate-limited by the
:class:`adapters.teams.delivery.Sender`, and retried there during a turn). Each install or message
stores its conversation reference, so that digests, reminders and routed feedback can be posted later
with ``continue_conversation`` (:meth:`Poster.send_to_conversation`, :meth:`Poster.send_to_person`); a
personal chat is opened when a person asks for something personal in a channel and none is known yet.

A living message (a feedback item's or a health alert's post) is rewritten in place with
``updateActivity`` (:meth:`Poster.update_in_conversation`, :meth:`Poster.update_for_person`).

The proactive methods serve the outbox, which does the retrying: they try once and never wait,
so a throttled conversation goes back to the outbox (with its Retry-After) instead of holding up the
worker's batch, and retries happen in one place only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from sqlalchemy import select

from adapters.teams.activities import address_message, kind_of, membership_of, tenant_of
from adapters.teams.conversations import PERSONAL, ConversationStore
from adapters.teams.delivery import Sender, TeamsDeliveryError, TeamsUnreachable, base_conversation_id
from adapters.teams.service_url import service_url_problem
from bot.log import get_logger
from bot.types import Actor, Response
from storage.db import Database
from storage.models import Person

log = get_logger("touchpoint.teams")

MessageOf = Callable[[Response, Actor | None], Activity]
"""The message activity showing a response to an actor (None: nobody in particular)."""


class Poster:
    """Sends messages to Teams conversations and keeps the references that allow it later."""

    def __init__(
        self,
        cloud: CloudAdapter,
        sender: Sender,
        conversations: ConversationStore,
        db: Database,
        *,
        app_id: str,
        message_of: MessageOf,
    ) -> None:
        self.cloud = cloud
        self.sender = sender
        self.conversations = conversations
        self.db = db
        self.app_id = app_id
        self.message_of = message_of

    def connector(self, turn_context: TurnContext) -> Any:
        return turn_context.turn_state[self.cloud.BOT_CONNECTOR_CLIENT_KEY]

    async def post(
        self,
        connector: Any,
        conversation_id: str,
        message: Activity,
        *,
        origin: Activity,
        reply_to: str | None = None,
        once: bool = False,
    ) -> str:
        """Send ``message`` (rate-limited; retried unless ``once``): as a reply to ``reply_to`` or into
        the conversation."""
        address_message(message, origin, conversation_id)
        message.reply_to_id = reply_to
        operation: Callable[[], Awaitable[Any]]
        if reply_to:

            async def operation() -> Any:
                return await connector.conversations.reply_to_activity(conversation_id, reply_to, message)

        else:

            async def operation() -> Any:
                return await connector.conversations.send_to_conversation(conversation_id, message)

        result = await self.sender.call(
            "reply" if reply_to else "send", conversation_id, operation, once=once
        )
        return str(getattr(result, "id", "") or "")

    # ------------------------------------------------------------------------------ references

    async def remember(self, turn_context: TurnContext) -> None:
        """Store the reference of the activity's conversation, for posting there later."""
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
            membership=membership_of(activity),
        )

    # --------------------------------------------------------------------------- personal chats

    async def to_personal_chat(self, turn_context: TurnContext, response: Response, actor: Actor) -> bool:
        """Deliver ``response`` to the asker's personal chat, opening one when there is none yet."""
        activity = turn_context.activity
        user = activity.from_property
        aad = getattr(user, "aad_object_id", None)
        try:
            stored = await self.conversations.personal_for(aad) if aad else None
            if stored is not None:
                await self._continue(stored.conversation_id, response, once=False)
                return True
            conversation_id = await self.open_personal_chat(turn_context)
            message = self.message_of(response, actor)
            await self.post(self.connector(turn_context), conversation_id, message, origin=activity)
            return True
        except TeamsDeliveryError as error:
            log.warning("teams_personal_chat_failed", status=error.status)
            return False

    async def open_personal_chat(self, turn_context: TurnContext) -> str:
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
        connector = self.connector(turn_context)

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
            membership=membership_of(activity),
        )
        return conversation_id

    # ------------------------------------------------------------------------------- proactive

    async def send_to_conversation(self, conversation_id: str, response: Response) -> str:
        """Post ``response`` to a stored conversation (a channel gets a new thread), trying once;
        returns the new activity id. Raises :class:`TeamsUnreachable` when Touchpoint was never
        installed or spoken to there, :class:`TeamsDeliveryError` when Teams refuses, throttles
        (with its Retry-After) or fails."""
        return await self._continue(conversation_id, response, once=True)

    async def update_in_conversation(
        self, conversation_id: str, activity_id: str, response: Response
    ) -> None:
        """Show ``response`` in place of the activity ``activity_id`` Touchpoint posted to a stored
        conversation (``updateActivity``), trying once; raises like :meth:`send_to_conversation`."""
        await self._continue(conversation_id, response, once=True, update=activity_id)

    async def update_for_person(self, person_id: int, activity_id: str, response: Response) -> None:
        """:meth:`update_in_conversation` in the person's personal chat with Touchpoint."""
        stored = await self._personal_chat(person_id)
        await self.update_in_conversation(stored, activity_id, response)

    async def _continue(
        self, conversation_id: str, response: Response, *, once: bool, update: str | None = None
    ) -> str:
        stored = await self.conversations.get(base_conversation_id(conversation_id))
        if stored is None:
            raise TeamsUnreachable(f"no stored Teams conversation {conversation_id!r}")
        reference = ConversationReference().deserialize(stored.reference)
        # The rule every incoming activity passed: a row written before it, or by hand, is refused too.
        problem = service_url_problem(reference.service_url, local_only=not self.app_id)
        if problem is None and reference.service_url != stored.service_url:
            problem = "the reference's service URL differs from the stored one"
        if problem is not None:
            log.warning("teams_stored_reference_refused", conversation=stored.conversation_id, reason=problem)
            raise TeamsUnreachable(f"the stored Teams conversation {conversation_id!r} cannot be posted to")
        message = self.message_of(response, None)
        sent: list[str] = []
        failed: list[Exception] = []

        async def callback(turn_context: TurnContext) -> None:
            connector = self.connector(turn_context)
            try:
                if update is None:
                    sent.append(
                        await self.post(
                            connector,
                            stored.conversation_id,
                            message,
                            origin=turn_context.activity,
                            once=once,
                        )
                    )
                    return
                message.id = update
                address_message(message, turn_context.activity, stored.conversation_id)

                async def rewrite() -> Any:
                    return await connector.conversations.update_activity(
                        stored.conversation_id, update, message
                    )

                await self.sender.call("update", stored.conversation_id, rewrite, once=once)
                sent.append(update)
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
        return await self.send_to_conversation(await self._personal_chat(person_id), response)

    async def _personal_chat(self, person_id: int) -> str:
        async with self.db.sessions() as session:
            aad = (
                await session.execute(select(Person.teams_user_id).where(Person.id == person_id))
            ).scalar_one_or_none()
        if not aad:
            raise TeamsUnreachable(f"person {person_id} has no Teams identity yet")
        stored = await self.conversations.personal_for(aad)
        if stored is None:
            raise TeamsUnreachable(f"no personal Teams chat with person {person_id} yet")
        return stored.conversation_id
