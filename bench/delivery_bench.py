"""Delivery: 1,000 DMs through the outbox, the real DeliveryWorker and SlackSender, to a fake Slack Web
API that rate-limits like Slack.

The fake (on a loopback port) enforces one message per second per channel and a workspace limit of 300
messages a minute, as a token bucket refilling at 5 a second with a one-second burst; past either it
answers 429 with Retry-After, as Slack does. Those limits allow 1,000 messages in about 200 s, so the
target is 220 s (within 10%), with every message posted exactly once (counted per channel at the fake)
and no outbox row left pending or dead.

Run alone to compare pacings: ``.venv/bin/python -m bench.delivery_bench --scale 0.1 --unpaced``
(``--unpaced`` switches the worker's workspace pacing off, to see the 429s it avoids).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import delete, func, select

from adapters.slack.sender import SlackSender
from bench.common import BenchContext, Figure, median
from bot.delivery import DeliveryWorker
from bot.serialize import address_to_dict, reply_to_dict
from bot.settings import Settings
from bot.types import Actions, Address, Button, Context, Header, Platform, Reply, Text
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, Person

MESSAGES = 1000
CHANNEL_INTERVAL_SECONDS = 1.0  # Slack: about one message per second per channel
WORKSPACE_PER_MINUTE = 300.0
WORKSPACE_BURST = 5.0  # messages the bucket holds: one second's worth
SLACK_MARGIN = 1.10  # the target: within 10% of what the limits allow
PURPOSE = "bench"
# One run at full scale takes over three minutes; below this many expected seconds, do ctx.runs runs.
REPEAT_BELOW_SECONDS = 60.0


# ------------------------------------------------------------------------------------ the fake Slack


@dataclass
class RateLimitedSlack:
    """The Web API methods the sender uses, with Slack's posting limits.

    ``accepted`` counts the messages posted per channel (so a lost or repeated message shows); a
    refused call is answered 429 with Retry-After in whole seconds, rounded up, as Slack sends it.
    """

    channel_interval: float = CHANNEL_INTERVAL_SECONDS
    per_minute: float = WORKSPACE_PER_MINUTE
    burst: float = WORKSPACE_BURST
    accepted: Counter[str] = field(default_factory=Counter)
    limited: Counter[str] = field(default_factory=Counter)  # 429s by cause: "channel" or "workspace"
    first_at: float | None = None
    last_at: float | None = None
    _tokens: float = 0.0
    _refilled_at: float = 0.0
    _channel_last: dict[str, float] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _done: asyncio.Event = field(default_factory=asyncio.Event)
    _expected: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def expect(self, count: int) -> None:
        """Start counting afresh; :meth:`wait_all` returns once ``count`` messages were accepted."""
        self.accepted.clear()
        self.limited.clear()
        self.first_at = self.last_at = None
        self._channel_last.clear()
        self._tokens = self.burst
        self._refilled_at = time.monotonic()
        self._expected = count
        self._done = asyncio.Event()

    @property
    def all_accepted(self) -> bool:
        return self._done.is_set()

    async def wait_all(self) -> None:
        await self._done.wait()

    def _refill(self, now: float) -> None:
        rate = self.per_minute / 60.0
        self._tokens = min(self.burst, self._tokens + (now - self._refilled_at) * rate)
        self._refilled_at = now

    def _limited(self, cause: str, wait: float) -> web.Response:
        self.limited[cause] += 1
        retry_after = max(1, math.ceil(wait))
        return web.json_response(
            {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
        )

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            body: dict[str, Any] = await request.json()
        else:
            body = {**request.query, **await request.post()}
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": "D" + str(body.get("users", "X"))}})
        if method != "chat.postMessage":
            return web.json_response({"ok": True})
        channel = str(body.get("channel"))
        now = time.monotonic()
        since = now - self._channel_last.get(channel, -math.inf)
        if since < self.channel_interval:
            return self._limited("channel", self.channel_interval - since)
        self._refill(now)
        if self._tokens < 1.0:
            return self._limited("workspace", (1.0 - self._tokens) / (self.per_minute / 60.0))
        self._tokens -= 1.0
        self._channel_last[channel] = now
        self.accepted[channel] += 1
        self.first_at = self.first_at if self.first_at is not None else now
        self.last_at = now
        if sum(self.accepted.values()) >= self._expected:
            self._done.set()
        return web.json_response({"ok": True, "channel": channel, "ts": f"{now:.6f}"})


# ------------------------------------------------------------------------------------------ one run


@dataclass(frozen=True, slots=True)
class DeliveryRun:
    messages: int
    seconds: float
    finished: bool
    channels: int  # channels that received a message
    repeated: int  # messages posted more than once
    lost: int  # messages never posted
    sent: int  # outbox rows marked sent
    dead: int
    limited: dict[str, int]


def digest_like_reply(name: str, number: int) -> Reply:
    """A DM the size of a short CSM digest: a header, a few lines and buttons."""
    return Reply(
        summary=f"Your digest: {number % 7} accounts need you",
        blocks=(
            Header(f"Digest for {name}"),
            Text(f"🔴 Account {number} 37 ▼9 · $438k · active users down 54% in 30 days"),
            Text("Follow-ups due\n• Send the recording and the alert templates. (overdue 3 days)"),
            Actions((Button("Done", "followup.done", {"id": number}), Button("Snooze", "followup.snooze"))),
            Context(("`digest list` to change your digests",)),
        ),
    )


async def dm_targets(db: Database, count: int) -> list[tuple[str, str]]:
    """(Slack user id, name) of ``count`` people: the dataset's people first, invented ones after."""
    async with db.sessions() as session:
        rows = (await session.execute(select(Person.id, Person.name).order_by(Person.id).limit(count))).all()
    targets = [(f"UB{person_id:08d}", name) for person_id, name in rows]
    targets += [(f"UX{n:08d}", f"Person {n}") for n in range(len(targets), count)]
    return targets


