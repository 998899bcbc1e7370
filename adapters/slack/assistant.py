"""Touchpoint in Slack's assistant view (the "Agents & Assistants" split view), through Bolt's
:class:`~slack_bolt.async_app.AsyncAssistant` middleware.

Opening the view greets the person and offers questions drawn from their own portfolio
(:func:`handlers.ask.suggested_questions`); whatever they type there is a question for ``ask``, answered
in the thread exactly as a question typed in a DM is. Nothing here decides anything: the core answers,
and an unregistered person gets the core's own "not registered" message.

Slack's side, as looked up for this module (bolt-python 1.30 and Slack's reference):

- ``AsyncAssistant`` is a middleware (``app.assistant(a)`` is ``app.middleware(a)``), so it runs after
  the middlewares registered before it. Its listeners match ``assistant_thread_started``,
  ``assistant_thread_context_changed`` and a person's ``message`` in a thread of the app's DM
  (``channel_type`` "im", ``thread_ts`` set, no ``bot_id``): Bolt cannot tell a thread of the assistant
  view from any other thread of that DM, so every DM thread reply comes here (one under a feedback
  item's or an alert's post is still kept on its history, as before). Bolt passes ``say`` (a
  ``chat.postMessage`` in the thread carrying the thread's context as message metadata),
  ``set_status`` (``assistant.threads.setStatus``; the status clears when the app posts in the
  thread, or after two minutes), ``set_suggested_prompts`` (``assistant.threads.setSuggestedPrompts``:
  up to four prompts, each a ``title`` and a ``message``, with an optional ``title`` over them),
  ``set_title`` (``assistant.threads.setTitle``) and ``save_thread_context``.
- ``assistant_thread_started`` and ``assistant_thread_context_changed`` carry ``assistant_thread``:
  ``user_id``, ``channel_id`` (the DM), ``thread_ts`` and ``context`` (``channel_id``, ``team_id``,
  ``enterprise_id`` of what the person is looking at; empty when nothing).
- The default thread context store keeps the context on the app's first reply in the thread: it
  reads the thread with ``conversations.replies`` (``oldest`` the thread, ``include_all_metadata``,
  ``limit`` 4), takes the first message whose ``user`` is the bot user, and ``chat.update``s it with
  the same text and blocks and the context as metadata. Kept in Slack, it holds across replicas and
  restarts, which a store in memory would not.
- The manifest needs ``features.assistant_view`` (``assistant_description``, optional
  ``suggested_prompts``), the ``assistant:write`` scope (with ``chat:write`` and ``im:history``) and
  the events ``assistant_thread_started``, ``assistant_thread_context_changed`` and ``message.im``.

References: https://docs.slack.dev/tools/bolt-python/concepts/ai-apps,
https://docs.slack.dev/reference/events/assistant_thread_started,
https://docs.slack.dev/reference/events/assistant_thread_context_changed,
https://docs.slack.dev/reference/methods/assistant.threads.setStatus (and ``.setSuggestedPrompts``,
``.setTitle``), https://docs.slack.dev/reference/app-manifest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

import aiohttp
from slack_bolt.async_app import (
    AsyncAssistant,
    AsyncBoltContext,
    AsyncSaveThreadContext,
    AsyncSay,
    AsyncSetStatus,
    AsyncSetSuggestedPrompts,
    AsyncSetTitle,
)
from slack_sdk.errors import SlackClientError

from adapters.slack.render import render_message
from adapters.slack.requests import message_request
from bot.core.dispatch import Bot
from bot.errors import NotRegistered
from bot.format import truncate
from bot.log import get_logger
from bot.types import Actions, Actor, Address, Platform, Reply, Request, RequestKind, Response, Text
from handlers.ask import EXAMPLES, suggested_questions
from storage import text as texts

log = get_logger("touchpoint.slack")

ASK = "ask"
STATUS = "is reading your question…"
PROMPTS_TITLE = "Try asking"
THREAD_TITLE = 80  # characters of the question kept as the thread's title
TITLED_THREADS = 10_000  # threads remembered as titled, per process
# What a Web API call can fail with: Slack's refusal, an HTTP error, or the network.
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)

Listener = TypeVar("Listener", bound=Callable[..., Awaitable[None]])


class _Identity(Protocol):
    async def actor(self, user_id: str) -> Actor: ...


class _Threads(Protocol):
    async def keep(self, event: dict[str, Any], *, bot_user_id: str | None) -> bool: ...


class _Tracker(Protocol):
    def track(self, listener: Listener) -> Listener: ...


class AssistantHost(Protocol):
    """What the assistant needs of the Slack adapter: the core, who a Slack user is, the threads of
    living messages, and the count of listener runs that shutdown waits for."""

    @property
    def bot(self) -> Bot: ...

    @property
    def identity(self) -> _Identity: ...

    @property
    def threads(self) -> _Threads: ...

    @property
    def in_flight(self) -> _Tracker: ...


class _FirstQuestions:
    """Which threads already have their title: only a thread's first question names it. Remembered per
    process and for the latest threads only; a thread another replica titled may be titled again by a
    later question, which only renames it."""

    def __init__(self, limit: int = TITLED_THREADS) -> None:
        self._limit = limit
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def first(self, channel: str, thread: str) -> bool:
        key = (channel, thread)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        return True


def build_assistant(host: AssistantHost) -> AsyncAssistant:
    """The assistant view's listeners, each counted by ``host.in_flight`` (Bolt acknowledges first and
    runs them on their own, so a shutdown or a test must be able to wait for them)."""
    assistant = AsyncAssistant()  # the default context store: see the module's docstring
    titled = _FirstQuestions()

    async def thread_started(
        payload: dict[str, Any], say: AsyncSay, set_suggested_prompts: AsyncSetSuggestedPrompts
    ) -> None:
        """The view opened: a greeting at once, then questions the person's own accounts can answer
        (someone unregistered is told so, and offered nothing that would only be refused)."""
        thread = payload.get("assistant_thread") or {}
        actor = await host.identity.actor(str(thread.get("user_id") or ""))
        if not actor.is_registered:
            await _quietly("say", say(**render_message(unregistered_greeting())))
            return
        if not await _quietly("say", say(**render_message(greeting(actor)))):
            return
        channel, thread_ts = str(thread.get("channel_id") or ""), str(thread.get("thread_ts") or "")
        request = Request(
            kind=RequestKind.COMMAND, actor=actor, address=_address(channel, thread_ts, actor), command=ASK
        )
        prompts = await suggested_questions(host.bot.context, request)
        await _quietly(
            "set_suggested_prompts",
            set_suggested_prompts(
                prompts=[{"title": title, "message": question} for title, question in prompts],
                title=PROMPTS_TITLE,
            ),
        )

    async def thread_context_changed(
        payload: dict[str, Any], save_thread_context: AsyncSaveThreadContext
    ) -> None:
        """The person looked at another channel: remember it for the thread; nothing is said."""
        context = (payload.get("assistant_thread") or {}).get("context") or {}
        await _quietly("save_thread_context", save_thread_context(dict(context)))

    async def user_message(
        payload: dict[str, Any],
        context: AsyncBoltContext,
        say: AsyncSay,
        set_status: AsyncSetStatus,
        set_title: AsyncSetTitle,
    ) -> None:
        """Whatever is typed in the view is a question for ``ask`` unless it is a command
        (:func:`as_question`), answered in its thread as a DM question is; the status shows it is
        being worked on until the answer clears it."""
        if await host.threads.keep(payload, bot_user_id=context.bot_user_id):
            return  # a reply under a feedback item's or an alert's post in the DM: kept on its history
        text = texts.sanitize(str(payload.get("text") or "")).strip()
        channel, thread = str(payload.get("channel") or ""), str(payload.get("thread_ts") or "")
        actor = await host.identity.actor(str(payload.get("user") or ""))
        await _quietly("set_status", set_status(STATUS))
        if text and actor.is_registered and titled.first(channel, thread):
            await _quietly("set_title", set_title(truncate(" ".join(text.split()), THREAD_TITLE)))
        request = as_question(host.bot, message_request(payload, actor, thread=thread))
        response = await host.bot.handle(request)
        if not await _quietly("say", say(**render_message(_as_reply(response)))):
            await _quietly("set_status", set_status(""))  # no answer will clear it: do it here

    track = host.in_flight.track  # keeps each listener's signature: Bolt reads it to know what to pass
    assistant.thread_started(track(thread_started))
    assistant.thread_context_changed(track(thread_context_changed))
    assistant.user_message(track(user_message))
    return assistant


def as_question(bot: Bot, request: Request) -> Request:
    """What is typed in the view is a question for ``ask``, whatever its first word, unless it is a
    command: ``help`` or ``account acme`` typed there (or in any thread of the DM, which Bolt cannot
    tell apart) still runs as that command."""
    if request.command == "help" or request.command in bot.registry.commands:
        return request
    return replace(request, command=ASK, args=(request.command, *request.args))


def greeting(actor: Actor) -> Reply:
    """What the view opens with: what to ask, by example, and that the answer says how it was read."""
    first = (actor.name or "").split()
    hello = f"Hi {first[0]}!" if first else "Hi!"
    text = (
        f"{hello} Ask me about your accounts in plain words, for example “{EXAMPLES[0]}” "
        "I answer from Touchpoint's data and say how I read the question."
    )
    return Reply(summary=text, blocks=(Text(text),))


def unregistered_greeting() -> Reply:
    """The core's own words for someone it does not know, so the view says what a command would."""
    text = f"Hi! {NotRegistered().message}"
    return Reply(summary=text, blocks=(Text(text),))


def _address(channel: str, thread: str, actor: Actor) -> Address:
    return Address(
        platform=Platform.SLACK,
        target=channel,
        thread=thread or None,
        user=actor.platform_user_id,
        private=False,
    )


def _as_reply(response: Response) -> Reply:
    """A form cannot open in a thread without a trigger: its opener button is posted instead."""
    if isinstance(response, Reply):
        return response
    title = f"{response.title}: use the button to open the form."
    blocks = (Text(response.title), Actions((response.opener,))) if response.opener else (Text(title),)
    return Reply(summary=title, blocks=blocks)


async def _quietly(call: str, sent: Awaitable[Any]) -> bool:
    """Await a Web API call; a failure is logged, never raised into Bolt (whose error handler would
    log a crash for what is Slack being unavailable). False when it failed."""
    try:
        await sent
    except SLACK_FAILURES as error:
        log.warning("slack_assistant_call_failed", call=call, error=_error_of(error))
        return False
    return True


def _error_of(error: BaseException) -> str:
    response = getattr(error, "response", None)
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return type(error).__name__


__all__ = ["AssistantHost", "as_question", "build_assistant", "greeting", "unregistered_greeting"]
