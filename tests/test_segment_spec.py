"""Reading Segment Spec calls: Segment's documented payloads, batches, and every malformed call named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from adapters.connectors.segment.spec import (
    CALL_TYPES,
    MAX_CALL_BYTES,
    MAX_ID_CHARS,
    MAX_MESSAGE_ID_CHARS,
    SpecCall,
    SpecProblem,
    parse_calls,
    timestamp_of,
)

FIXTURES = Path(__file__).parent / "fixtures" / "segment"
RECEIVED = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
# Calls as Segment delivers them (the Spec pages' complete examples, and a batch of them).
DELIVERED = {
    "identify.json": ["identify"],
    "group.json": ["group"],
    "track.json": ["track"],
    "page.json": ["page"],
    "screen.json": ["screen"],
    "alias.json": ["alias"],
    "common_fields.json": ["track"],
    "actions_webhook_batch.json": ["identify", "group", "track", "page"],
}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def parse(payload: Any) -> tuple[list[SpecCall], list[SpecProblem]]:
    return parse_calls(payload, received=RECEIVED)


def one(payload: dict[str, Any]) -> SpecCall:
    calls, problems = parse(payload)
    assert problems == []
    assert len(calls) == 1
    return calls[0]


def spots(problems: list[SpecProblem]) -> list[tuple[int | None, str | None]]:
    return [(p.index, p.field) for p in problems]


def call(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "track", "event": "Report Submitted", "messageId": "m-1", "userId": "u-1"}
    return base | fields


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("name", sorted(DELIVERED))
def test_every_delivered_fixture_parses(name: str) -> None:
    calls, problems = parse(fixture(name))
    assert problems == []
    assert [c.type for c in calls] == DELIVERED[name]
    for c in calls:
        assert c.happened_at.tzinfo is UTC


def test_every_fixture_is_listed_with_its_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    names = sorted(path.name for path in FIXTURES.glob("*.json"))
    assert names == sorted([*DELIVERED, "http_api_batch.json", "functions_on_batch.json"])
    for name in names:
        assert f"`{name}`" in sources


def test_the_spec_examples_read_as_documented() -> None:
    identify = one(fixture("identify.json"))
    assert (identify.user, identify.user_id, identify.message_id) == (
        "97980cfea0067",
        "97980cfea0067",
        "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    )
    assert identify.traits["name"] == "Peter Gibbons"
    assert identify.properties == {}
    assert identify.happened_at == at("2015-02-23T22:28:55.111Z")

    group = one(fixture("group.json"))
    assert group.group_id == "0e8c78ea9d97a7b8185e8632"
    assert group.traits["employees"] == 329
    assert group.event is None

    track = one(fixture("track.json"))
    assert (track.event, track.user, track.properties["title"]) == (
        "Course Clicked",
        "AiUGstSDIg",
        "Intro to Analytics",
    )
    # timestamp wins over originalTimestamp (2015-12-12T19:11:01.152Z) and receivedAt
    assert track.happened_at == at("2015-12-12T19:11:01.249Z")
    assert track.group_id is None
    assert track.traits == {}

    page = one(fixture("page.json"))
    assert (page.event, page.properties["url"]) == ("Home", "http://www.example.com")
    screen = one(fixture("screen.json"))
    assert (screen.event, screen.properties["variation"]) == ("Home", "blue signup button")

    alias = one(fixture("alias.json"))
    assert (alias.user, alias.user_id, alias.previous_id) == (
        "507f191e81",
        "507f191e81",
        "39239-239239-239239-23923",
    )


def test_context_group_id_is_picked_up_on_a_track_call() -> None:
    track = one(fixture("common_fields.json"))
    assert (track.event, track.group_id, track.user) == ("Report Submitted", "12345", "97980cfea0067")


def test_a_group_call_names_its_own_group_not_the_context_one() -> None:
    group = fixture("group.json")
    group["context"]["groupId"] = "somewhere-else"
    assert one(group).group_id == "0e8c78ea9d97a7b8185e8632"


def test_a_batch_gives_its_calls_in_order_and_keeps_duplicates() -> None:
    calls, problems = parse(fixture("actions_webhook_batch.json"))
    assert problems == []
    assert [(c.type, c.user) for c in calls] == [
        ("identify", "97980cfea0067"),
        ("group", "97980cfea0067"),
        ("track", "AiUGstSDIg"),
        ("page", "97980cfea0067"),
    ]
    # The Spec's examples share one messageId: all three come back, the caller tells them apart.
    assert [c.message_id for c in calls].count("022bb90c-bbac-11e4-8dfc-aa07a5b093db") == 3

    twice, problems = parse([fixture("track.json"), fixture("track.json")])
    assert problems == []
    assert twice[0] == twice[1]


def test_the_tracking_api_batch_as_documented_lacks_what_segment_adds() -> None:
    """The HTTP API's example is what a sender posts to Segment: no messageId (Segment adds one) and two
    dates that are not ISO-8601 ("2015-2-02"): every problem is listed at once, with its index."""
    calls, problems = parse(fixture("http_api_batch.json"))
    assert calls == []
    assert spots(problems) == [
        (0, "messageId"),
        (1, "messageId"),
        (2, "messageId"),
        (2, "timestamp"),
        (3, "messageId"),
        (3, "timestamp"),
    ]
    needs = "missing: every call needs a messageId (Segment sets one; a Function must too)"
    assert problems[0].problem == needs
    assert "2015-2-02T00:30:08.276Z" in problems[3].problem


def test_the_tracking_api_batch_once_completed_parses_with_its_context_merged() -> None:
    payload = fixture("http_api_batch.json")
    for position, item in enumerate(payload["batch"]):
        item["messageId"] = f"m-{position}"
        item["timestamp"] = item["timestamp"].replace("2015-2-02", "2015-02-02")
    payload["context"]["groupId"] = "acme"
    payload["batch"][1]["context"] = {"groupId": "initech"}
    calls, problems = parse(payload)
    assert problems == []
    assert [(c.type, c.user, c.event) for c in calls] == [
        ("identify", "019mr8mf4r", None),
        ("track", "019mr8mf4r", "Song Played"),
        ("identify", "971mj8mk7p", None),
        ("track", "971mj8mk7p", "Song Played"),
    ]
    # the top-level context reaches every call; a call's own context.groupId wins
    assert [c.group_id for c in calls] == ["acme", "initech", "acme", "acme"]
    assert calls[3].happened_at == at("2015-02-02T00:30:12.984Z")


def test_a_functions_batch_is_a_bare_array_and_needs_message_ids() -> None:
    calls, problems = parse(fixture("functions_on_batch.json"))
    assert calls == []
    assert spots(problems) == [(0, "messageId"), (1, "messageId"), (2, "messageId")]
    completed = [dict(item, messageId=f"m-{n}") for n, item in enumerate(fixture("functions_on_batch.json"))]
    calls, problems = parse(completed)
    assert problems == []
    assert [c.event for c in calls] == [None, "Song Played", "Song Played"]
    assert all(c.happened_at == RECEIVED for c in calls)


def test_every_malformed_call_of_a_batch_is_named() -> None:
    batch = [
        call(),
        "not a call",
        call(type="delete"),
        call(event=None),
        call(type="group", groupId=None),
        call(userId=None),
        call(timestamp="yesterday"),
        call(messageId=None, userId=["u"], originalTimestamp=1700000000),
        call(type=None, properties="plan=pro"),
        call(type="identify", traits=[1, 2]),
        call(type="alias", userId=None, anonymousId="a-1"),
        call(),
    ]
    calls, problems = parse({"batch": batch})
    assert [c.message_id for c in calls] == ["m-1", "m-1"]
    assert spots(problems) == [
        (1, None),
        (2, "type"),
        (3, "event"),
        (4, "groupId"),
        (5, "userId"),
        (6, "timestamp"),
        (7, "messageId"),
        (7, "userId"),
        (7, "originalTimestamp"),
        (8, "type"),
        (9, "traits"),
        (10, "userId"),
        (10, "previousId"),
    ]
    text = {spot: p.problem for spot, p in zip(spots(problems), problems, strict=True)}
    assert text[(2, "type")].startswith("unknown: type 'delete'")
    assert text[(5, "userId")].startswith("missing: every call needs a userId or an anonymousId")
    assert text[(7, "userId")] == "wrong type: userId must be a string (or a whole number), not an array"
    # properties of a call without a type are not looked at: its type is the problem
    assert (8, "properties") not in text


def test_a_single_calls_problems_have_no_index() -> None:
    calls, problems = parse(call(messageId="", event=""))
    assert calls == []
    assert spots(problems) == [(None, "messageId"), (None, "event")]


@pytest.mark.parametrize(
    ("payload", "field", "start"),
    [
        ("a string", None, "not Spec calls"),
        (None, None, "not Spec calls"),
        ([], None, "empty"),
        ({"batch": []}, "batch", "empty"),
        ({"batch": {"type": "track"}}, "batch", "wrong type"),
    ],
)
def test_envelope_problems(payload: Any, field: str | None, start: str) -> None:
    calls, problems = parse(payload)
    assert calls == []
    assert spots(problems) == [(None, field)]
    assert problems[0].problem.startswith(start)


def test_a_batch_context_that_is_not_an_object_is_refused() -> None:
    calls, problems = parse({"batch": [call()], "context": "web"})
    assert spots(problems) == [(None, "context")]
    assert len(calls) == 1  # the caller refuses the request anyway


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-12-10T04:08:31.905Z", "2015-12-10T04:08:31.905000+00:00"),
        ("2024-03-10T09:30:00+02:00", "2024-03-10T07:30:00+00:00"),
        ("2024-03-10T09:30:00.5-0800", "2024-03-10T17:30:00.500000+00:00"),
        ("2024-03-10T23:30+05", "2024-03-10T18:30:00+00:00"),
        ("2024-03-10t00:15:00.123456789z", "2024-03-10T00:15:00.123456+00:00"),
        ("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00+00:00"),
    ],
)
def test_timestamps_with_offsets_are_normalised_to_utc(text: str, expected: str) -> None:
    moment = timestamp_of(text)
    assert moment is not None
    assert moment.tzinfo is UTC
    assert moment.isoformat() == expected


@pytest.mark.parametrize(
    "value",
    [
        "2015-2-02T00:30:08.276Z",  # the HTTP API page's own example: not ISO-8601
        "2024-03-10T09:30:00",  # no zone
        "2024-03-10",
        "2024-03-10 09:30:00Z",
        "20240310T093000Z",
        "2024-13-01T00:00:00Z",
        "2024-03-10T24:00:00Z",
        "2024-03-10T09:30:00+24:00",
        "2024-03-10T09:30:00Z trailing",
        "",
        1700000000,
        None,
    ],
)
def test_what_is_not_a_timestamp(value: Any) -> None:
    assert timestamp_of(value) is None


def test_the_time_of_a_call_falls_back_in_the_documented_order() -> None:
    both = call(timestamp="2024-05-01T10:00:00Z", originalTimestamp="2024-05-01T09:00:00Z")
    assert one(both).happened_at == at("2024-05-01T10:00:00Z")
    original = call(originalTimestamp="2024-05-01T09:00:00+01:00", receivedAt="2024-05-01T09:00:05Z")
    assert one(original).happened_at == at("2024-05-01T08:00:00Z")
    assert one(call(receivedAt="2024-05-01T09:00:05Z")).happened_at == at("2024-05-01T09:00:05Z")
    assert one(call(timestamp=None)).happened_at == RECEIVED


def test_received_in_another_zone_is_given_back_in_utc_and_must_be_aware() -> None:
    paris = timezone(timedelta(hours=2))
    calls, _ = parse_calls(call(), received=datetime(2024, 5, 6, 14, 0, tzinfo=paris))
    assert calls[0].happened_at == RECEIVED
    assert calls[0].happened_at.tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        parse_calls(call(), received=datetime(2024, 5, 6, 12, 0))


def test_an_anonymous_only_user_works() -> None:
    anonymous = one(call(userId=None, anonymousId="507f191e810c19729de860ea"))
    assert (anonymous.user, anonymous.user_id) == ("507f191e810c19729de860ea", None)
    blank = one(call(userId="  ", anonymousId="a-1"))
    assert (blank.user, blank.user_id) == ("a-1", None)
    both = one(call(userId="u-1", anonymousId="a-1"))
    assert (both.user, both.user_id) == ("u-1", "u-1")


def test_whole_numbers_as_ids_become_strings() -> None:
    track = one(call(messageId=981, userId=42, context={"groupId": 7}))
    assert (track.message_id, track.user, track.user_id, track.group_id) == ("981", "42", "42", "7")
    group = one(call(type="group", groupId=1234567890123, userId=None, anonymousId=0))
    assert (group.group_id, group.user, group.user_id) == ("1234567890123", "0", None)


@pytest.mark.parametrize("value", [True, 4.5, {"id": 1}])
def test_other_kinds_of_ids_are_refused(value: Any) -> None:
    calls, problems = parse(call(userId=value))
    assert calls == []
    assert spots(problems) == [(None, "userId")]
    assert problems[0].problem.startswith("wrong type")


def test_long_fields_are_refused() -> None:
    calls, problems = parse(
        [
            call(messageId="m" * MAX_MESSAGE_ID_CHARS, userId="u" * MAX_ID_CHARS),
            call(messageId="m" * (MAX_MESSAGE_ID_CHARS + 1)),
            call(userId="u" * (MAX_ID_CHARS + 1)),
            call(context={"groupId": "g" * (MAX_ID_CHARS + 1)}),
            call(event="e" * 256),
        ]
    )
    assert len(calls) == 1
    assert spots(problems) == [(1, "messageId"), (2, "userId"), (3, "context.groupId"), (4, "event")]
    assert problems[0].problem == "too long: messageId has 101 characters, at most 100"


def test_a_call_over_segments_size_limit_is_refused() -> None:
    fits = call(properties={"note": "x" * (MAX_CALL_BYTES - 200)})
    assert one(fits).properties["note"].startswith("x")
    too_large = call(properties={"note": "é" * (MAX_CALL_BYTES // 2)})  # two bytes each in UTF-8
    calls, problems = parse(too_large)
    assert calls == []
    assert spots(problems) == [(None, None)]
    assert problems[0].problem.startswith("too large")


def test_page_and_screen_names_are_optional() -> None:
    page = one(call(type="page", event=None))
    assert (page.event, page.properties) == (None, {})
    _, problems = parse(call(type="screen", name=12))
    assert spots(problems) == [(None, "name")]


def test_the_call_is_not_tied_to_the_payload() -> None:
    payload = call(properties={"plan": "pro"})
    track = one(payload)
    payload["properties"]["plan"] = "free"
    assert track.properties == {"plan": "pro"}
    with pytest.raises(TypeError):
        track.properties["plan"] = "free"  # type: ignore[index]


def test_call_types_are_the_specs() -> None:
    assert CALL_TYPES == ("identify", "group", "track", "page", "screen", "alias")
    for kind in CALL_TYPES:
        assert one(call(type=kind, groupId="g-1", previousId="p-1", name="Home")).type == kind
