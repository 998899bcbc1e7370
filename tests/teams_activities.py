"""The one helper that builds Bot Framework activities for the tests, shaped like Teams sends them
(see the teams_*.json samples in the shared protocol notes), with ``serviceUrl`` pointing at the fake
Bot Connector. Also: pressing a button or submitting a card the bot actually sent.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT_ID = "0d2c4b8e-9a77-4e31-a5c2-6f0b1e2d3c4a"
BOT_ID = "28:c9e8c047-2a74-40a2-b28a-b162d5f5327c"
BOT_NAME = "Touchpoint"
TEAM_ID = "19:zFLSDFWsesfzcmKArqKJ-65aOXJz@thread.tacv2"
CHANNEL_ID = "19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2"
GROUP_CHAT_ID = "19:meeting_6d1c3a0f-77b1-4d7e-9f2e-5c2a1b0e9d8f@thread.v2"
# A one-to-one chat between two people, which Touchpoint is no member of (a messaging extension is
# used there too; its conversation type is assumed to be "personal", as for the bot's own chat).
PEOPLE_CHAT_ID = "19:7faf8ab2-3d56-4244-b585-6d6179610000_0b2e6c1d-4f7a-4b8e-9c3d-2a1f0e9d8c7b@unq.gbl.spaces"

_ids = itertools.count(1)


def _next_id() -> str:
    return str(1715000400000 + next(_ids))


@dataclass(frozen=True, slots=True)
class TeamsUser:
    """Someone in Teams: their per-bot id (29:...), Azure AD object id, name and email."""

    user_id: str
    aad: str
    name: str
    email: str

    @property
    def personal_chat(self) -> str:
        return f"a:1{self.user_id[3:12]}personal"

    def account(self) -> dict[str, Any]:
        return {"id": self.user_id, "name": self.name, "aadObjectId": self.aad}


def user(key: str, name: str, email: str) -> TeamsUser:
    """A user with ids derived from ``key`` (a short word), so tests read well."""
    digits = "".join(f"{ord(c):02x}" for c in key)[:12].ljust(12, "0")
    return TeamsUser(
        user_id=f"29:1{key}XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85gQtHieVkKil",
        aad=f"7faf8ab2-3d56-4244-b585-{digits}",
        name=name,
        email=email,
    )


def _base(
    kind: str,
    who: TeamsUser,
    *,
    service_url: str,
    conversation: dict[str, Any],
    tenant: str,
    channel_data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data = {"tenant": {"id": tenant}, **(channel_data or {})}
    return {
        "type": kind,
        "id": _next_id(),
        "timestamp": "2026-11-25T12:00:00.000Z",
        "localTimestamp": "2026-11-25T13:00:00.000+01:00",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": who.account(),
        "conversation": {**conversation, "tenantId": tenant},
        "recipient": {"id": BOT_ID, "name": BOT_NAME},
        "entities": [{"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web"}],
        "channelData": data,
        "locale": "en-US",
    }


def personal_conversation(who: TeamsUser) -> dict[str, Any]:
    return {"conversationType": "personal", "id": who.personal_chat}


def channel_conversation(thread: str | None = None) -> dict[str, Any]:
    conversation_id = CHANNEL_ID if thread is None else f"{CHANNEL_ID};messageid={thread}"
    return {"isGroup": True, "conversationType": "channel", "id": conversation_id, "name": "Renewals"}


def channel_data() -> dict[str, Any]:
    return {
        "teamsChannelId": CHANNEL_ID,
        "teamsTeamId": TEAM_ID,
        "channel": {"id": CHANNEL_ID},
        "team": {"id": TEAM_ID},
    }


def personal_message(
    text: str, who: TeamsUser, *, service_url: str, tenant: str = TENANT_ID
) -> dict[str, Any]:
    activity = _base(
        "message", who, service_url=service_url, conversation=personal_conversation(who), tenant=tenant
    )
    activity.update(textFormat="plain", text=text)
    return activity


def channel_message(
    text: str, who: TeamsUser, *, service_url: str, tenant: str = TENANT_ID, mention: bool = True
) -> dict[str, Any]:
    """A new channel post; with ``mention``, ``<at>Touchpoint</at> {text}`` and its mention entity."""
    activity = _base(
        "message",
        who,
        service_url=service_url,
        conversation=channel_conversation(),
        tenant=tenant,
        channel_data=channel_data(),
    )
    activity["conversation"]["id"] = f"{CHANNEL_ID};messageid={activity['id']}"
    mention_text = f"<at>{BOT_NAME}</at>"
    activity.update(textFormat="plain", text=f"{mention_text} {text}" if mention else text)
    if mention:
        activity["entities"].insert(
            0, {"type": "mention", "text": mention_text, "mentioned": {"id": BOT_ID, "name": BOT_NAME}}
        )
    return activity


def group_chat_message(
    text: str, who: TeamsUser, *, service_url: str, tenant: str = TENANT_ID
) -> dict[str, Any]:
    conversation = {"isGroup": True, "conversationType": "groupChat", "id": GROUP_CHAT_ID}
    activity = _base("message", who, service_url=service_url, conversation=conversation, tenant=tenant)
    mention_text = f"<at>{BOT_NAME}</at>"
    activity.update(textFormat="plain", text=f"{mention_text} {text}")
    activity["entities"].insert(
        0, {"type": "mention", "text": mention_text, "mentioned": {"id": BOT_ID, "name": BOT_NAME}}
    )
    return activity


def _where(who: TeamsUser, place: str, thread: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    if place == "personal":
        return personal_conversation(who), None
    if place == "channel":
        return channel_conversation(thread), channel_data()
    if place == "chat":
        return {"conversationType": "personal", "id": PEOPLE_CHAT_ID}, None
    raise ValueError(place)


def submit_message(
    value: dict[str, Any],
    who: TeamsUser,
    *,
    service_url: str,
    card_id: str,
    place: str = "personal",
    thread: str | None = None,
    tenant: str = TENANT_ID,
) -> dict[str, Any]:
    """An ``Action.Submit``: a message with no text whose ``value`` carries the action's data."""
    conversation, data = _where(who, place, thread)
    activity = _base(
        "message", who, service_url=service_url, conversation=conversation, tenant=tenant, channel_data=data
    )
    activity.update(replyToId=card_id, value=value)
    activity["channelData"]["source"] = {"name": "message"}
    return activity


