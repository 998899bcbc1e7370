"""The Teams app package (manifest.json and two icons, zipped) to upload
in Teams ("Apps > Manage your apps > Upload an app") or the Teams admin center.

The manifest follows schema 1.30, the newest in Microsoft's ``@microsoft/app-manifest`` package: one
bot for personal chats, teams and group chats, and a command menu for each; and one messaging
extension (:data:`EXTENSION_COMMANDS`: account search in the compose box, "Log to account" on a
message) that also unfurls links to CRM records (:data:`LINK_DOMAINS`). Teams shows at most twelve
commands a menu, so the menus are chosen here (:data:`MENUS`), and every command the core has is either
on a menu or set aside in :data:`OFF_MENU` with the reason; nothing is cut without a word. No Bot
Framework import here, so ``touchpoint teams-package`` (:mod:`adapters.cli.teams`) works without
loading the SDK.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.teams.icons import ACCENT, color_icon, outline_icon
from bot import __version__
from bot.format import truncate

MANIFEST_VERSION = "1.30"
MANIFEST_SCHEMA = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
)
MAX_COMMANDS = 12  # per command list (manifest 1.24 and later; 10 before)
COMMAND_TITLE_CHARS = 32  # the schema allows 128; a menu shows a command word
COMMAND_DESCRIPTION_CHARS = 128  # the schema allows 4,000; a menu shows one line
SHORT_DESCRIPTION = "Account health, renewals, follow-ups and milestones for CS teams."
FULL_DESCRIPTION = (
    "Touchpoint is a chat assistant for Customer Success and Customer Experience teams. Ask about an "
    "account and get its health score, why it moved, renewal date, open follow-ups, milestones and the "
    "latest customer feedback on one card. List your accounts worst health first, see red and falling "
    "accounts with the ARR at risk, check upcoming renewals, and log calls, emails, meetings and QBRs "
    "without leaving Teams. Follow-ups and milestones can be marked done or snoozed from the card. "
    "Chat with Touchpoint personally, or mention it in a channel to answer in the thread. Search for an "
    "account from the message box to insert its card, see a pasted HubSpot or Salesforce link as the "
    "account's card, and log any message to an account's timeline with Log to account."
)
PERSONAL = ("personal",)
SHARED = ("team", "groupChat")
# The command menus, most used first. ``help`` lists every command wherever it is asked.
MENUS: dict[tuple[str, ...], tuple[str, ...]] = {
    PERSONAL: (
        "help",
        "account",
        "my",
        "ask",
        "home",
        "followups",
        "milestones",
        "renewals",
        "log",
        "feedback",
        "plan",
        "ttv",
    ),
    SHARED: (
        "help",
        "account",
        "risk",
        "renewals",
        "followups",
        "milestones",
        "log",
        "feedback",
        "plan",
        "ttv",
        "digest",
        "follow",
    ),
}
# Commands left off a menu on purpose, and why (a test holds every command to a menu or to this).
OFF_MENU: dict[tuple[str, ...], dict[str, str]] = {
    PERSONAL: {
        "risk": "in the personal chat a question in plain words asks it (“which of my accounts are red?”)",
        "digest": "set up once, mostly for a channel (in the channel's menu); `help` lists it here",
        "retention": "a quarterly figure for leaders, asked now and then; `help` lists it",
        "sync": "for admins checking the CRM sync; `help` lists it",
        "timeline": "opened from the account card's Timeline button; `help` lists it",
        "follow": "a channel follows an account: typed in the channel (its menu has it)",
        "unfollow": "for channels, where `following` shows what to unfollow",
        "following": "for channels: what the channel follows",
        "channel": "for admins, in the channel they decide about",
    },
    SHARED: {
        "home": "one person's own overview: answered in their personal chat, so offered there only",
        "retention": "a quarterly figure for leaders, asked now and then; `help` lists it",
        "sync": "for admins checking the CRM sync; `help` lists it",
        "timeline": "opened from the account card's Timeline button; `help` lists it",
        "my": "one person's own list: on the personal chat's menu, and mentioned here when wanted",
        "unfollow": "`following` lists what the channel follows, with Unfollow buttons",
        "following": "asked now and then; `help` lists it",
        "channel": "for admins deciding about a shared channel; `help` lists it",
        "ask": "questions about one's own portfolio are asked in the personal chat; `help` lists it",
    },
}
# The messaging extension's commands; the ids are what adapters.teams.extension answers (not imported:
# that module loads the Bot Framework SDK).
EXTENSION_COMMANDS: tuple[dict[str, Any], ...] = (
    {
        "id": "searchAccounts",
        "type": "query",
        "title": "Search accounts",
        "description": "Find an account and insert its card: health, ARR, renewal and owner.",
        "context": ["compose", "commandBox"],
        "initialRun": False,
        "parameters": [
            {"name": "query", "title": "Account", "description": "Name or ID", "inputType": "text"}
        ],
    },
    {
        "id": "logToAccount",
        "type": "action",
        "title": "Log to account",
        "description": "Log this message as a note on an account's timeline.",
        "context": ["message"],
        "fetchTask": True,
    },
)
# The hosts of the CRM record links handlers.account_links reads. A wildcard stands for one label
# (app.hubspot.com, app-eu1.hubspot.com, acme.lightning.force.com, acme.my.salesforce.com); Teams'
# older manifest reference asks for a link handler's domains in validDomains too, so they are there.
LINK_DOMAINS = ("*.hubspot.com", "*.lightning.force.com", "*.my.salesforce.com")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
HOST = re.compile(r"^(\*\.)?([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$|^localhost$")


def core_commands() -> list[tuple[str, str]]:
    """(name, description) for ``help`` and every command the core registers, in order. The handlers
    are imported here, not at the top, so ``touchpoint`` starts without loading them."""
    from bot.core.registry import Registry
    from handlers import register_all

    registry = Registry()
    register_all(registry)
    commands = [("help", "what Touchpoint can do")]
    commands += [(spec.name, describe(spec.summary, spec.usage)) for spec in registry.commands.values()]
    return commands


def describe(summary: str, usage: str) -> str:
    """A menu line: the summary with the usage when both fit, else the summary."""
    both = f"{summary} ({usage})"
    return both if len(both) <= COMMAND_DESCRIPTION_CHARS else truncate(summary, COMMAND_DESCRIPTION_CHARS)


def command_list(
    scopes: Sequence[str], names: Sequence[str], descriptions: Mapping[str, str]
) -> dict[str, Any]:
    """The menu for ``scopes``: the commands ``names``, in that order. ValueError when a name is not a
    command or there are more than Teams shows (nothing is cut silently)."""
    unknown = [name for name in names if name not in descriptions]
    if unknown:
        raise ValueError(
            f"the Teams menu for {'/'.join(scopes)} names unknown commands: {', '.join(unknown)}"
        )
    if len(names) > MAX_COMMANDS:
        raise ValueError(
            f"the Teams menu for {'/'.join(scopes)} has {len(names)} commands; Teams shows {MAX_COMMANDS}"
        )
    return {
        "scopes": list(scopes),
        "commands": [
            {
                "title": truncate(name, COMMAND_TITLE_CHARS),
                "description": truncate(descriptions[name], COMMAND_DESCRIPTION_CHARS),
            }
            for name in names
        ],
    }


RSC_RESOURCE = "https://RscBasedStoreApp"


def build_manifest(
    *,
    app_id: str,
    version: str = __version__,
    domain: str | None = None,
    developer_name: str = "Touchpoint",
    website_url: str | None = None,
    privacy_url: str | None = None,
    terms_url: str | None = None,
    commands: list[tuple[str, str]] | None = None,
    menus: Mapping[tuple[str, ...], Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The manifest.json content. ``app_id`` (the bot's Microsoft App ID) is also the Teams app id;
    ``commands`` (name, description) default to the core's, ``menus`` to :data:`MENUS`."""
    if not GUID.match(app_id):
        raise ValueError(
            f"the app id must be a GUID like 00000000-0000-0000-0000-000000000000, not {app_id!r}"
        )
    if domain is not None and not HOST.match(domain):
        raise ValueError(f"{domain!r} is not a host name (give it without https:// or a path)")
    for url in (website_url, privacy_url, terms_url):
        if url is not None and not url.lower().startswith("https://"):
            raise ValueError(f"Teams needs https links: {url!r}")
    base = f"https://{domain}" if domain else "https://example.com/touchpoint"
    descriptions = dict(commands if commands is not None else core_commands())
    command_lists = [command_list(scopes, names, descriptions) for scopes, names in (menus or MENUS).items()]
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id.lower(),
        "developer": {
            "name": truncate(developer_name, 32),
            "websiteUrl": website_url or f"{base}/",
            "privacyUrl": privacy_url or f"{base}/privacy",
            "termsOfUseUrl": terms_url or f"{base}/terms",
        },
        "name": {"short": "Touchpoint", "full": "Touchpoint for Customer Success"},
        "description": {"short": SHORT_DESCRIPTION, "full": FULL_DESCRIPTION},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": app_id.lower(),
                "scopes": ["personal", "team", "groupChat"],
                "isNotificationOnly": False,
                "supportsFiles": False,
                "supportsCalling": False,
                "supportsVideo": False,
                "commandLists": command_lists,
            }
        ],
        "composeExtensions": [
            {
                "botId": app_id.lower(),
                "commands": copy.deepcopy(list(EXTENSION_COMMANDS)),
                "messageHandlers": [{"type": "link", "value": {"domains": list(LINK_DOMAINS)}}],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        # Replies in the thread of a feedback item's or an alert's post reach the bot without a
        # mention (resource-specific consent, granted by the team's owner at install). Teams asks for
        # webApplicationInfo beside it; its resource is not used by this permission.
        "webApplicationInfo": {"id": app_id.lower(), "resource": RSC_RESOURCE},
        "authorization": {
            "permissions": {
                "resourceSpecific": [{"name": "ChannelMessage.Read.Group", "type": "Application"}]
            }
        },
        "validDomains": [*([domain] if domain else []), *LINK_DOMAINS],
    }


def build_package(manifest: dict[str, Any]) -> bytes:
    """The zip Teams accepts: manifest.json and the two icons at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        archive.writestr(manifest["icons"]["color"], color_icon())
        archive.writestr(manifest["icons"]["outline"], outline_icon())
    return buffer.getvalue()