@asynccontextmanager
async def bench_messages(db: Database, count: int) -> AsyncIterator[str]:
    """Queue ``count`` DMs under a fresh key prefix; remove them afterwards, so runs do not add up."""
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    messages = [
        outbox.NewMessage(
            idempotency_key=f"{prefix}{number}",
            purpose=PURPOSE,
            platform=Platform.SLACK.value,
            address=address_to_dict(Address(platform=Platform.SLACK, target=user)),
            payload=reply_to_dict(digest_like_reply(name, number)),
        )
        for number, (user, name) in enumerate(await dm_targets(db, count))
    ]
    await outbox.enqueue(db, messages, now=datetime.now(UTC))
    try:
        yield prefix
    finally:
        async with db.transaction() as session:
            await session.execute(
                delete(OutboxMessage).where(OutboxMessage.idempotency_key.like(f"{prefix}%"))
            )


def allowed_seconds(count: int, per_minute: float = WORKSPACE_PER_MINUTE) -> float:
    """How long the workspace limit makes ``count`` messages take (the target is 10% above)."""
    return count / per_minute * 60.0


async def deliver_once(
    db: Database, fake: RateLimitedSlack, count: int, *, paced: bool = True
) -> DeliveryRun:
    """Queue ``count`` DMs, run the worker until the fake has accepted them all (or clearly never will),
    and check the fake's counts and the outbox."""
    settings = Settings(database_url=db.url, slack_bot_token="xoxb-bench", slack_api_url=fake.api_url)
    options: dict[str, Any] = {} if paced else {"rate_per_minute": {}}
    async with bench_messages(db, count) as prefix:
        worker = DeliveryWorker(db, {Platform.SLACK: SlackSender(settings)}, **options)
        fake.expect(count)
        stop = asyncio.Event()
        started = time.monotonic()
        task = asyncio.create_task(worker.run_forever(stop, idle_seconds=0.2))
        finished = await _until_delivered(
            db, fake, prefix, deadline=started + allowed_seconds(count) * 3 + 30
        )
        seconds = (fake.last_at or time.monotonic()) - started
        stop.set()
        await task
        stats = await _bench_stats(db, prefix)
    repeated = sum(n - 1 for n in fake.accepted.values() if n > 1)
    return DeliveryRun(
        messages=count,
        seconds=seconds,
        finished=finished,
        channels=len(fake.accepted),
        repeated=repeated,
        lost=count - len(fake.accepted),
        sent=stats["sent"],
        dead=stats["dead"],
        limited=dict(fake.limited),
    )


