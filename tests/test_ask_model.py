"""Reading questions with a language model, over real HTTP against a fake chat-completions endpoint: a good
answer becomes Touchpoint's own filter (a person's name mapped to their id), and every kind of failure
(a hang, an error status, an answer out of shape, a person no one is called) falls back to the
deterministic reader with a note saying so. The key and the question never reach the log."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import fields
from datetime import date
from typing import Any

import aiohttp
import jsonschema
import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from adapters.checks.settings import settings_problems
from bot.ask.filter import Filter, Owner, Trend, filter_to_dict
from bot.ask.model_answer import person_named
from bot.ask.model_prompt import ANSWER_SCHEMA, SCHEMA_NAME
from bot.ask.model_reader import FALLBACK_NOTES, ModelReader, model_reader_from
from bot.ask.reader import Reading, Vocabulary, read_question
from bot.settings import Settings
from tests.fakes.chat_completions import FakeChatCompletions
from tests.fakes.chat_completions import fake as fake  # the fixture

KEY = "sk-test-7f3a9c2e1b5d4a60e8"
VOCABULARY = Vocabulary(
    today=date(2026, 11, 25),
    people={
        "Maya Chen": 3,
        "Leo Park": 4,
        "Priya Raman": 5,
        "Jonas Weber": 1,
        "Olga Ivanova": 2,
        "Sam Rivera": 6,
    },
    segments=("Enterprise", "Mid-Market", "SMB"),
    tiers=("Gold", "Silver", "Bronze"),
)
QUESTION = "which of leo prak's entreprise accounts renew next month and are red?"


def reader_for(fake: FakeChatCompletions, **options: Any) -> ModelReader:
    values: dict[str, Any] = {"base_url": fake.url, "model": "gpt-4o-mini", "api_key": KEY, **options}
    return ModelReader(**values)


def strict_answer(**values: Any) -> dict[str, Any]:
    """An answer as strict Structured Outputs write it: every field present, null unless given."""
    return {name: values.get(name) for name in ANSWER_SCHEMA["properties"]}


GOOD = strict_answer(
    owner={"kind": "person", "name": "Leo Prak"},
    bands=["red"],
    renewal_from="2026-12-01",
    renewal_to="2026-12-31",
    segments=["enterprise"],
    detractor=False,
)
GOOD_FILTER = Filter(
    owner=Owner("person", 4, "Leo Park"),
    bands=frozenset({"red"}),
    renewal_from=date(2026, 12, 1),
    renewal_to=date(2026, 12, 31),
    segments=frozenset({"Enterprise"}),
)


def fell_back(reading: Reading, question: str, kind: str) -> bool:
    """``reading`` is the deterministic reader's, with the note for ``kind`` first."""
    plain = read_question(question, VOCABULARY)
    return (
        reading.filter == plain.filter
        and reading.unknown == plain.unknown
        and reading.notes == (FALLBACK_NOTES[kind], *plain.notes)
    )


# --------------------------------------------------------------------------------------- good answers


async def test_a_good_answer_becomes_the_filter_with_the_person_found_by_name(
    fake: FakeChatCompletions,
) -> None:
    fake.answer(GOOD)
    reading = await reader_for(fake).read(QUESTION, VOCABULARY)
    assert reading == Reading(filter=GOOD_FILTER)
    assert len(fake.requests) == 1


async def test_a_fenced_answer_that_leaves_fields_out_is_read(fake: FakeChatCompletions) -> None:
    content = {
        "owner": {"kind": "me"},
        "trend": {"direction": "down", "points": 10, "days": 30},
        "aggregate": "arr",
        "tiers": ["gold"],
    }
    fake.answer("```json\n" + json.dumps(content, indent=2) + "\n```")
    reading = await reader_for(fake).read("how much ARR in my gold accounts that fell 10 points?", VOCABULARY)
    assert reading.filter == Filter(
        owner=Owner("me"), trend=Trend("down", 10.0, 30), aggregate="arr", tiers=frozenset({"Gold"})
    )
    assert reading.notes == ()


