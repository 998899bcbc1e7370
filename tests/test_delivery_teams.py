"""TeamsSender: person targets go to the personal chat, others to the conversation; Teams' failures
become the worker's DeliveryError (unreachable is permanent, a 429 keeps its Retry-After)."""

from __future__ import annotations

import pytest

from adapters.teams.delivery import TeamsDeliveryError, TeamsUnreachable
from adapters.teams.sender import TeamsSender
from bot.delivery import DeliveryError
from bot.types import Address, Platform, Reply, Response


class StubTeams:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, object]] = []

    async def send_to_person(self, person_id: int, response: Response) -> str:
        return self._send(("person", person_id))

    async def send_to_conversation(self, conversation_id: str, response: Response) -> str:
        return self._send(("conversation", conversation_id))

    def _send(self, where: tuple[str, object]) -> str:
        if self.error is not None:
            raise self.error
        self.sent.append(where)
        return f"activity-{len(self.sent)}"


def to(target: str) -> Address:
    return Address(platform=Platform.TEAMS, target=target)


async def test_person_and_conversation_targets() -> None:
    teams = StubTeams()
    sender = TeamsSender(teams)
    assert await sender.send(to("person:42"), Reply(summary="hi")) == "activity-1"
    assert await sender.send(to("19:abc@thread.tacv2"), Reply(summary="hi")) == "activity-2"
    assert teams.sent == [("person", 42), ("conversation", "19:abc@thread.tacv2")]


@pytest.mark.parametrize(
    ("error", "permanent", "retry_after"),
    [
        (TeamsUnreachable("no chat yet"), True, None),
        (TeamsDeliveryError("throttled", status=429, retry_after=12.0), False, 12.0),
        (TeamsDeliveryError("down", status=503), False, None),
        (TeamsDeliveryError("network"), False, None),
        (TeamsDeliveryError("forbidden", status=403), True, None),
    ],
)
async def test_failures_map_to_delivery_errors(
    error: Exception, permanent: bool, retry_after: float | None
) -> None:
    with pytest.raises(DeliveryError) as raised:
        await TeamsSender(StubTeams(error)).send(to("person:1"), Reply(summary="hi"))
    assert (raised.value.permanent, raised.value.retry_after) == (permanent, retry_after)


async def test_a_malformed_person_target_is_permanent() -> None:
    with pytest.raises(DeliveryError) as raised:
        await TeamsSender(StubTeams()).send(to("person:abc"), Reply(summary="hi"))
    assert raised.value.permanent
