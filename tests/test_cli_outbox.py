"""``touchpoint outbox status|retry`` and ``touchpoint digest run`` on a SQLite file."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from adapters.cli.outbox import digest_app, outbox_app
from bot.serialize import address_to_dict, reply_to_dict
from bot.settings import get_settings
from bot.types import Address, Platform, Reply
from storage import outbox
from storage.db import Database
from storage.models import DigestSubscription, OutboxMessage, OutboxStatus

app = typer.Typer()
app.add_typer(outbox_app, name="outbox")
app.add_typer(digest_app, name="digest")
runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    path = tmp_path / "touchpoint.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", url)
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    for name in (
        "SLACK_BOT_TOKEN",
        "TOUCHPOINT_SLACK_BOT_TOKEN",
        "MicrosoftAppId",
        "TOUCHPOINT_TEAMS_ENABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def on(url: str, work: object) -> object:
    async def body() -> object:
        db = Database(url)
        try:
            return await work(db)  # type: ignore[operator]
        finally:
            await db.dispose()

    return asyncio.run(body())


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def queued(key: str, *, due_in: timedelta = timedelta(0)) -> outbox.NewMessage:
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="test",
        platform="slack",
        address=address_to_dict(Address(platform=Platform.SLACK, target="C1")),
        payload=reply_to_dict(Reply(summary=key)),
        not_before=datetime.now(UTC) + due_in,
    )


async def seed_outbox(db: Database) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=90)
    await outbox.enqueue(db, [queued("due"), queued("later", due_in=timedelta(hours=1))], now=long_ago)
    await outbox.enqueue(db, [queued("dead1"), queued("dead2"), queued("sent")], now=long_ago)
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idempotency_key.in_(["dead1", "dead2"]))
            .values(status=OutboxStatus.DEAD.value, attempts=8)
        )
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.idempotency_key == "sent").values(status="sent")
        )
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idempotency_key == "due")
            .values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=90))
        )


def test_status_then_retry(database: str) -> None:
    on(database, seed_outbox)
    result = invoke("outbox", "status")
    assert result.exit_code == 0, result.output
    assert "Pending 2 (due now 1), dead 2, sent 1." in result.output
    assert "Oldest due message has waited 1 h 30 min." in result.output
    assert "touchpoint outbox retry" in result.output

    result = invoke("outbox", "retry")
    assert result.exit_code == 0, result.output
    assert "2 dead messages back in line to be sent." in result.output
    assert "Pending 4 (due now 3), dead 0, sent 1." in invoke("outbox", "status").output
    assert "0 dead messages" in invoke("outbox", "retry").output


def test_status_of_an_empty_outbox(database: str) -> None:
    result = invoke("outbox", "status")
    assert result.exit_code == 0, result.output
    assert "Pending 0 (due now 0), dead 0, sent 0." in result.output
    assert "Oldest" not in result.output


async def add_channel_digest(db: Database) -> int:
    async with db.transaction() as session:
        subscription = DigestSubscription(
            platform="slack", channel="C0DIGEST", scope="segment", segment="enterprise", timezone="UTC"
        )
        session.add(subscription)
        await session.flush()
        return subscription.id


def test_digest_run_now_queues_once(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def stub_builder(ctx: object, subscription: DigestSubscription, *, now: datetime) -> object:
        return SimpleNamespace(reply=Reply(summary=f"Digest {subscription.id}"), images={})

    monkeypatch.setattr("scheduler.jobs.build_digest", stub_builder)
    subscription_id = on(database, add_channel_digest)
    assert invoke("digest", "run", str(subscription_id)).exit_code == 1  # --now is required
    first = invoke("digest", "run", str(subscription_id), "--now")
    assert first.exit_code == 0, first.output
    today = datetime.now(UTC).date().isoformat()
    assert f"Digest {subscription_id} for {today} queued." in first.output
    assert "No platform is configured" in first.output

    async def keys(db: Database) -> list[str]:
        async with db.sessions() as session:
            return list((await session.scalars(select(OutboxMessage.idempotency_key))).all())

    assert on(database, keys) == [f"digest:{subscription_id}:{today}"]
    second = invoke("digest", "run", str(subscription_id), "--now")
    assert second.exit_code == 0, second.output
    assert "was queued already; not again." in second.output
    assert on(database, keys) == [f"digest:{subscription_id}:{today}"]


def test_digest_run_of_an_unknown_subscription(database: str) -> None:
    result = invoke("digest", "run", "999", "--now")
    assert result.exit_code == 1
    assert "No active digest subscription 999." in result.output
