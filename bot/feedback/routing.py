"""Where a feedback item goes: the team channels, the tags that send CS feedback to CX, and the rule that
picks the recipient.

- CX -> CS about an account: to the account's owner (a DM), and to the CS channel when one is set.
  Without an account, or an account without an owner, to the CS channel.
- CS -> CX: to the CX channel when a tag is one of the CX tags, when there is no account, or when the
  account has no other owner; otherwise (a CS note about someone else's account) to the account's owner.
- Urgent items also go to the recipient's manager. An item whose text is strongly negative (its tone,
  :mod:`bot.feedback.sentiment`, at or below ``Routing.strongly_negative``) is urgent whatever the sender
  chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.feedback.config import load_feedback_config
from bot.feedback.sentiment import STRONGLY_NEGATIVE
from bot.types import Address, Platform
from storage.models import Role

CX_TEAM = "cx"


CS_TEAM = "cs"


DEFAULT_CX_TAGS = frozenset({"bug", "process", "docs", "product"})


MAX_TAGS = 10


MAX_TAG_LENGTH = 40


@dataclass(frozen=True)
class Routing:
    """Where feedback goes: team channels as ``slack:C123`` or ``teams:19:abc@thread.tacv2``."""

    cs_channel: str | None
    cx_channel: str | None
    cs_to_cx_tags: frozenset[str] = DEFAULT_CX_TAGS
    strongly_negative: float = STRONGLY_NEGATIVE  # a text's tone at or below this makes the item urgent


def routing_from_settings(settings: Any) -> Routing:
    """Where feedback goes: the ``[feedback]`` table of touchpoint.toml, else the environment settings."""
    config = load_feedback_config(settings)
    return Routing(
        cs_channel=config.cs_channel,
        cx_channel=config.cx_channel,
        cs_to_cx_tags=frozenset(normalise_tags(config.cx_tags)),
        strongly_negative=config.strongly_negative,
    )


def channel_address(channel: str | None) -> Address | None:
    """``slack:C123`` or ``teams:19:...`` as an address; None for anything else."""
    if not channel or ":" not in channel:
        return None
    platform_name, target = channel.split(":", 1)
    try:
        platform = Platform(platform_name.strip().lower())
    except ValueError:
        return None
    if platform is Platform.CONSOLE or not target.strip():
        return None
    return Address(platform=platform, target=target.strip(), private=False)


def normalise_tags(tags: Sequence[str] | None) -> list[str]:
    """Lower case, without ``#``, each once, in order."""
    seen: list[str] = []
    for raw in tags or ():
        tag = raw.strip().lstrip("#").strip().lower()[:MAX_TAG_LENGTH]
        if tag and tag not in seen:
            seen.append(tag)
    return seen[:MAX_TAGS]


def team_of(role: str | None) -> str:
    """CX people speak for CX; everyone else (CSMs, their managers, admins) for CS."""
    return CX_TEAM if role == Role.CX.value else CS_TEAM


@dataclass(frozen=True, slots=True)
class Route:
    recipient_id: int | None
    recipient_channel: str | None


def pick_route(
    *,
    originator_id: int | None,
    team: str,
    owner_id: int | None,
    has_account: bool,
    tags: list[str],
    routing: Routing,
) -> Route:
    if team == CX_TEAM:
        return Route(recipient_id=owner_id, recipient_channel=routing.cs_channel)
    to_cx = (
        not has_account
        or bool(set(tags) & routing.cs_to_cx_tags)
        or owner_id is None
        or owner_id == originator_id
    )
    if to_cx:
        return Route(recipient_id=None, recipient_channel=routing.cx_channel)
    return Route(recipient_id=owner_id, recipient_channel=None)


MAX_TEXT = 3000