@pytest.mark.parametrize(
    ("typed", "person"),
    [
        ("Leo Prak", ("Leo Park", 4)),
        ("Lео Prak", ("Leo Park", 4)),  # Cyrillic е and о
        ("Leos", ("Leo Park", 4)),
        ("Leo's", ("Leo Park", 4)),
        ("leo park", ("Leo Park", 4)),
        ("Park Leo", ("Leo Park", 4)),
        ("Park", ("Leo Park", 4)),
        ("Priya", ("Priya Raman", 5)),
        ("Maya Chn", ("Maya Chen", 3)),
        ("Olga Ivanowa", ("Olga Ivanova", 2)),
        ("Leonard", None),
        ("Sam Smith", None),
        ("Zoe", None),
        ("", None),
    ],
)
def test_people_are_found_by_name_forgiving_typos(typed: str, person: tuple[str, int] | None) -> None:
    assert person_named(typed, VOCABULARY.people) == person


def test_a_name_two_people_share_names_no_one() -> None:
    people = {"Sam Rivera": 6, "Sam Ortiz": 7}
    assert person_named("Sam", people) is None
    assert person_named("Sam Ortiz", people) == ("Sam Ortiz", 7)


async def test_a_model_refusal_is_a_refusal(fake: FakeChatCompletions) -> None:
    fake.answer({"refuse": True})
    fake.answer(strict_answer(refuse=True))
    fake.answer(strict_answer())  # nothing a filter can hold
    model = reader_for(fake)
    for _ in range(3):
        assert await model.read("email Acme about their renewal", VOCABULARY) == Reading(filter=None)
    assert len(fake.requests) == 3


# -------------------------------------------------------------------------------------- the request


async def test_the_request_carries_model_messages_key_and_schema(fake: FakeChatCompletions) -> None:
    fake.answer(GOOD)
    await reader_for(fake).read(QUESTION, VOCABULARY)
    [sent] = fake.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    body = sent.body
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "schema": ANSWER_SCHEMA, "strict": True},
    }
    system, user = body["messages"]
    assert user == {"role": "user", "content": QUESTION}
    assert system["role"] == "system"
    prompt = system["content"]
    assert "Wednesday 2026-11-25" in prompt
    assert "Known segments: Enterprise, Mid-Market, SMB." in prompt
    assert "Known tiers: Gold, Silver, Bronze." in prompt
    assert all(name in prompt for name in VOCABULARY.people)
    assert '{"refuse": true}' in prompt and "JSON only" in prompt
    assert json.dumps(ANSWER_SCHEMA, separators=(",", ":")) in prompt
    assert QUESTION not in prompt


async def test_without_a_key_no_authorization_is_sent(fake: FakeChatCompletions) -> None:
    fake.answer(GOOD)
    model = ModelReader(base_url=fake.url + "/", model="llama3.1", api_key=None)
    assert (await model.read(QUESTION, VOCABULARY)).filter == GOOD_FILTER
    assert "Authorization" not in fake.requests[0].headers


async def test_an_endpoint_without_structured_outputs_is_asked_in_json_mode(
    fake: FakeChatCompletions,
) -> None:
    fake.fail(400)
    fake.answer(GOOD)
    fake.answer(GOOD)
    model = reader_for(fake)
    assert (await model.read(QUESTION, VOCABULARY)).filter == GOOD_FILTER
    assert (await model.read(QUESTION, VOCABULARY)).filter == GOOD_FILTER
    first, retried, later = (r.body for r in fake.requests)
    assert first["response_format"]["type"] == "json_schema"
    for body in (retried, later):
        assert body["response_format"] == {"type": "json_object"}
        assert "temperature" not in body
        assert json.dumps(ANSWER_SCHEMA, separators=(",", ":")) in body["messages"][0]["content"]


# ------------------------------------------------------------------------------------------ fallback


