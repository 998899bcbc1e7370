"""The messaging extension: Touchpoint on a message's "..." menu and in the compose box.

Each part is an invoke answered in its HTTP response (Teams gives up after about five seconds):

- **Log to account**, a message action. ``composeExtension/fetchTask`` opens the follow-up form in a
  dialog (a task module): the request the Slack message shortcut makes, so the form proposes the
  accounts the message names, is a note, and holds the message's text and a link back to it. The
  dialog's ``Action.Submit`` comes back as ``composeExtension/submitAction``: the form again with its
  problems under the fields, or a pop-up saying where the entry went.
- **Search accounts**, a search command (``composeExtension/query``): the accounts that match the
  typed words, ranked as :meth:`bot.core.lookup.AccountIndex.search` ranks them, each as the compact
  card to insert into the message, with the thumbnail preview Teams lists.
- **Link unfurling** (``composeExtension/queryLink``): a pasted link to a HubSpot company or Salesforce
  account that a connector linked to an account unfurls into that card. Any other link gets nothing,
  never an error.

A card goes into a conversation, so it holds only what the conversation's policy allows
(:mod:`bot.channels.privacy`): everything in a personal chat or an internal channel, an admin's choice
in a shared channel, nothing in a conversation Touchpoint does not know. The dialog is seen by the
person alone, and needs no policy.

Unlike messages and button clicks, these invokes come from wherever the person writes, chats that
Touchpoint is no part of included. Their conversation is therefore not remembered: a stored
conversation is one Touchpoint can post to, and its stored kind sets the policy, so a chat between two
people stored as "personal" would be opened to account data.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext

from adapters.teams import limits
from adapters.teams.activities import address_of, card_request, card_response
from adapters.teams.card_actions import read_action
from adapters.teams.cards import CARD_CONTENT_TYPE, DATA_KEY, Card, plain
from adapters.teams.forms import render_form
from adapters.teams.html_text import body_text
from adapters.teams.identity import TeamsIdentity
from adapters.teams.render import notice_card, render_reply
from bot import actions
from bot.channels.privacy import ChannelPolicy, Sharing, channel_policy
from bot.core.dispatch import Bot
from bot.errors import NotRegistered
from bot.format import truncate
from bot.types import Actor, Address, Fields, Header, Reply, Request, RequestKind, Response, Text
from handlers.account_links import accounts_for_urls, compact_card
from storage import text as texts

FETCH_TASK = "composeExtension/fetchTask"
SUBMIT_ACTION = "composeExtension/submitAction"
QUERY = "composeExtension/query"
QUERY_LINK = "composeExtension/queryLink"
INVOKES = frozenset({FETCH_TASK, SUBMIT_ACTION, QUERY, QUERY_LINK})

LOG_COMMAND = "logToAccount"
SEARCH_COMMAND = "searchAccounts"
QUERY_PARAMETER = "query"
THUMBNAIL_CONTENT_TYPE = "application/vnd.microsoft.card.thumbnail"
DIALOG_HEIGHT = "large"
DIALOG_WIDTH = "medium"

MAX_RESULTS = 25  # what Teams asks for (queryOptions.count) and the most it lists
MAX_SKIP = 1_000  # nobody pages this far through a search box
MAX_QUERY_CHARS = 200
MAX_SUMMARY_CHARS = 2_900  # as the Slack shortcut: the form's text field holds 3,000
MAX_LINK_CHARS = 1_000  # the follow-up's source link column; it also rides in the dialog button's data
PREVIEW_TITLE_CHARS = 120
PREVIEW_TEXT_CHARS = 300

EMPTY_QUERY = "Type an account name or ID."
SHARED_CHANNEL = (
    "This channel is shared with another organisation, so account data stays out of it unless an "
    "admin allows it (`channel allow FIELD…`)."
)
UNKNOWN_CONVERSATION = (
    "Touchpoint is not part of this conversation, so account data stays out of it. Search in your "
    "chat with Touchpoint, or add Touchpoint here."
)
UNKNOWN_COMMAND = "Touchpoint does not know that command. The app may need an update: ask your Teams admin."


# ------------------------------------------------------------------------------------- reading


def log_request(value: dict[str, Any], actor: Actor, address: Address) -> Request:
    """ "Log to account" on a message: the follow-up form, with the message's text (markup removed,
    as the Slack shortcut keeps it) and a link back to the message."""
    message = value.get("messagePayload")
    message = message if isinstance(message, dict) else {}
    summary = texts.sanitize(body_text(message.get("body")), multiline=True)[:MAX_SUMMARY_CHARS]
    payload: dict[str, Any] = {"summary": summary}
    link = message.get("linkToMessage")
    if (
        isinstance(link, str)
        and link.startswith("https://")
        and len(link) <= MAX_LINK_CHARS
        and link.isprintable()
    ):
        payload["source_link"] = link
    return Request(
        kind=RequestKind.ACTION,
        actor=actor,
        address=address,
        action=actions.FOLLOWUP_OPEN_FORM,
        payload=payload,
    )


def search_terms(value: dict[str, Any]) -> tuple[str, int, int]:
    """(words, skip, count) of a search invoke; the words are empty when none were typed."""
    words = ""
    parameters = value.get("parameters")
    for parameter in parameters if isinstance(parameters, list) else []:
        if isinstance(parameter, dict) and parameter.get("name") == QUERY_PARAMETER:
            typed = parameter.get("value")
            words = texts.sanitize(typed).strip()[:MAX_QUERY_CHARS] if isinstance(typed, str) else ""
    options = value.get("queryOptions")
    options = options if isinstance(options, dict) else {}
    return (
        words,
        _bounded(options.get("skip"), 0, MAX_SKIP, 0),
        _bounded(options.get("count"), 1, MAX_RESULTS, MAX_RESULTS),
    )


def _bounded(value: object, low: int, high: int, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return max(low, min(high, int(value)))


# ----------------------------------------------------------------------------------- answering


def _ok(body: dict[str, Any]) -> InvokeResponse:
    return InvokeResponse(status=int(HTTPStatus.OK), body=body)


def dialog(card: Card, title: str) -> InvokeResponse:
    """A task module ``continue``: the dialog showing ``card``."""
    return _ok(
        {
            "task": {
                "type": "continue",
                "value": {
                    "title": title,
                    "height": DIALOG_HEIGHT,
                    "width": DIALOG_WIDTH,
                    "card": {"contentType": CARD_CONTENT_TYPE, "content": card},
                },
            }
        }
    )


def pop_up(text: str) -> InvokeResponse:
    """A task module ``message``: a short text in a pop-up, the dialog closed."""
    return _ok({"task": {"type": "message", "value": text}})


def search_message(text: str) -> InvokeResponse:
    """A search answered with a line of text instead of results."""
    return _ok({"composeExtension": {"type": "message", "text": text}})


def results(attachments: list[dict[str, Any]]) -> InvokeResponse:
    """Search results or an unfurl (only its first card is used); none is no unfurl, and no error."""
    return _ok(
        {"composeExtension": {"type": "result", "attachmentLayout": "list", "attachments": attachments}}
    )


def invoke_notice(name: str | None, text: str) -> InvokeResponse:
    """A refusal or a failure in the shape the invoke ``name`` is answered with: a pop-up for the
    dialog, a line of text for a search, no unfurl for a link, else a card."""
    if name in (FETCH_TASK, SUBMIT_ACTION):
        return pop_up(text)
    if name == QUERY:
        return search_message(text)
    if name == QUERY_LINK:
        return results([])
    return card_response(notice_card(text))


def reply_text(reply: Reply) -> str:
    """A reply as one plain line for a pop-up: its text (which says where a saved entry went), else
    its summary."""
    lines = [
        plain(line)
        for block in reply.blocks
        if isinstance(block, Header | Text)
        for line in block.text.splitlines()
    ]
    text = " ".join(line for line in lines if line) or plain(reply.summary) or reply.summary
    return truncate(text, limits.SUMMARY_CHARS)


def preview(reply: Reply) -> dict[str, Any]:
    """The thumbnail Teams lists a result by: the first line as the title (the account's name), the
    other lines and fields (what the policy let into the card) as one line of text."""
    lines = [" ".join(plain(block.text).split()) for block in reply.blocks if isinstance(block, Text)]
    title = lines[0] if lines else plain(reply.summary)
    parts = [line for line in lines[1:] if line]
    for block in reply.blocks:
        if isinstance(block, Fields):
            parts += [f"{label} {plain(value)}" for label, value in block.items]
    return {
        "contentType": THUMBNAIL_CONTENT_TYPE,
        "content": {
            "title": truncate(title, PREVIEW_TITLE_CHARS),
            "text": truncate(" · ".join(parts), PREVIEW_TEXT_CHARS),
        },
    }


def closed_text(policy: ChannelPolicy) -> str:
    """Why nothing about accounts may go here."""
    return UNKNOWN_CONVERSATION if policy.sharing is Sharing.UNKNOWN else SHARED_CHANNEL


# ----------------------------------------------------------------------------------------- turns


class MessagingExtension:
    """Answers the four invokes (:data:`INVOKES`); the Teams adapter owns one."""

    def __init__(self, bot: Bot, identity: TeamsIdentity) -> None:
        self.bot = bot
        self.identity = identity

    async def answer(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        name = str(activity.name or "")
        value = activity.value if isinstance(activity.value, dict) else {}
        actor = await self.identity.actor(turn_context)
        address = address_of(activity, actor)
        if name == FETCH_TASK:
            return await self._open(value, actor, address)
        if name == SUBMIT_ACTION:
            return await self._submit(value, actor, address)
        if name == QUERY:
            return await self._search(value, actor, address)
        return await self._unfurl(value, actor, address)

    # --------------------------------------------------------------------------- log to account

    async def _open(self, value: dict[str, Any], actor: Actor, address: Address) -> InvokeResponse:
        if value.get("commandId") != LOG_COMMAND:
            return pop_up(UNKNOWN_COMMAND)
        return self._dialog(await self.bot.handle(log_request(value, actor, address)), actor)

    async def _submit(self, value: dict[str, Any], actor: Actor, address: Address) -> InvokeResponse:
        data = value.get("data")
        if not isinstance(data, dict) or not isinstance(data.get(DATA_KEY), dict):
            # Not the dialog's form: Teams' round trip after installing the app just in time (data
            # {"msteams": {"justInTimeInstall": true}}, assumed) asks for the dialog again.
            return await self._open(value, actor, address)
        action = read_action(data)
        if action.problem is not None:
            return pop_up(action.problem)
        return self._dialog(await self.bot.handle(card_request(action, actor, address)), actor)

    def _dialog(self, response: Response, actor: Actor) -> InvokeResponse:
        """A form in the dialog (Action.Submit, so its submit comes back here); a reply as a pop-up."""
        if isinstance(response, Reply):
            return pop_up(reply_text(response))
        card = render_form(response, today=self.bot.context.today(actor), submit="submit")
        return dialog(card, response.title)

    # --------------------------------------------------------------------------- search, unfurl

    async def _search(self, value: dict[str, Any], actor: Actor, address: Address) -> InvokeResponse:
        if value.get("commandId", SEARCH_COMMAND) != SEARCH_COMMAND:
            return search_message(UNKNOWN_COMMAND)
        if not actor.is_registered:
            return search_message(NotRegistered().message)
        words, skip, count = search_terms(value)
        if not words:
            return search_message(EMPTY_QUERY)
        ctx = self.bot.context
        policy = await channel_policy(ctx.db, ctx.sharing_checks, address)
        if policy.closed:
            return search_message(closed_text(policy))
        found = await ctx.accounts.search(words, limit=count, offset=skip)
        attachments = [a for ref in found if (a := await self._attachment(ref.id, policy)) is not None]
        return results(attachments)

    async def _unfurl(self, value: dict[str, Any], actor: Actor, address: Address) -> InvokeResponse:
        url = value.get("url")
        if not actor.is_registered or not isinstance(url, str):
            return results([])
        ctx = self.bot.context
        account_id = (await accounts_for_urls(ctx, [url])).get(url)
        if account_id is None:
            return results([])
        # The unfurl goes out with the message: the policy is the conversation's it is pasted in.
        policy = await channel_policy(ctx.db, ctx.sharing_checks, address)
        attachment = await self._attachment(account_id, policy)
        return results([attachment] if attachment is not None else [])

    async def _attachment(self, account_id: int, policy: ChannelPolicy) -> dict[str, Any] | None:
        """The account's compact card as a result, or None when it is gone or nothing may be shown."""
        reply = await compact_card(self.bot.context, account_id, policy)
        if reply is None:
            return None
        card = render_reply(reply)[0]
        return {"contentType": CARD_CONTENT_TYPE, "content": card, "preview": preview(reply)}
