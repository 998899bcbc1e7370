"""The Slack app: Bolt listeners that turn Slack payloads into Requests and Replies into Block Kit.

Everything is acknowledged at once (Slack allows 3 seconds); answers follow through ``response_url``
or the Web API. Modal submissions are the exception: they are validated before the acknowledgement,
because field errors must travel back in it.

This module is the thin part: Bolt's app, its middleware, the listeners and where answers are delivered.
What each payload asks for is read by the pure functions of :mod:`adapters.slack.requests`; Block Kit
is drawn by :mod:`adapters.slack.render`.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.assistant import build_assistant
from adapters.slack.identity import SlackIdentity
from adapters.slack.render import FORM_CALLBACK_ID, modal_metadata, render_home, render_message, render_modal
from adapters.slack.requests import (
    action_request,
    answers_in_message,
    clicked,
    command_request,
    feedback_shortcut_request,
    home_request,
    log_shortcut_request,
    message_request,
    metadata_context,
    submit_request,
    user_id,
)
from adapters.slack.sharing import SlackSharing
from adapters.slack.threads import SlackThreads, ignorable
from adapters.slack.unfurl import SlackUnfurler
from bot.core.dispatch import Bot, error_reply
from bot.errors import crash_message, new_reference
from bot.log import get_logger
from bot.settings import Settings
from bot.types import Actions, Address, Form, Platform, Reply, Response, Text
from storage.inbound import first_delivery

log = get_logger("touchpoint.slack")

SLASH_COMMAND = "/cs"
LOG_SHORTCUT = "log_followup_shortcut"
FEEDBACK_SHORTCUT = "send_feedback_shortcut"
NOT_ALLOWED_WORKSPACE = "Touchpoint is not enabled for this Slack workspace."
NO_SECRET = "not-configured"  # Socket Mode needs no signing secret; Bolt wants a string anyway
RESPONSE_URL_TIMEOUT_SECONDS = 30.0  # as slack_sdk's webhook client allows by default

Listener = TypeVar("Listener", bound=Callable[..., Awaitable[None]])


def retry_handlers() -> list[AsyncRetryHandler]:
    """Retry 429 after Retry-After, 500/503 with back-off, and dropped connections."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=3),
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
    ]


def web_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: Slack's URL (or a test fake), with :func:`retry_handlers`."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(token=token, base_url=settings.slack_api_url, retry_handlers=retry_handlers())


