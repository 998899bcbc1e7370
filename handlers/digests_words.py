"""The words of ``digest subscribe``: which recipient, cadence, time, time zone and scope they ask for
(in any order), and the segment or person a word names."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import BadArguments, NotFound
from storage.models import Account, DigestCadence, DigestScope, Person

USAGE = (
    "`digest subscribe [here|@person|me] [daily|weekdays|weekly DAY] [HH:MM] [TIMEZONE] "
    "[team|mine|SEGMENT]`, `digest list`, `digest unsubscribe ID`, `digest preview [ID]`"
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"(\d{1,2})[:.h](\d{2})")
_TIME_LIKE = re.compile(r"\d{1,2}[:.h]\d*|\d{1,2}(am|pm)", re.IGNORECASE)
_SLACK_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", re.IGNORECASE)


@dataclass
class SubscribeWords:
    """What the words of ``digest subscribe`` asked for; None where they left the default."""

    target: str | None = None  # "here", "me" or "person"
    person: str | None = None  # an email or a Slack mention, when target is "person"
    cadence: DigestCadence | None = None
    weekday: int | None = None
    at_time: str | None = None
    timezone: str | None = None
    scope: DigestScope | None = None
    segment: str | None = None  # as typed; checked against the accounts' segments later


@cache
def _zones() -> dict[str, str]:
    """Known IANA time zone names by their lower-case spelling."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def weekday_number(word: str) -> int | None:
    """0 for "mon"/"monday" ... 6 for "sun"/"sunday"; None for anything else."""
    word = word.lower()
    if len(word) < 3:
        return None
    return next((i for i, name in enumerate(WEEKDAYS) if name.startswith(word)), None)


def parse_time(word: str) -> str:
    """ "9:30" -> "09:30"; anything that is not a time of day is a user error."""
    match = _TIME.fullmatch(word)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise BadArguments(f"“{word}” is not a time of day. Use 24-hour HH:MM, like 09:00 or 17:30.")
    return f"{int(match[1]):02d}:{match[2]}"


def parse_subscribe(words: tuple[str, ...]) -> SubscribeWords:
    """Classify the words of ``digest subscribe``; the order does not matter."""
    spec = SubscribeWords()

    def once(attribute: str, value: object, word: str) -> None:
        if getattr(spec, attribute) is not None:
            raise BadArguments(f"“{word}”: give only one {attribute.replace('_', ' ')}.")
        setattr(spec, attribute, value)

    queue = list(words)
    while queue:
        word = queue.pop(0)
        lower = word.lower()
        if lower in ("here", "channel"):
            once("target", "here", word)
        elif lower == "me":
            once("target", "me", word)
        elif _SLACK_MENTION.fullmatch(word) or "@" in word:
            once("target", "person", word)
            spec.person = word
        elif lower in ("daily", "weekdays"):
            once("cadence", DigestCadence(lower), word)
        elif lower == "weekly":
            once("cadence", DigestCadence.WEEKLY, word)
            day = weekday_number(queue[0]) if queue else None
            if day is None:
                given = f" “{queue[0]}” is not a weekday." if queue else ""
                raise BadArguments(
                    f"Which day?{given} Use `weekly monday` (monday to sunday, or mon to sun)."
                )
            queue.pop(0)
            once("weekday", day, word)
        elif weekday_number(lower) is not None and spec.weekday is None:
            # "monday" alone means weekly on Mondays.
            once("cadence", DigestCadence.WEEKLY, word)
            spec.weekday = weekday_number(lower)
        elif _TIME_LIKE.fullmatch(word):
            once("at_time", parse_time(word), word)
        elif lower in _zones():
            once("timezone", _zones()[lower], word)
        elif "/" in word:
            raise BadArguments(
                f"Unknown time zone “{word}”. Use a name like Europe/Berlin, America/New_York or UTC."
            )
        elif lower in ("team", "mine"):
            once("scope", DigestScope(lower), word)
        else:
            if spec.segment is not None:
                raise BadArguments(f"I don't understand “{word}”. Use {USAGE}.")
            once("scope", DigestScope.SEGMENT, word)
            spec.segment = word
    if spec.weekday is not None and spec.cadence is not DigestCadence.WEEKLY:
        raise BadArguments("A day of the week goes with `weekly`, like `weekly monday`.")
    return spec


async def segment_named(session: AsyncSession, typed: str) -> str:
    """The segment as the accounts spell it; an unknown one is a user error listing the known ones."""
    known = sorted(
        s
        for s in (await session.execute(select(Account.segment).distinct())).scalars()
        if s is not None and s.strip()
    )
    match = next((s for s in known if s.lower() == typed.lower()), None)
    if match is not None:
        return match
    if known:
        raise BadArguments(
            f"Unknown segment “{typed}”. Known segments: {', '.join(known)}. Or use `team` or `mine`."
        )
    raise BadArguments(f"Unknown segment “{typed}”: no account has a segment yet. Use `team` or `mine`.")


async def person_named(session: AsyncSession, typed: str) -> Person:
    mention = _SLACK_MENTION.fullmatch(typed)
    if mention is not None:
        found = (
            await session.execute(select(Person).where(Person.slack_user_id == mention[1].upper()))
        ).scalar_one_or_none()
        if found is None:
            raise NotFound("I don't know that Slack user in Touchpoint yet. Give their email instead.")
        return found
    email = typed.lstrip("@").strip().lower()
    if "@" not in email:
        raise BadArguments(f"“{typed}”: give the person's email, like `@maya@example.com`, or mention them.")
    found = (await session.execute(select(Person).where(Person.email == email))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"No one in Touchpoint has the email {email}.")
    return found