@pytest.mark.parametrize(
    "content",
    [
        strict_answer(bands=["purple"]),
        {"colour": "red"},
        strict_answer(renewal_from="01/12/2026", renewal_to="2026-12-31"),
        strict_answer(renewal_from="20261201"),
        strict_answer(owner={"kind": "person", "person_id": 4}),
        strict_answer(owner={"kind": "boss"}),
        strict_answer(segments=["Startups"]),
        strict_answer(limit=500),
        strict_answer(arr_min="100k"),
        strict_answer(score_min=80, score_max=20),
        {"refuse": "yes"},
        [GOOD],
        "red accounts renewing next month",
        '{"bands": ["red"]',
        "[" * 50_000 + "]" * 50_000,
    ],
    ids=lambda content: json.dumps(content)[:40],
)
async def test_an_answer_out_of_shape_falls_back_with_a_note(fake: FakeChatCompletions, content: Any) -> None:
    fake.answer(content)
    reading = await reader_for(fake).read(QUESTION, VOCABULARY)
    assert fell_back(reading, QUESTION, "unusable")
    assert reading.notes[0] == (
        "The language model answered in a form Touchpoint could not use; read without it."
    )


async def test_a_person_no_one_is_called_falls_back(fake: FakeChatCompletions) -> None:
    fake.answer(strict_answer(owner={"kind": "person", "name": "Leonard Cohen"}))
    reading = await reader_for(fake).read("which of Leonard's accounts are red?", VOCABULARY)
    assert fell_back(reading, "which of Leonard's accounts are red?", "unknown_person")


async def test_a_hang_falls_back_within_about_the_timeout(fake: FakeChatCompletions) -> None:
    fake.hang()
    started = time.monotonic()
    reading = await reader_for(fake, timeout=0.3).read(QUESTION, VOCABULARY)
    assert time.monotonic() - started < 5  # a sanity bound, not a measurement
    assert fell_back(reading, QUESTION, "timeout")
    assert reading.notes[0] == "The language model did not answer in time; read without it."


@pytest.mark.parametrize(
    ("status", "kind"), [(500, "server_error"), (503, "server_error"), (404, "rejected")]
)
async def test_an_error_status_falls_back(fake: FakeChatCompletions, status: int, kind: str) -> None:
    fake.fail(status)
    reading = await reader_for(fake).read(QUESTION, VOCABULARY)
    assert fell_back(reading, QUESTION, kind)


async def test_a_refused_key_falls_back(fake: FakeChatCompletions) -> None:
    fake.require_key = "sk-the-right-one"
    reading = await reader_for(fake).read(QUESTION, VOCABULARY)
    assert fell_back(reading, QUESTION, "unauthorized")


async def test_a_declining_model_falls_back(fake: FakeChatCompletions) -> None:
    fake.decline()
    assert fell_back(await reader_for(fake).read(QUESTION, VOCABULARY), QUESTION, "declined")


async def test_an_oversized_answer_falls_back(fake: FakeChatCompletions) -> None:
    fake.answer("x" * 300_000)
    assert fell_back(await reader_for(fake).read(QUESTION, VOCABULARY), QUESTION, "unusable")


async def test_an_unreachable_endpoint_falls_back() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = ModelReader(base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key=None)
    assert fell_back(await model.read(QUESTION, VOCABULARY), QUESTION, "unreachable")


async def test_a_fault_of_its_own_falls_back_too() -> None:
    def broken() -> aiohttp.ClientSession:
        raise RuntimeError("no session today")

    model = ModelReader(base_url="http://127.0.0.1:9/v1", model="m", api_key=None, session_factory=broken)
    with capture_logs() as logs:
        assert fell_back(await model.read(QUESTION, VOCABULARY), QUESTION, "failed")
    assert [(line["outcome"], line["log_level"], line["error"]) for line in logs] == [
        ("failed", "error", "RuntimeError")
    ]


async def test_a_rate_limit_leaves_the_model_alone_for_retry_after(fake: FakeChatCompletions) -> None:
    now = [1000.0]
    model = reader_for(fake, clock=lambda: now[0])
    fake.fail(429, retry_after="20")
    assert fell_back(await model.read(QUESTION, VOCABULARY), QUESTION, "rate_limited")
    now[0] += 19
    assert fell_back(await model.read(QUESTION, VOCABULARY), QUESTION, "rate_limited")
    assert len(fake.requests) == 1  # not asked while it asked to be left alone
    now[0] += 2
    fake.answer(GOOD)
    assert (await model.read(QUESTION, VOCABULARY)).filter == GOOD_FILTER
    assert len(fake.requests) == 2


# ---------------------------------------------------------------------------------------------- logs


