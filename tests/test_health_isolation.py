"""One account's bad inputs cannot stop the nightly recompute for the others, nor crash its own card.

Usage values stored before they were bounded (1e308: a SUM over a few days overflows PostgreSQL's
double precision) are read capped at the bound, so that account is scored like the rest; an account
whose inputs make the engine or the database fail anyway is logged with its id and a reference and
skipped, and every other account of its range is written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from structlog.testing import capture_logs

import bot.health.service as service
from bot.health.engine import HealthResult
from bot.health.inputs import AccountInputs
from bot.health.model import HealthModel
from bot.health.service import recompute
from storage.db import Database
from storage.models import HealthSnapshot, UsageMetric
from storage.upsert import upsert
from tests.factories import MAYA, TODAY, Team, actor_for, ask, make_bot, seed_team, text_of

HUGE = 1e308


async def _store_usage(db: Database, account_id: int, values: dict[str, float], days: int = 10) -> None:
    rows = [
        {"account_id": account_id, "day": TODAY - timedelta(days=n), "metric": metric, "value": value}
        for n in range(days)
        for metric, value in values.items()
    ]
    async with db.transaction() as session:
        await upsert(session, UsageMetric, rows, key=["account_id", "day", "metric"])


async def _seed(db: Database) -> Team:
    """The factories' team without its snapshots of today, so what the recompute writes is all there is."""
    team = await seed_team(db)
    async with db.transaction() as session:
        await session.execute(delete(HealthSnapshot).where(HealthSnapshot.day == TODAY))
    return team


async def _snapshots(db: Database) -> dict[int, float | None]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(HealthSnapshot.account_id, HealthSnapshot.score).where(HealthSnapshot.day == TODAY)
        )
        return {account_id: score for account_id, score in rows}


async def test_usage_stored_past_the_bounds_is_read_capped_and_every_account_is_scored(db: Database) -> None:
    team = await _seed(db)
    await _store_usage(db, team.acme_robotics, {"active_users": 40, "licensed_seats": 50})
    await _store_usage(
        db, team.acme_rockets, {"active_users": HUGE, "licensed_seats": HUGE, "open_tickets": HUGE}
    )
    summary = await recompute(db, TODAY, model=HealthModel())
    scores = await _snapshots(db)
    assert summary.accounts == len(scores) == 6
    assert summary.skipped == ()
    assert scores[team.acme_rockets] is not None and 0 <= scores[team.acme_rockets] <= 100


async def test_the_card_of_an_account_with_such_values_answers(db: Database) -> None:
    team = await _seed(db)
    await _store_usage(
        db, team.acme_rockets, {"active_users": HUGE, "licensed_seats": 3, "open_tickets": HUGE}
    )
    bot = make_bot(db)
    maya = await actor_for(db, MAYA)
    with capture_logs() as logs:
        card = text_of(await ask(bot, maya, "account acme rockets"))
    assert "Acme Rockets" in card and "Health" in card
    assert "Something went wrong" not in card
    assert not [e for e in logs if e["log_level"] == "error"]


@pytest.mark.parametrize("failure", ["engine", "database"])
async def test_an_account_that_fails_is_logged_and_skipped_and_the_rest_are_written(
    db: Database, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    team = await _seed(db)
    real_compute = service.compute_health
    real_row = service.snapshot_row

    def compute(inputs: AccountInputs, model: HealthModel) -> HealthResult:
        if failure == "engine" and inputs.account_id == team.cafe:
            raise ArithmeticError("the engine could not score these inputs")
        return real_compute(inputs, model)

    def row(account_id: int, day: Any, result: HealthResult) -> dict[str, Any]:
        found = real_row(account_id, day, result)
        if failure == "database" and account_id == team.cafe:
            if db.is_sqlite:  # SQLite stores what it is given; the column type refuses a naive time
                found["computed_at"] = datetime(2026, 11, 25, 12)
            else:  # PostgreSQL refuses NaN in JSON
                found["components"] = {"bad": float("nan")}
        return found

    monkeypatch.setattr(service, "compute_health", compute)
    monkeypatch.setattr(service, "snapshot_row", row)
    with capture_logs() as logs:
        summary = await recompute(db, TODAY, model=HealthModel(), chunk_size=4)
    assert summary.skipped == (team.cafe,)
    assert summary.accounts == 5
    assert set(await _snapshots(db)) == {
        team.acme_rockets,
        team.acme_robotics,
        team.brightwater,
        team.grunfeld,
        team.nimbus,
    }
    skipped = [e for e in logs if e["event"] == "health_account_skipped"]
    assert [(e["account_id"], e["log_level"]) for e in skipped] == [(team.cafe, "warning")]
    assert skipped[0]["reference"]
    assert not [e for e in logs if e["log_level"] == "error"]
