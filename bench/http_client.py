"""Sending slash commands to a server and timing their answers: what is sent (typos of real account
names, ``my``, ``risk``, ``renewals``, ``plan``, ``milestones``, ``followups``, and exact names for the
ceiling app), one at a time for latency or many in flight for throughput."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from bench.dataset import DatasetInfo
from bench.http_slack import FakeSlack, signed_slash_command

WARMUP_PER_COMMAND = 10
# Time caps, so a command far off its target cannot stretch a run to hours: the figures then say how
# many requests were measured.
LATENCY_RUN_SECONDS = 240.0
THROUGHPUT_RUN_SECONDS = 40.0
CONCURRENCY = 16
ANSWER_TIMEOUT_SECONDS = 30.0
FAILED_ANSWERS = ("Something went wrong", "not registered", "I don't know the command")


def typo(name: str) -> str:
    """``name`` with one letter of its longest word changed (the next letter of the alphabet)."""
    words = name.split(" ")
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    at = len(word) // 2
    letter = word[at].lower()
    replacement = "a" if letter == "z" else chr(ord(letter) + 1) if letter.isalpha() else "x"
    words[longest] = word[:at] + replacement + word[at + 1 :]
    return " ".join(words)


def command_texts(dataset: DatasetInfo) -> dict[str, list[str]]:
    """The texts sent per command: ``account`` cycles through typos of the dataset's sample names,
    ``plan`` through the names themselves; the lists are the CSM's own (``my``, ``milestones``,
    ``followups``) or everyone's (``risk``, ``renewals``)."""
    return {
        "account": [f"account {typo(name)}" for name in dataset.sample_account_names],
        "my": ["my"],
        "risk": ["risk"],
        "renewals": ["renewals"],
        "plan": [f"plan {name}" for name in dataset.sample_account_names],
        "milestones": ["milestones"],
        "followups": ["followups"],
    }


def ceiling_texts(dataset: DatasetInfo) -> list[str]:
    """What the ceiling app is sent: ``account`` with the exact sample names (its one indexed read)."""
    return [f"account {name}" for name in dataset.sample_account_names]


# ---------------------------------------------------------------------------------------- measurement


@dataclass
class Timing:
    command: str
    ack_ms: float
    answer_ms: float
    summary: str


class Client:
    """Sends signed slash commands to one server and waits for their answers at the fake."""

    def __init__(self, http: aiohttp.ClientSession, fake: FakeSlack, server_url: str, user_id: str) -> None:
        self.http = http
        self.fake = fake
        self.server_url = server_url
        self.user_id = user_id
        self.sent = 0

    async def command(self, command: str, text: str, *, via_response_url: bool = True) -> Timing:
        self.sent += 1
        response_url, answered = self.fake.expect(f"r{self.sent}")
        body, headers = signed_slash_command(text, user_id=self.user_id, response_url=response_url)
        started = time.perf_counter()
        async with self.http.post(self.server_url, data=body, headers=headers) as response:
            ack_body = await response.read()
            acked = time.perf_counter()
            if response.status != 200:
                raise RuntimeError(f"{text!r}: HTTP {response.status} {ack_body[:200]!r}")
        if not via_response_url:
            self.fake.waiting.pop(f"r{self.sent}", None)
            return Timing(command, (acked - started) * 1000, (acked - started) * 1000, ack_body.decode())
        arrived, message = await asyncio.wait_for(answered, ANSWER_TIMEOUT_SECONDS)
        summary = str(message.get("text", ""))
        if any(marker in summary for marker in FAILED_ANSWERS):
            raise RuntimeError(f"{text!r} was answered with an error: {summary[:200]}")
        return Timing(command, (acked - started) * 1000, (arrived - started) * 1000, summary)


def schedule(texts: dict[str, list[str]], per_command: int) -> list[tuple[str, str]]:
    """The commands of ``texts`` interleaved (account, my, risk, ..., account, my, ...), ``per_command``
    of each."""
    plan = []
    for i in range(per_command):
        for command in texts:
            options = texts[command]
            plan.append((command, options[i % len(options)]))
    return plan


async def measure_latency(client: Client, texts: dict[str, list[str]], per_command: int) -> list[Timing]:
    """One request at a time, after a warm-up; stops early (between requests) after LATENCY_RUN_SECONDS."""
    for command, text in schedule(texts, WARMUP_PER_COMMAND):
        await client.command(command, text)
    deadline = time.monotonic() + LATENCY_RUN_SECONDS
    timings = []
    for command, text in schedule(texts, per_command):
        if time.monotonic() > deadline:
            break
        timings.append(await client.command(command, text))
    return timings


async def measure_rate(client: Client, plan: Sequence[tuple[str, str]], *, via_response_url: bool) -> float:
    """Requests of ``plan`` answered per second with CONCURRENCY in flight (no new request is started
    after THROUGHPUT_RUN_SECONDS; the rate counts those answered)."""
    queue = list(reversed(plan))
    deadline = time.monotonic() + THROUGHPUT_RUN_SECONDS
    done = 0

    async def worker() -> None:
        nonlocal done
        while queue and time.monotonic() < deadline:
            command, text = queue.pop()
            await client.command(command, text, via_response_url=via_response_url)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started)
