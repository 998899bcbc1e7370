"""Posting outbox messages to Microsoft Teams for the delivery worker.

An address target ``person:{id}`` is a person's personal chat with Touchpoint; any other target is a
stored conversation id (a channel or a group chat). Each send is tried once: what Teams says goes
back to the worker as a :class:`bot.delivery.DeliveryError` at once, and the outbox is the one place
that retries. No conversation to post to is permanent, a 429 carries its Retry-After, a 5xx or a
network error is worth another try later (and may have been posted: Teams offers no way to check, so
the retry posts again). A living message is rewritten in place (:meth:`TeamsSender.edit`).
"""

from __future__ import annotations

from typing import Protocol

from adapters.teams.delivery import TeamsDeliveryError, TeamsHeld, TeamsUnreachable
from bot.delivery import DeliveryError
from bot.types import Address, Reply, Response

PERSON_PREFIX = "person:"


class ProactiveTeams(Protocol):
    """The part of :class:`adapters.teams.app.TeamsAdapter` the sender uses."""

    async def send_to_person(self, person_id: int, response: Response) -> str: ...

    async def send_to_conversation(self, conversation_id: str, response: Response) -> str: ...

    async def update_in_conversation(
        self, conversation_id: str, activity_id: str, response: Response
    ) -> None: ...

    async def update_for_person(self, person_id: int, activity_id: str, response: Response) -> None: ...


def person_target(person_id: int) -> str:
    """The address target of a person's personal chat."""
    return f"{PERSON_PREFIX}{person_id}"


class TeamsSender:
    def __init__(self, teams: ProactiveTeams) -> None:
        self.teams = teams

    async def send(self, address: Address, reply: Reply) -> str | None:
        try:
            person = _person_of(address)
            if person is not None:
                return await self.teams.send_to_person(person, reply) or None
            return await self.teams.send_to_conversation(address.target, reply) or None
        except TeamsDeliveryError as error:
            raise _delivery_error(error) from error

    async def edit(self, address: Address, message_id: str, reply: Reply) -> None:
        """Rewrite the activity ``message_id`` posted to ``address`` (``updateActivity``)."""
        try:
            person = _person_of(address)
            if person is not None:
                await self.teams.update_for_person(person, message_id, reply)
            else:
                await self.teams.update_in_conversation(address.target, message_id, reply)
        except TeamsDeliveryError as error:
            raise _delivery_error(error) from error


def _person_of(address: Address) -> int | None:
    if not address.target.startswith(PERSON_PREFIX):
        return None
    raw = address.target.removeprefix(PERSON_PREFIX)
    if not raw.isdigit():
        raise DeliveryError(f"teams: bad person target {address.target!r}", permanent=True)
    return int(raw)


def _delivery_error(error: TeamsDeliveryError) -> DeliveryError:
    if isinstance(error, TeamsUnreachable):
        return DeliveryError(f"teams: {error}", permanent=True)
    maybe_sent = error.status is None or error.status >= 500
    return DeliveryError(
        f"teams: {error}",
        retry_after=error.retry_after,
        permanent=error.permanent,
        maybe_sent=maybe_sent,
        untried=isinstance(error, TeamsHeld),
    )