async def _until_delivered(db: Database, fake: RateLimitedSlack, prefix: str, *, deadline: float) -> bool:
    """Wait until the fake has every message and the outbox says so; False when some row died or
    ``deadline`` (a monotonic time) passed first."""
    while time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fake.wait_all(), 0.5)
        stats = await _bench_stats(db, prefix)
        if stats["pending"] == 0:
            return stats["dead"] == 0 and fake.all_accepted
    return False


async def _bench_stats(db: Database, prefix: str) -> dict[str, int]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.idempotency_key.like(f"{prefix}%"))
            .group_by(OutboxMessage.status)
        )
        counts = {str(status): int(n) for status, n in rows}
    return {"pending": counts.get("pending", 0), "sent": counts.get("sent", 0), "dead": counts.get("dead", 0)}


# ------------------------------------------------------------------------------------------ figures


def message_count(scale: float) -> int:
    return max(20, round(MESSAGES * scale))


async def run(ctx: BenchContext) -> list[Figure]:
    """The delivery figures on ``ctx``'s database: time for all DMs, and none lost or repeated."""
    _quiet_logs()
    count = message_count(ctx.scale)
    target = allowed_seconds(count) * SLACK_MARGIN
    runs = ctx.runs if allowed_seconds(count) * ctx.runs <= REPEAT_BELOW_SECONDS else 1
    db = Database(ctx.url)
    fake = RateLimitedSlack()
    await fake.start()
    results: list[DeliveryRun] = []
    try:
        for _ in range(runs):
            results.append(await deliver_once(db, fake, count))
    finally:
        await fake.close()
        await db.dispose()
    seconds = median([r.seconds for r in results])
    all_done = all(r.finished for r in results)
    limited = sum(sum(r.limited.values()) for r in results)
    exact = all(r.repeated == 0 and r.lost == 0 and r.sent == count and r.dead == 0 for r in results)
    runs_note = "one run (a run takes minutes)" if runs == 1 and ctx.runs > 1 else ""
    worst = max(results, key=lambda r: (r.lost + r.repeated + r.dead, r.seconds))
    return [
        Figure(
            name=f"Delivery: {count:,} DMs at Slack's limits",
            backend=ctx.backend,
            target=f"<= {target:.0f} s",
            measured=f"{seconds:.1f} s" if all_done else f"unfinished after {seconds:.0f} s",
            passed=all_done and seconds <= target,
            runs=runs,
            note=_join(f"{limited} responses 429 in {runs} run(s)", runs_note),
        ),
        Figure(
            name=f"Delivery: each of {count:,} DMs posted once",
            backend=ctx.backend,
            target="0 lost, 0 repeated",
            measured=f"{worst.lost} lost, {worst.repeated} repeated, {worst.dead} dead",
            passed=exact,
            runs=runs,
            note=f"outbox: {worst.sent:,} sent",
        ),
    ]


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _quiet_logs() -> None:
    """The worker logs every send at INFO; a benchmark only wants errors."""
    import structlog

    from bot.log import configure

    if not structlog.is_configured():
        configure(level="ERROR")


# ------------------------------------------------------------------------------------ run on its own


async def _standalone(url: str, scale: float, paced: bool) -> None:
    from storage.migrate import upgrade

    db = Database(url)
    await upgrade(db)
    fake = RateLimitedSlack()
    await fake.start()
    try:
        result = await deliver_once(db, fake, message_count(scale), paced=paced)
    finally:
        await fake.close()
        await db.dispose()
    print(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a new SQLite file in a temp directory)")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--unpaced", action="store_true", help="no workspace-level pacing in the worker")
    args = parser.parse_args()
    _quiet_logs()
    if args.url:
        asyncio.run(_standalone(args.url, args.scale, not args.unpaced))
        return
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{directory}/delivery.db"
        asyncio.run(_standalone(url, args.scale, not args.unpaced))


if __name__ == "__main__":
    main()
