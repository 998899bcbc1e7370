"""The tone of survey comments and feedback: scores of known sentences, labels, what the import, the
ingest path and a feedback submission store, the strongly-negative flag in the routing, the recent tone
of an account, and the backfill command for older rows."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.cli.sentiment import backfill_sentiment, sentiment_app, summary
from bot.core.import_rules import import_options
from bot.feedback.config import FeedbackConfigError, load_feedback_config
from bot.feedback.items import submit_feedback
from bot.feedback.routing import Routing, routing_from_settings
from bot.feedback.sentiment import (
    STRONGLY_NEGATIVE,
    Tone,
    ToneSummary,
    recent_tone,
    score,
    strongly_negative_marker,
    tone_of,
)
from bot.feedback.surveys import feedback_from_surveys
from bot.serialize import reply_from_dict
from bot.settings import Settings, get_settings
from scheduler.feedback_jobs import escalate_unacknowledged
from storage.db import Database
from storage.importer import import_file, load_kind, validate_records, write_records
from storage.models import FeedbackItem, OutboxMessage, SurveyResponse
from tests.factories import NOW, TODAY, add_account, add_person, add_survey, text_of

POSITIVE = "Our CSM is fantastic and the new dashboards are great, thank you!"
NEGATIVE = "This is the worst support we have ever had: awful, slow and useless."
MILDLY_NEGATIVE = "Great product for a 20 person company. We're 800 people now and it just doesn't scale."
NEUTRAL = "The renewal call is on Tuesday."
ROUTING = Routing(cs_channel=None, cx_channel="slack:CCX")


# ------------------------------------------------------------------------------------------- scoring


def test_known_sentences() -> None:
    positive, negative, mild, neutral = (
        score(POSITIVE),
        score(NEGATIVE),
        score(MILDLY_NEGATIVE),
        score(NEUTRAL),
    )
    assert positive is not None and positive > 0.6
    assert negative is not None and negative <= STRONGLY_NEGATIVE
    assert mild is not None and STRONGLY_NEGATIVE < mild <= -0.05
    assert neutral is not None and -0.05 < neutral < 0.05
    assert all(value == round(value, 3) for value in (positive, negative, mild))
    assert score(f"  {POSITIVE}\n") == positive  # surrounding blanks do not count


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_no_text_has_no_score(text: str | None) -> None:
    assert score(text) is None


def test_labels_and_the_strongly_negative_flag() -> None:
    assert [tone_of(v) for v in (0.05, 0.049, 0.0, -0.049, -0.05, -0.599, -0.6, -1.0)] == [
        Tone.POSITIVE,
        Tone.NEUTRAL,
        Tone.NEUTRAL,
        Tone.NEUTRAL,
        Tone.NEGATIVE,
        Tone.NEGATIVE,
        Tone.STRONGLY_NEGATIVE,
        Tone.STRONGLY_NEGATIVE,
    ]
    assert tone_of(-0.7, strongly_negative=-0.8) is Tone.NEGATIVE
    assert strongly_negative_marker(-0.812) == "⚠️ Strongly negative (-0.81)"
    assert strongly_negative_marker(-0.5) is None and strongly_negative_marker(None) is None
    assert strongly_negative_marker(-0.5, threshold=-0.4) == "⚠️ Strongly negative (-0.50)"


def _settings(tmp_path: Path, toml: str | None = None, **env: Any) -> Settings:
    path = tmp_path / "touchpoint.toml"
    if toml is not None:
        path.write_text(toml, encoding="utf-8")
    return Settings(database_url="sqlite+aiosqlite://", config_file=path, **env)


def test_the_threshold_comes_from_the_file_then_the_environment(tmp_path: Path) -> None:
    assert routing_from_settings(_settings(tmp_path)).strongly_negative == STRONGLY_NEGATIVE
    env = _settings(tmp_path, feedback_strongly_negative=-0.75)
    assert routing_from_settings(env).strongly_negative == -0.75
    both = _settings(tmp_path, "[feedback]\nstrongly_negative = -0.5\n", feedback_strongly_negative=-0.75)
    assert load_feedback_config(both).strongly_negative == -0.5
    with pytest.raises(
        FeedbackConfigError, match=r"feedback\.strongly_negative: must be a number from -1 to 0"
    ):
        load_feedback_config(_settings(tmp_path, "[feedback]\nstrongly_negative = 0.5\n"))
    with pytest.raises(ValueError):
        _settings(tmp_path, feedback_strongly_negative=-2)


# ------------------------------------------------------------------------------------------ importing

SURVEYS = f"""account_external_id,kind,score,submitted_at,comment,external_id
A-1,nps,10,2026-11-20T10:00:00Z,"{POSITIVE}",s1
A-1,nps,2,2026-11-21T10:00:00Z,"{NEGATIVE}",s2
A-1,csat,4,2026-11-22T10:00:00Z,{NEUTRAL},s3
A-1,ces,2,2026-11-23T10:00:00Z,,s4
"""


async def _tones(db: Database) -> dict[str, float | None]:
    async with db.sessions() as session:
        rows = await session.execute(select(SurveyResponse.external_id, SurveyResponse.sentiment))
        return {str(external_id): sentiment for external_id, sentiment in rows}


async def test_the_import_stores_the_tone_of_each_comment(db: Database, tmp_path: Path) -> None:
    maya = await add_person(db, "maya@x.io", "Maya Chen", "csm")
    await add_account(db, "A-1", "Acme", owner_id=maya)
    path = tmp_path / "surveys.csv"
    path.write_text(SURVEYS, encoding="utf-8")
    await import_file(db, "surveys", path, options=import_options())
    assert await _tones(db) == {
        "s1": score(POSITIVE),
        "s2": score(NEGATIVE),
        "s3": score(NEUTRAL),
        "s4": None,
    }

    again = await import_file(db, "surveys", path, options=import_options())
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)

    # A changed comment is scored again; a file without the comment column leaves comments and tone alone.
    path.write_text(SURVEYS.replace(NEUTRAL, MILDLY_NEGATIVE), encoding="utf-8")
    changed = await import_file(db, "surveys", path, options=import_options())
    assert changed.updated == 1
    assert (await _tones(db))["s3"] == score(MILDLY_NEGATIVE)
    path.write_text(
        "account_external_id,kind,score,submitted_at,external_id\nA-1,csat,5,2026-11-22T10:00:00Z,s3\n",
        encoding="utf-8",
    )
    await import_file(db, "surveys", path, options=import_options())
    assert (await _tones(db))["s3"] == score(MILDLY_NEGATIVE)


async def test_a_stored_answer_without_a_tone_gets_one_when_imported_again(
    db: Database, tmp_path: Path
) -> None:
    maya = await add_person(db, "maya@x.io", "Maya Chen", "csm")
    await add_account(db, "A-1", "Acme", owner_id=maya)
    path = tmp_path / "surveys.csv"
    path.write_text(SURVEYS, encoding="utf-8")
    await import_file(db, "surveys", path, options=import_options())
    async with db.transaction() as session:
        answer = await session.scalar(select(SurveyResponse).where(SurveyResponse.external_id == "s2"))
        assert answer is not None
        answer.sentiment = None  # as stored before tone was kept
    result = await import_file(db, "surveys", path, options=import_options())
    assert result.updated == 1
    assert (await _tones(db))["s2"] == score(NEGATIVE)


async def test_records_from_the_ingest_api_get_their_tone(db: Database) -> None:
    maya = await add_person(db, "maya@x.io", "Maya Chen", "csm")
    await add_account(db, "A-1", "Acme", owner_id=maya)
    records = [
        {"account_external_id": "A-1", "kind": "nps", "score": 3, "submitted_at": "2026-11-21T10:00:00Z",
         "comment": NEGATIVE, "external_id": "api-1"},
        {"account_external_id": "A-1", "kind": "csat", "score": 5, "submitted_at": "2026-11-21T11:00:00Z",
         "external_id": "api-2"},
    ]  # fmt: skip
    handler = await load_kind(db, "surveys", import_options())
    prepared = validate_records(handler, records)
    async with db.transaction() as session:
        await write_records(session, prepared, source="api:test", actor_label="api:test")
    assert await _tones(db) == {"api-1": score(NEGATIVE), "api-2": None}


# ------------------------------------------------------------------------------------------- feedback


async def _team(db: Database) -> tuple[int, int, int]:
    """Jonas manages Maya, who owns Acme; both on Slack."""
    jonas = await add_person(db, "jonas@x.io", "Jonas", "cs_manager", slack_user_id="UJONAS")
    maya = await add_person(db, "maya@x.io", "Maya Chen", "csm", manager_id=jonas, slack_user_id="UMAYA")
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    return jonas, maya, acme


async def _outbox(db: Database) -> dict[str, OutboxMessage]:
    async with db.sessions() as session:
        return {row.idempotency_key: row for row in await session.scalars(select(OutboxMessage))}


async def _submit(db: Database, account_id: int, text: str, routing: Routing = ROUTING) -> FeedbackItem:
    item = await submit_feedback(
        db,
        originator_id=None,
        originator_team="cx",
        account_id=account_id,
        text=text,
        tags=[],
        urgent=False,
        source="chat",
        now=NOW,
        routing=routing,
    )
    assert item is not None
    return item


async def test_a_strongly_negative_item_is_flagged_and_urgent(db: Database) -> None:
    jonas, maya, acme = await _team(db)
    item = await _submit(db, acme, NEGATIVE)
    assert item.sentiment == score(NEGATIVE) and item.urgent
    rows = await _outbox(db)
    assert set(rows) == {f"feedback:{item.id}:new:{maya}", f"feedback:{item.id}:new:{jonas}"}  # urgent
    card = reply_from_dict(rows[f"feedback:{item.id}:new:{maya}"].payload)
    marker = f"⚠️ Strongly negative ({score(NEGATIVE):+.2f})"
    assert f"**{marker}**" in text_of(card)
    assert marker in card.summary and card.summary.startswith("🚨 Urgent Feedback")


async def test_other_items_keep_their_routing_and_carry_no_marker(db: Database) -> None:
    _, maya, acme = await _team(db)
    mild = await _submit(db, acme, MILDLY_NEGATIVE)
    assert mild.sentiment == score(MILDLY_NEGATIVE) and not mild.urgent
    stricter = Routing(cs_channel=None, cx_channel="slack:CCX", strongly_negative=-0.95)
    harsh = await _submit(db, acme, NEGATIVE, routing=stricter)
    assert not harsh.urgent
    rows = await _outbox(db)
    assert set(rows) == {f"feedback:{mild.id}:new:{maya}", f"feedback:{harsh.id}:new:{maya}"}
    for item in (mild, harsh):
        assert "Strongly negative" not in text_of(
            reply_from_dict(rows[f"feedback:{item.id}:new:{maya}"].payload)
        )


async def test_a_strongly_negative_detractor_comment_reaches_the_csm_flagged(db: Database) -> None:
    jonas, maya, acme = await _team(db)
    await add_survey(db, acme, "nps", 1, comment=NEGATIVE, submitted_at=NOW - timedelta(days=1))
    assert await feedback_from_surveys(db, since=None, now=NOW, routing=ROUTING) == 1
    async with db.sessions() as session:
        item = (await session.scalars(select(FeedbackItem))).one()
    assert item.sentiment == score(NEGATIVE) and item.urgent and item.source == "survey"
    rows = await _outbox(db)
    assert {f"feedback:{item.id}:new:{maya}", f"feedback:{item.id}:new:{jonas}"} <= set(rows)
    assert "⚠️ Strongly negative" in text_of(reply_from_dict(rows[f"feedback:{item.id}:new:{maya}"].payload))


async def test_the_reminder_of_a_strongly_negative_item_is_marked(db: Database) -> None:
    *_, acme = await _team(db)
    harsh = await _submit(db, acme, NEGATIVE)
    plain = await _submit(db, acme, NEUTRAL)
    stats = await escalate_unacknowledged(db, now=NOW + timedelta(days=2), hours=None)
    assert stats.reminded == 2
    rows = await _outbox(db)
    harsh_text = text_of(reply_from_dict(rows[f"feedback:{harsh.id}:escalate:1"].payload))
    plain_text = text_of(reply_from_dict(rows[f"feedback:{plain.id}:escalate:1"].payload))
    assert "⚠️ Strongly negative" in harsh_text and "Strongly negative" not in plain_text


# ---------------------------------------------------------------------------------------- recent tone


async def test_recent_tone_of_an_account(db: Database) -> None:
    _, maya, acme = await _team(db)
    other = await add_account(db, "B-1", "Beta", owner_id=maya)
    async with db.sessions() as session:
        assert await recent_tone(session, acme, TODAY) is None
    await add_survey(db, acme, "nps", 9, comment=POSITIVE, submitted_at=NOW - timedelta(days=3))
    await add_survey(db, acme, "nps", 2, comment=NEGATIVE, submitted_at=NOW - timedelta(days=10))
    await add_survey(db, acme, "csat", 5, comment=None, submitted_at=NOW - timedelta(days=2))
    await add_survey(
        db, acme, "nps", 0, comment="Awful. Horrible. Worst ever.", submitted_at=NOW - timedelta(days=95)
    )
    await add_survey(db, other, "nps", 0, comment="Awful. Horrible. Worst ever.", submitted_at=NOW)
    await backfill_sentiment(db)  # add_survey writes rows as an old version would: without a tone
    await _submit(db, acme, MILDLY_NEGATIVE)
    await feedback_from_surveys(db, since=None, now=NOW, routing=ROUTING)  # the detractor: counted once

    async with db.sessions() as session:
        tone = await recent_tone(session, acme, TODAY)
        week = await recent_tone(session, acme, TODAY - timedelta(days=1), days=7)
    values = [score(POSITIVE), score(NEGATIVE), score(MILDLY_NEGATIVE)]
    mean = round(sum(v for v in values if v is not None) / 3, 3)
    assert tone == ToneSummary(
        mean=mean,
        count=3,
        label=tone_of(mean),
        most_negative=NEGATIVE,
        most_negative_score=score(NEGATIVE),
    )
    assert tone.line == f"Recent tone: {tone_of(mean).value} ({mean:+.2f} over 3 comments)"
    assert week is not None and (week.count, week.label, week.most_negative) == (1, Tone.POSITIVE, None)
    assert week.line == f"Recent tone: positive ({score(POSITIVE):+.2f} over 1 comment)"


# ------------------------------------------------------------------------------------------- backfill


async def test_backfill_scores_what_has_no_tone_in_batches(db: Database) -> None:
    *_, acme = await _team(db)
    # "\n" is not blank to the database's trim, but has nothing to score: it stays without a tone.
    for n, comment in enumerate((POSITIVE, NEGATIVE, NEUTRAL, "\n", None)):
        await add_survey(db, acme, "nps", 5, comment=comment, submitted_at=NOW - timedelta(days=n + 1))
    item = await _submit(db, acme, NEGATIVE)
    async with db.transaction() as session:
        stored = await session.get(FeedbackItem, item.id)
        assert stored is not None
        stored.sentiment = None
        stored.updated_at = NOW - timedelta(days=1)
    calls: list[tuple[str, int, int]] = []

    counts = await backfill_sentiment(db, batch_size=2, progress=lambda *call: calls.append(call))
    assert (counts.survey_responses, counts.feedback_items) == (3, 1)
    async with db.sessions() as session:
        tones = sorted((await session.scalars(select(SurveyResponse.sentiment))).all(), key=repr)
        refreshed = await session.get(FeedbackItem, item.id)
    assert tones == sorted([score(POSITIVE), score(NEGATIVE), score(NEUTRAL), None, None], key=repr)
    assert refreshed is not None and refreshed.sentiment == score(NEGATIVE)
    assert refreshed.updated_at == NOW - timedelta(days=1)  # a tone is not a change of the item
    assert calls == [
        ("survey comments", 0, 4),
        ("survey comments", 2, 4),
        ("survey comments", 4, 4),
        ("feedback texts", 0, 1),
        ("feedback texts", 1, 1),
    ]
    again = await backfill_sentiment(db)
    assert (again.survey_responses, again.feedback_items) == (0, 0)
    assert summary(again).startswith("Nothing to score")


async def test_backfill_all_rescores_what_an_older_model_scored(db: Database) -> None:
    *_, acme = await _team(db)
    for n, comment in enumerate((POSITIVE, NEGATIVE, "\n", None)):
        await add_survey(db, acme, "nps", 5, comment=comment, submitted_at=NOW - timedelta(days=n + 1))
    async with db.transaction() as session:  # as an older model left them
        for answer in await session.scalars(
            select(SurveyResponse).where(SurveyResponse.comment.is_not(None))
        ):
            answer.sentiment = 0.5
    assert (await backfill_sentiment(db)).survey_responses == 0  # nothing is missing a tone
    counts = await backfill_sentiment(db, everything=True)
    assert counts.survey_responses == 2  # the blank one has nothing to score and keeps its value
    async with db.sessions() as session:
        tones = sorted((await session.scalars(select(SurveyResponse.sentiment))).all(), key=repr)
    assert tones == sorted([score(POSITIVE), score(NEGATIVE), 0.5, None], key=repr)


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TOUCHPOINT_DATABASE_URL pointed at a new SQLite file for the CLI."""
    path = tmp_path / "cli.db"
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Touchpoint."""

    app.add_typer(sentiment_app, name="sentiment")
    return app


async def _old_answers(url: str) -> None:
    """Two answers stored without a tone."""
    db = Database(url)
    try:
        maya = await add_person(db, "maya@x.io", "Maya Chen", "csm")
        acme = await add_account(db, "A-1", "Acme", owner_id=maya)
        for n, comment in enumerate((POSITIVE, NEGATIVE)):
            await add_survey(db, acme, "nps", 5, comment=comment, submitted_at=NOW - timedelta(days=n + 1))
    finally:
        await db.dispose()


def test_the_backfill_command(cli_db: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(_app(), ["sentiment", "backfill"])  # migrates the new database too
    assert empty.exit_code == 0, empty.output
    assert "Nothing to score" in empty.output
    asyncio.run(_old_answers(f"sqlite+aiosqlite:///{cli_db}"))
    result = runner.invoke(_app(), ["sentiment", "backfill", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "Scored 2 survey comments and 0 feedback texts." in result.output
    with sqlite3.connect(cli_db) as connection:
        stored = sorted(value for (value,) in connection.execute("SELECT sentiment FROM survey_response"))
    assert stored == sorted([score(POSITIVE), score(NEGATIVE)])