async def test_the_log_holds_outcome_and_latency_never_the_key_or_question(
    fake: FakeChatCompletions,
) -> None:
    model = reader_for(fake)
    with capture_logs() as logs:
        fake.answer(GOOD)
        await model.read(QUESTION, VOCABULARY)
        fake.answer({"colour": "red"})
        await model.read(QUESTION, VOCABULARY)
        fake.require_key = "sk-another-key-entirely"
        await model.read(QUESTION, VOCABULARY)
    assert [line["outcome"] for line in logs] == ["answered", "unusable", "unauthorized"]
    assert [line["log_level"] for line in logs] == ["info", "warning", "warning"]
    assert all(isinstance(line["latency_ms"], int) for line in logs)
    assert logs[2]["status"] == 401 and logs[2]["error_code"] == "invalid_api_key"
    text = repr(logs)
    assert KEY not in text and KEY[-4:] not in text and "Incorrect API key" not in text
    assert QUESTION not in text and "prak" not in text.lower()
    assert KEY not in repr(model)


# -------------------------------------------------------------------------------- schema and settings


def _objects(schema: Any) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        found = [schema] if schema.get("type") == "object" else []
        return found + [o for value in schema.values() for o in _objects(value)]
    if isinstance(schema, list):
        return [o for item in schema for o in _objects(item)]
    return []


def test_the_schema_is_the_filter_fields_in_strict_form() -> None:
    jsonschema.Draft202012Validator.check_schema(ANSWER_SCHEMA)
    assert list(ANSWER_SCHEMA["properties"]) == ["refuse", *(spec.name for spec in fields(Filter))]
    for node in _objects(ANSWER_SCHEMA):
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    jsonschema.validate(GOOD, ANSWER_SCHEMA)
    jsonschema.validate(strict_answer(refuse=True), ANSWER_SCHEMA)


def test_every_filter_written_as_the_model_would_fits_the_schema() -> None:
    full = Filter(
        owner=Owner("person", 4, "Leo Park"),
        bands=frozenset({"red", "yellow"}),
        score_min=10.0,
        score_max=60.0,
        trend=Trend("down", 10.0, 30),
        renewal_from=date(2026, 12, 1),
        renewal_to=date(2026, 12, 31),
        arr_min=100000.0,
        arr_max=2e6,
        segments=frozenset({"Enterprise"}),
        tiers=frozenset({"Gold"}),
        stages=frozenset({"renewing"}),
        detractor=True,
        open_feedback=True,
        overdue_milestones=True,
        overdue_followups=True,
        outcomes_at_risk=True,
        untouched_days=30,
        sort="arr_desc",
        limit=5,
        aggregate="count",
    )
    written = filter_to_dict(full)
    written["owner"] = {"kind": "person", "name": "Leo Park"}  # a name, never an id
    answer = strict_answer(**written)
    jsonschema.validate(answer, ANSWER_SCHEMA)
    assert set(written) == {spec.name for spec in fields(Filter)}


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_settings_make_a_reader_only_with_an_endpoint() -> None:
    assert model_reader_from(settings()) is None
    model = model_reader_from(
        settings(llm_url="http://localhost:11434/v1/", llm_model="llama3.1", llm_api_key=KEY)
    )
    assert model is not None
    assert model.url == "http://localhost:11434/v1/chat/completions"
    assert model.model == "llama3.1" and model.timeout == 2.0
    assert KEY not in repr(model)
    assert settings(llm_url=" ", llm_model="", llm_api_key="").llm_url is None


@pytest.mark.parametrize(
    ("values", "line"),
    [
        (
            {"llm_url": "https://api.openai.com/v1"},
            "TOUCHPOINT_LLM_MODEL: needed when TOUCHPOINT_LLM_URL is set; write the model's name as the "
            "endpoint knows it, e.g. gpt-4o-mini or llama3.1",
        ),
        (
            {"llm_url": "api.openai.com/v1?key=secret", "llm_model": "gpt-4o-mini"},
            "TOUCHPOINT_LLM_URL: not an http or https URL; write the API root, e.g. "
            "https://api.openai.com/v1 or http://localhost:11434/v1",
        ),
    ],
)
def test_llm_settings_that_cannot_work_say_what_to_write(values: dict[str, str], line: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**values)
    assert settings_problems(caught.value) == [line]