def execute_invoke(
    data: dict[str, Any],
    who: TeamsUser,
    *,
    service_url: str,
    card_id: str,
    verb: str = "",
    place: str = "personal",
    thread: str | None = None,
    tenant: str = TENANT_ID,
) -> dict[str, Any]:
    """An ``Action.Execute``: an ``adaptiveCard/action`` invoke answered in the HTTP response."""
    conversation, extra = _where(who, place, thread)
    activity = _base(
        "invoke", who, service_url=service_url, conversation=conversation, tenant=tenant, channel_data=extra
    )
    activity["id"] = f"f:{activity['id']}"
    activity.update(
        name="adaptiveCard/action",
        replyToId=card_id,
        value={
            "action": {"type": "Action.Execute", "id": verb, "verb": verb, "data": data},
            "trigger": "manual",
        },
    )
    activity["channelData"]["source"] = {"name": "message"}
    return activity


def message_payload(
    content: str,
    sender: TeamsUser,
    *,
    content_type: str = "html",
    message_id: str = "1715000400999",
) -> dict[str, Any]:
    """The message a message action was chosen on, as Teams sends it in ``messagePayload``."""
    return {
        "id": message_id,
        "replyToId": None,
        "messageType": "message",
        "createdDateTime": "2026-11-25T11:58:00.000Z",
        "linkToMessage": f"https://teams.microsoft.com/l/message/{CHANNEL_ID}/{message_id}?tenantId={TENANT_ID}",
        "body": {"contentType": content_type, "content": content},
        "from": {"user": {"userIdentityType": "aadUser", "id": sender.aad, "displayName": sender.name}},
        "mentions": [],
        "reactions": [],
        "attachments": [],
    }


def extension_invoke(
    name: str,
    value: dict[str, Any],
    who: TeamsUser,
    *,
    service_url: str,
    place: str = "personal",
    tenant: str = TENANT_ID,
) -> dict[str, Any]:
    """A messaging extension invoke (``composeExtension/query``, ``/queryLink``, ``/fetchTask``,
    ``/submitAction``) from ``place``: "personal", "channel" or "chat" (two people, without the bot)."""
    conversation, extra = _where(who, place, None)
    activity = _base(
        "invoke", who, service_url=service_url, conversation=conversation, tenant=tenant, channel_data=extra
    )
    activity["id"] = f"f:{activity['id']}"
    activity.update(name=name, value={"context": {"theme": "default"}, **value})
    activity["channelData"]["source"] = {"name": "compose"}
    return activity


