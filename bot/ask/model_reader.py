"""Reading a question with a language model behind any OpenAI-compatible chat-completions endpoint.

The model is asked for the filter's JSON form (:mod:`bot.ask.model_prompt`); what it answers is checked
like any other outside input (:mod:`bot.ask.model_answer`) and becomes a :class:`~bot.ask.filter.Filter`
Touchpoint builds itself, so nothing the model writes is ever shown or run as it is.

Whenever the model cannot help (no answer within ``timeout`` seconds, no connection, an error status, an
answer that is not the filter's JSON, a person no one is called) the question is read by the
deterministic reader instead, and the reading says so in its first note. A model that finds the question
cannot be expressed (``{"refuse": true}``) gives a refusal, ``Reading(filter=None)``.

The wire format, as OpenAI documents it (POST ``{api root}/chat/completions``):

- request: ``model``, ``messages`` (``{"role": "system" | "user", "content": str}``), ``temperature``,
  ``response_format``: ``{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}``
  (Structured Outputs) or the older ``{"type": "json_object"}`` (JSON mode);
  ``Authorization: Bearer <key>``.
- answer: ``choices[0].message.content`` (a string; ``message.refusal`` is set instead when the model
  declines); errors ``{"error": {"message", "type", "param", "code"}}`` with 401 for a bad key, 429 (with
  ``Retry-After``) when rate limited and 5xx for the service's own failures.

Assumed, where endpoints differ: a 400 answer means the endpoint does not take one of the options
(servers that know JSON mode but not Structured Outputs, models that take no ``temperature``), so the
question is asked once more in JSON mode without a temperature, and that form is kept from then on.
A 429 is not waited for (the asker is waiting): the model is left alone for the ``Retry-After`` seconds
it gave (seconds or a date; at most :data:`MAX_QUIET_SECONDS`), and questions are read without it meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.ask.filter import Filter
from bot.ask.model_answer import (
    Unusable,
    content_of,
    error_detail,
    filter_from_answer,
    parse_content,
)
from bot.ask.model_prompt import request_body
from bot.ask.reader import Reading, Vocabulary, read_question
from bot.delivery.pacing import retry_after_seconds
from bot.log import get_logger
from bot.settings import Settings

log = get_logger("touchpoint.ask.model")

DEFAULT_TIMEOUT_SECONDS = 2.0
MAX_ANSWER_BYTES = 256 * 1024  # a filter is a few hundred bytes; anything far larger is not one
MAX_QUIET_SECONDS = 60.0

# The fallback notes, in the words the asker sees, by outcome kind (the kind is what is logged).
FALLBACK_NOTES = {
    "timeout": "The language model did not answer in time; read without it.",
    "unreachable": "The language model could not be reached; read without it.",
    "unauthorized": "The language model did not accept Touchpoint's API key; read without it.",
    "rate_limited": "The language model asked Touchpoint to wait; read without it.",
    "server_error": "The language model's service had an error; read without it.",
    "rejected": "The language model's service refused the request; read without it.",
    "declined": "The language model declined to answer; read without it.",
    "unusable": "The language model answered in a form Touchpoint could not use; read without it.",
    "unknown_person": "The language model named a person Touchpoint does not know; read without it.",
    "failed": "The language model could not be used; read without it.",
}


# -------------------------------------------------------------------------------------------- reader


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    retry_after: str | None
    raw: bytes


class ModelReader:
    """Reads questions with the model at ``base_url`` (the API root; ``/chat/completions`` is added).

    ``session_factory`` makes the HTTP session of one question; the reader closes it after the answer, so
    nothing stays open between questions and nothing needs closing on the way out. ``clock`` tells the
    time for the quiet period after a 429."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        session_factory: Callable[[], aiohttp.ClientSession] = aiohttp.ClientSession,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout = timeout
        self._headers = {"Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._session_factory = session_factory
        self._clock = clock
        self._structured = True  # False once the endpoint refused Structured Outputs and took JSON mode
        self._quiet_until = 0.0

    def __repr__(self) -> str:
        return f"ModelReader(url={self.url!r}, model={self.model!r})"

    async def read(self, text: str, vocabulary: Vocabulary) -> Reading:
        """The model's reading of ``text``; the deterministic reader's, with a note saying why, whenever
        the model cannot give one. Only the outcome, its latency and status are logged."""
        started = time.perf_counter()
        try:
            if self._clock() < self._quiet_until:
                raise Unusable("rate_limited", detail={"skipped": "quiet period"})
            flt = await self._ask(text, vocabulary)
        except Unusable as problem:
            self._log(problem.kind, started, status=problem.status, **problem.detail)
            return self._without_model(problem.kind, text, vocabulary)
        except Exception as error:  # the model is optional: nothing it does may stop a question
            self._log("failed", started, error=type(error).__name__)
            return self._without_model("failed", text, vocabulary)
        self._log("answered" if flt is not None else "refused", started)
        return Reading(filter=flt)

    @staticmethod
    def _without_model(kind: str, text: str, vocabulary: Vocabulary) -> Reading:
        """The deterministic reader's reading, its first note saying why the model's is not used."""
        fallback = read_question(text, vocabulary)
        notes = (FALLBACK_NOTES[kind], *fallback.notes)
        return Reading(filter=fallback.filter, unknown=fallback.unknown, notes=notes)

    async def _ask(self, text: str, vocabulary: Vocabulary) -> Filter | None:
        try:
            async with asyncio.timeout(self.timeout), self._session_factory() as session:
                structured = self._structured
                answer = await self._post(session, request_body(text, vocabulary, structured=structured))
                if answer.status == 400 and structured:
                    retried = await self._post(session, request_body(text, vocabulary, structured=False))
                    if retried.status == 200:
                        self._structured = False
                    answer = retried
        except TimeoutError:
            raise Unusable("timeout") from None
        except aiohttp.ClientError as error:
            raise Unusable("unreachable", detail={"error": type(error).__name__}) from None
        if answer.status != 200:
            raise self._refused(answer)
        try:
            body = json.loads(answer.raw)
        except (ValueError, RecursionError):
            raise Unusable("unusable", status=answer.status) from None
        return filter_from_answer(parse_content(content_of(body)), vocabulary)

    async def _post(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> _Answer:
        body = {"model": self.model, **body}
        async with session.post(self.url, json=body, headers=self._headers) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise Unusable("unusable", status=response.status, detail={"problem": "too large"})
                chunks.append(chunk)
            return _Answer(response.status, response.headers.get("Retry-After"), b"".join(chunks))

    def _refused(self, answer: _Answer) -> Unusable:
        detail = error_detail(answer.raw)
        if answer.status in (401, 403):
            return Unusable("unauthorized", status=answer.status, detail=detail)
        if answer.status == 429:
            wait = retry_after_seconds(answer.retry_after)
            if wait:
                self._quiet_until = self._clock() + min(wait, MAX_QUIET_SECONDS)
                detail["quiet_seconds"] = f"{min(wait, MAX_QUIET_SECONDS):g}"
            return Unusable("rate_limited", status=answer.status, detail=detail)
        if answer.status >= 500:
            return Unusable("server_error", status=answer.status, detail=detail)
        return Unusable("rejected", status=answer.status, detail=detail)

    def _log(self, outcome: str, started: float, *, status: int | None = None, **detail: str) -> None:
        """One line per question: never the question, the answer or the key."""
        entry: dict[str, Any] = {
            "outcome": outcome,
            "latency_ms": round((time.perf_counter() - started) * 1000),
            "model": self.model,
            **detail,
        }
        if status is not None:
            entry["status"] = status
        if outcome in ("answered", "refused"):
            log.info("ask_model_read", **entry)
        elif outcome == "failed":  # not the endpoint's doing: a fault here, worth an error line
            log.error("ask_model_read", **entry)
        else:
            log.warning("ask_model_read", **entry)


def model_reader_from(settings: Settings) -> ModelReader | None:
    """The model reader the settings describe, or None when no endpoint is set (questions are then read
    by the deterministic reader alone)."""
    if settings.llm_url is None or settings.llm_model is None:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else None
    return ModelReader(base_url=settings.llm_url, model=settings.llm_model, api_key=key)


__all__ = ["FALLBACK_NOTES", "ModelReader", "model_reader_from"]