class SlackAdapter:
    """Bolt's AsyncApp with Touchpoint's listeners; mount :attr:`app` on the web server."""

    def __init__(self, bot: Bot, settings: Settings) -> None:
        self.bot = bot
        self.settings = settings
        self.client = web_client(settings)
        self.identity = SlackIdentity(bot.context.db, self.client)
        self.sharing = SlackSharing(self.client)
        bot.context.sharing_checks[Platform.SLACK] = self.sharing.check
        self.unfurler = SlackUnfurler(bot, self.client, self.identity)
        self.threads = SlackThreads(bot, self.identity)
        self.in_flight = InFlight()
        self._http: aiohttp.ClientSession | None = None
        secret = (
            settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else NO_SECRET
        )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret,
            process_before_response=False,
            ignoring_self_events_enabled=True,
        )
        self.app.middleware(self._allowed_workspace)
        self.app.middleware(self._once_per_event)
        self.app.assistant(build_assistant(self))  # after the two above: they run first
        self.app.error(self._on_error)
        listen = self._listener
        self.app.command(SLASH_COMMAND)(listen(self._on_command))
        self.app.action(re.compile(".+"))(listen(self._on_action))
        self.app.view(FORM_CALLBACK_ID)(listen(self._on_submit))
        self.app.shortcut(LOG_SHORTCUT)(listen(self._on_log_shortcut))
        self.app.shortcut(FEEDBACK_SHORTCUT)(listen(self._on_feedback_shortcut))
        self.app.event("app_mention")(listen(self._on_mention))
        self.app.event("message")(listen(self._on_message))
        self.app.event("app_home_opened")(listen(self._on_home_opened))
        self.app.event("link_shared")(listen(self._on_link_shared))

    async def drain(self, seconds: float = 10.0) -> bool:
        """Wait for answers still being worked on after their acknowledgement (False after ``seconds``)."""
        return await self.in_flight.wait_idle(seconds)

    async def close(self) -> None:
        """Close the connections kept for response_url answers (after :meth:`drain`, on shutdown)."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _response_url_session(self) -> aiohttp.ClientSession:
        """One connection pool for every response_url answer: without it slack_sdk opens a session, and
        a new connection, per answer (a few milliseconds each, on every command)."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=RESPONSE_URL_TIMEOUT_SECONDS)
            )
        return self._http

    def _listener(self, listener: Listener) -> Listener:
        """``listener`` as Bolt runs it: counted while it works (see :meth:`drain`), and a failure after
        the acknowledgement handled here. Bolt would clear an acknowledgement already given when a
        listener raises, then answer Slack with a 404 after waiting 3 seconds."""

        @functools.wraps(listener)
        async def run(*args: Any, **kwargs: Any) -> None:
            try:
                await listener(*args, **kwargs)
            except Exception as error:
                ack = kwargs.get("ack")
                if isinstance(ack, AsyncAck) and ack.response is None:
                    raise  # not acknowledged yet: Bolt answers 500 and calls _on_error
                await self._failed_after_ack(error, kwargs.get("body"))

        return self.in_flight.track(run)  # type: ignore[return-value]

    # --------------------------------------------------------------------------------- middleware

    async def _allowed_workspace(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        allowed = self.settings.slack_team_ids
        team = req.context.team_id
        if allowed and team not in allowed:
            log.warning("slack_workspace_refused", team=team)
            if isinstance(req.body, dict) and req.body.get("command"):
                return BoltResponse(status=200, body=NOT_ALLOWED_WORKSPACE)
            return BoltResponse(status=200, body="")
        return await next()

    async def _once_per_event(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        """Events API retries carry the same event_id: handle the first delivery only."""
        body = req.body if isinstance(req.body, dict) else {}
        if ignorable(body.get("event")):
            return BoltResponse(status=200, body="")
        event_id = body.get("event_id")
        if (
            body.get("type") == "event_callback"
            and event_id
            and not await first_delivery(self.bot.context.db, "slack", str(event_id))
        ):
            retry = req.headers.get("x-slack-retry-num", [""])[0]
            log.info("slack_event_repeat_ignored", event_id=event_id, retry=retry)
            return BoltResponse(status=200, body="")
        return await next()

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        reference = new_reference()
        log.error("slack_listener_failed", reference=reference, exc_info=error, type=body.get("type"))

    async def _failed_after_ack(self, error: Exception, body: Any) -> None:
        """Log the failure with a reference and, where possible, tell the person that reference."""
        body = body if isinstance(body, dict) else {}
        reference = new_reference()
        log.error("slack_listener_failed", reference=reference, exc_info=error, type=body.get("type"))
        message = render_message(error_reply(crash_message(reference)))
        url = body.get("response_url")
        user = body.get("user_id") or (body["user"].get("id") if isinstance(body.get("user"), dict) else None)
        try:
            if url and await self._respond(
                str(url), {"response_type": "ephemeral", "replace_original": False, **message}
            ):
                return
            if user:
                await self.client.chat_postMessage(channel=str(user), **message)
        except Exception as failure:
            log.warning("slack_failure_not_told", reference=reference, error=type(failure).__name__)

    # ---------------------------------------------------------------------------------- listeners

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        actor = await self.identity.actor(str(body.get("user_id", "")))
        request = command_request(body, actor)
        response = await self.bot.handle(request)
        await self._deliver(
            response,
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
            address=request.address,
        )

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        action, payload = clicked(body)
        actor = await self.identity.actor(user_id(body))
        request = action_request(body, action, payload, actor)
        response = await self.bot.handle(request)
        in_message = answers_in_message(body)
        await self._deliver(
            response,
            response_url=body.get("response_url") if in_message else None,
            trigger_id=body.get("trigger_id"),
            address=request.address,
            replace_allowed=in_message,
        )

    async def _on_submit(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        metadata = modal_metadata(view)
        actor = await self.identity.actor(user_id(body))
        request = submit_request(view, metadata, actor)
        response = await self.bot.handle(request)
        if isinstance(response, Form):
            if response.errors:
                await ack(response_action="errors", errors=dict(response.errors))
            else:
                context = metadata_context(request.address)
                await ack(response_action="update", view=render_modal(response, context=context))
            return
        await ack()
        await self._post(response, request.address)

    async def _on_link_shared(self, ack: AsyncAck, event: dict[str, Any]) -> None:
        await ack()
        await self.unfurler.unfurl(event)

    async def _on_log_shortcut(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        actor = await self.identity.actor(user_id(body))
        request = log_shortcut_request(body, actor)
        response = await self.bot.handle(request)
        await self._deliver(
            response, response_url=None, trigger_id=body.get("trigger_id"), address=request.address
        )

    async def _on_feedback_shortcut(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """ "Send as feedback" on a message: the feedback form, with the message and a link back to it."""
        await ack()
        actor = await self.identity.actor(user_id(body))
        request = feedback_shortcut_request(body, actor)
        response = await self.bot.handle(request)
        await self._deliver(
            response, response_url=None, trigger_id=body.get("trigger_id"), address=request.address
        )

    async def _on_mention(self, event: dict[str, Any]) -> None:
        await self._answer_message(event, thread=str(event.get("thread_ts") or event.get("ts") or ""))

    async def _on_message(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if await self.threads.keep(event, bot_user_id=context.bot_user_id):
            return  # discussion of a feedback item or an alert, kept on its history
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        # A DM is a conversation: answer in it, in a thread only when the question was asked in one.
        await self._answer_message(event, thread=str(event.get("thread_ts") or ""))

    async def _answer_message(self, event: dict[str, Any], *, thread: str) -> None:
        actor = await self.identity.actor(str(event.get("user", "")))
        request = message_request(event, actor, thread=thread)
        response = await self.bot.handle(request)
        await self._deliver(response, response_url=None, trigger_id=None, address=request.address)

    async def _on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user = str(event.get("user", ""))
        actor = await self.identity.actor(user)
        response = await self.bot.handle(home_request(user, actor))
        if isinstance(response, Reply):
            await self.client.views_publish(user_id=user, view=render_home(response))

    # ---------------------------------------------------------------------------------- delivery

    async def _deliver(
        self,
        response: Response,
        *,
        response_url: Any,
        trigger_id: Any,
        address: Address,
        replace_allowed: bool = False,
    ) -> None:
        """Show ``response`` where the request came from: a modal, a response_url answer, or a post."""
        if isinstance(response, Form):
            if trigger_id:
                view = render_modal(response, context=metadata_context(address))
                await self.client.views_open(trigger_id=str(trigger_id), view=view)
                return
            if response.opener is None:
                return
            response = Reply(
                summary=f"{response.title}: use the button to open the form.",
                blocks=(Text(response.title), Actions((response.opener,))),
            )
        if response_url:
            message = render_message(response)
            if response.replace and replace_allowed:
                message = {"replace_original": True, **message}
            else:
                kind = "in_channel" if response.shared else "ephemeral"
                message = {"response_type": kind, "replace_original": False, **message}
            if await self._respond(str(response_url), message):
                return
        await self._post(response, address)

    async def _respond(self, response_url: str, message: dict[str, Any]) -> bool:
        """Answer through a response_url, retrying 429 and 5xx as the Web API client does. False when
        Slack refused it (expired, used up) or could not be reached: the caller then posts instead."""
        client = AsyncWebhookClient(
            url=response_url, session=self._response_url_session(), retry_handlers=retry_handlers()
        )
        try:
            result = await client.send_dict(message)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("slack_response_url_failed", error=type(error).__name__)
            return False
        if result.status_code == 200:
            return True
        log.warning("slack_response_url_failed", status=result.status_code, error=result.body[:200])
        return False

    async def _post(self, reply: Reply, address: Address) -> None:
        """A reply without a response_url: in the thread it was asked in, privately, or by DM."""
        message = render_message(reply)
        if address.thread or not address.private:
            await self.client.chat_postMessage(channel=address.target, thread_ts=address.thread, **message)
            return
        if address.target and address.user and address.target.startswith(("C", "G")):
            try:
                await self.client.chat_postEphemeral(channel=address.target, user=address.user, **message)
                return
            except SlackApiError as error:
                # Not in that channel (a modal can be opened anywhere): tell the person directly.
                log.info("slack_ephemeral_refused", channel=address.target, error=slack_error(error))
        await self.client.chat_postMessage(channel=address.user or address.target, **message)


class InFlight:
    """Counts listener runs in progress. Bolt acknowledges first and runs the listener as a task of its
    own, so without this a shutdown would drop answers already promised by the acknowledgement."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def track(self, listener: Listener) -> Listener:
        # functools.wraps keeps the signature Bolt reads to decide which arguments to pass.
        @functools.wraps(listener)
        async def run(*args: Any, **kwargs: Any) -> None:
            self._running += 1
            self._idle.clear()
            try:
                await listener(*args, **kwargs)
            finally:
                self._running -= 1
                if self._running == 0:
                    self._idle.set()

        return run  # type: ignore[return-value]

    async def wait_idle(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return False
        return True


def slack_error(error: SlackApiError) -> str | None:
    data = error.response.data
    return str(data.get("error")) if isinstance(data, dict) else None


__all__ = ["SlackAdapter", "web_client"]