def search_invoke(
    words: str, who: TeamsUser, *, service_url: str, skip: int = 0, count: int = 25, place: str = "personal"
) -> dict[str, Any]:
    value = {
        "commandId": "searchAccounts",
        "parameters": [{"name": "query", "value": words}],
        "queryOptions": {"skip": skip, "count": count},
    }
    return extension_invoke("composeExtension/query", value, who, service_url=service_url, place=place)


def link_invoke(url: str, who: TeamsUser, *, service_url: str, place: str = "personal") -> dict[str, Any]:
    return extension_invoke(
        "composeExtension/queryLink", {"url": url}, who, service_url=service_url, place=place
    )


def bot_added(
    who: TeamsUser,
    *,
    service_url: str,
    place: str = "personal",
    tenant: str = TENANT_ID,
) -> dict[str, Any]:
    """The ``conversationUpdate`` Teams sends when the app is installed for a person or in a team."""
    conversation, data = _where(who, place, None)
    extra = {**(data or {}), "eventType": "teamMemberAdded"} if place == "channel" else None
    activity = _base(
        "conversationUpdate",
        who,
        service_url=service_url,
        conversation=conversation,
        tenant=tenant,
        channel_data=extra,
    )
    activity["id"] = f"f:{activity['id']}"
    activity["membersAdded"] = [{"id": BOT_ID}]
    return activity


def bot_removed(
    who: TeamsUser, *, service_url: str, place: str = "personal", tenant: str = TENANT_ID
) -> dict[str, Any]:
    conversation, data = _where(who, place, None)
    activity = _base(
        "conversationUpdate",
        who,
        service_url=service_url,
        conversation=conversation,
        tenant=tenant,
        channel_data=data,
    )
    activity["membersRemoved"] = [{"id": BOT_ID}]
    return activity


# -------------------------------------------------------------------------- the bot's own cards


def actions_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action in a card, in order: card-level ones and those in ActionSets, at any depth."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Action."):
                found.append(node)
            for key in ("body", "items", "columns", "actions", "card"):
                if key in node:
                    walk(node[key])
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card.get("body"))
    walk(card.get("actions"))
    return found


def action_titled(card: dict[str, Any], title: str) -> dict[str, Any]:
    """The one action whose title is ``title`` (or starts with it)."""
    matches = [a for a in actions_of(card) if a["title"] == title or a["title"].startswith(title)]
    assert len(matches) == 1, (title, [a["title"] for a in actions_of(card)])
    return matches[0]


def inputs_of(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input."):
                found[node["id"]] = node
            for key in ("body", "items", "columns"):
                if key in node:
                    walk(node[key])
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card.get("body"))
    return found


def choice_for(card: dict[str, Any], text: str) -> tuple[str, str]:
    """(input id, value) of the "which one?" choice whose title contains ``text``."""
    for input_id, spec in inputs_of(card).items():
        if spec["type"] != "Input.ChoiceSet":
            continue
        for choice in spec.get("choices", []):
            if text in choice["title"]:
                return input_id, choice["value"]
    raise AssertionError(f"no choice mentions {text!r}")


def press(card: dict[str, Any], title: str, **inputs: str) -> tuple[dict[str, Any], str]:
    """What Teams sends for pressing ``title`` with ``inputs`` filled in: (data, verb).

    Like the client, it merges the card's input values into the action's data (for ``auto``
    associated inputs) and refuses to send when a required input is empty.
    """
    action = action_titled(card, title)
    data = json.loads(json.dumps(action.get("data") or {}))
    if action.get("associatedInputs", "auto") == "auto":
        for input_id, spec in inputs_of(card).items():
            value = inputs.get(input_id, spec.get("value", ""))
            if spec.get("isRequired") and not str(value).strip():
                raise AssertionError(f"Teams would not send: {input_id!r} is required")
            data[input_id] = value
    return data, str(action.get("verb") or "")
