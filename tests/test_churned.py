"""Churned accounts: no longer scored, listed at risk or renewing, digested, alerted on or reminded of;
their history kept, and their card saying since when they are gone. And the day they churned, as
imports and the API record it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.digests.csm import build_csm_digest
from bot.digests.team import build_team_digest
from bot.health.model import HealthModel
from bot.health.portfolio import portfolio_summary
from bot.health.service import recompute
from bot.serialize import reply_from_dict
from scheduler.alerts import enqueue_health_alerts
from scheduler.reminders import enqueue_due_reminders
from scheduler.reminders_due import ReminderSettings
from storage.db import Database
from storage.importer import ImportOptions, import_file
from storage.importer.records import load_kind, validate_records, write_records
from storage.models import Account, ArrChange, HealthSnapshot, OutboxMessage
from tests.factories import (
    NOW,
    TODAY,
    actor_for,
    add_account,
    add_follow_up,
    add_milestone,
    add_person,
    add_snapshot,
    ask,
    day,
    make_bot,
    text_of,
)

LENIENT = HealthModel.from_mapping({"min_confidence": 0})  # every account gets a snapshot, data or not


@dataclass(frozen=True)
class World:
    jonas: int
    maya: int
    live: int  # red today (yellow yesterday), renewing in 20 days, a milestone and a follow-up overdue
    gone: int  # the same, but churned yesterday (its snapshots are from before)
    lost: int  # churned on a day nobody recorded


async def world(db: Database) -> World:
    async with db.transaction() as s:
        jonas = await add_person(s, "jonas@example.com", "Jonas", "cs_manager", slack_user_id="U0")
        maya = await add_person(s, "maya@example.com", "Maya", "csm", manager_id=jonas, slack_user_id="U1")
        accounts = []
        for external_id, name, stage, churned_on in (
            ("LIVE-1", "Live Co", "renewing", None),
            ("GONE-1", "Gone Ltd", "churned", day(-1)),
            ("LOST-1", "Lost Inc", "churned", None),
        ):
            account_id = await add_account(
                s,
                external_id,
                name,
                owner_id=maya,
                arr=50_000,
                stage=stage,
                renewal=day(20),
                churned_on=churned_on,
            )
            accounts.append(account_id)
            await add_snapshot(s, account_id, day(-7), 70)
            await add_snapshot(s, account_id, day(-1), 50)
            await add_snapshot(s, account_id, TODAY, 30)
            await add_milestone(s, account_id, f"QBR of {name}", day(-4))
            await add_follow_up(s, account_id, author_id=maya, summary=f"Call {name}", due=day(-1))
        live, gone, lost = accounts
        s.add(
            ArrChange(account_id=gone, day=TODAY, arr=Decimal(0), previous_arr=Decimal(50_000), source="api")
        )
    return World(jonas, maya, live, gone, lost)


# ------------------------------------------------------------------------------------------- scoring


async def test_the_recompute_leaves_churned_accounts_out_and_keeps_their_history(db: Database) -> None:
    w = await world(db)
    summary = await recompute(db, day(1), model=LENIENT)
    assert summary.accounts == 1
    async with db.sessions() as s:
        rows = (await s.execute(select(HealthSnapshot.account_id, HealthSnapshot.day))).all()
    assert {a for a, d in rows if d == day(1)} == {w.live}
    assert {d for a, d in rows if a == w.gone} == {day(-7), day(-1), TODAY}  # history kept
    # A backfill still scores the days before a known churn day, never an account churned on a day
    # nobody knows.
    backfill = await recompute(db, day(-2), model=LENIENT)
    assert backfill.accounts == 2
    async with db.sessions() as s:
        scored = set(
            (
                await s.execute(select(HealthSnapshot.account_id).where(HealthSnapshot.day == day(-2)))
            ).scalars()
        )
    assert scored == {w.live, w.gone}


async def test_the_portfolio_counts_churned_accounts_apart(db: Database) -> None:
    await world(db)
    summary = await portfolio_summary(db, today=TODAY)
    assert (summary.accounts, summary.churned) == (1, 2)
    assert summary.count_by_band == {"red": 1}
    assert summary.arr_by_band == {"red": Decimal(50_000)}
    assert [a.name for a in summary.red_renewing] == ["Live Co"]


# ---------------------------------------------------------------------------------------------- chat


async def test_risk_my_and_renewals_leave_churned_accounts_out(db: Database) -> None:
    await world(db)
    bot = make_bot(db)
    maya = await actor_for(db, "maya@example.com")
    risk = text_of(await ask(bot, maya, "risk"))
    assert "Live Co" in risk and "Gone Ltd" not in risk and "Lost Inc" not in risk
    assert risk.splitlines()[0] == "# At risk: 1 account, $50k ARR"
    renewals = text_of(await ask(bot, maya, "renewals"))
    assert "Live Co" in renewals and "Gone" not in renewals and "Lost" not in renewals
    my = text_of(await ask(bot, maya, "my"))
    assert "**Live Co**" in my and "**Gone Ltd**" not in my
    assert "Churned, not listed: Gone Ltd (Tue 24 Nov 2026), Lost Inc" in my
    red = text_of(await ask(bot, maya, "my red"))
    assert "**Live Co**" in red and "Churned, not listed: Gone Ltd (Tue 24 Nov 2026), Lost Inc" in red
    home = text_of(await ask(bot, maya, "home"))
    assert "Your accounts (1)" in home and "Gone Ltd" not in home.split("Follow-ups due")[0]


async def test_the_card_of_a_churned_account_says_since_when(db: Database) -> None:
    await world(db)
    bot = make_bot(db)
    maya = await actor_for(db, "maya@example.com")
    gone = await ask(bot, maya, "account gone ltd")
    lines = text_of(gone).splitlines()
    assert lines[:2] == ["# Gone Ltd", "⚪ **Churned on Tue 24 Nov 2026**: health no longer scored"]
    assert "Stage: churned on Tue 24 Nov 2026" in lines
    assert gone.summary == "Gone Ltd: churned on Tue 24 Nov 2026"
    assert "Why:" not in text_of(gone) and "Confidence" not in text_of(gone)
    lost = await ask(bot, maya, "account lost inc")
    assert text_of(lost).splitlines()[1] == "⚪ **Churned**: health no longer scored"
    assert "Stage: churned" in text_of(lost).splitlines() and lost.summary == "Lost Inc: churned"
    live = text_of(await ask(bot, maya, "account live co")).splitlines()
    assert live[1].startswith("🔴 **Health 30 (red)**") and "Stage: renewing" in live


# ------------------------------------------------------------------------------------------- digests


async def test_digests_leave_churned_accounts_out_but_count_their_arr(db: Database) -> None:
    w = await world(db)
    ctx = make_bot(db).context
    team = text_of(
        (
            await build_team_digest(
                ctx, owner_ids=[w.jonas, w.maya], title="Team", today=TODAY, since=day(-1)
            )
        ).reply
    )
    # Live Co alone in every section about health, renewals and milestones; the churn itself is ARR
    # history and still shows as contraction.
    assert team.splitlines() == [
        "# Team: digest for Wed 25 Nov 2026",
        "**Health of 1 account**",
        "🔴 Red: 1 (+1) · $50k ARR",
        "🟡 Yellow: 0 (-1) · $0 ARR",
        "_Movement since Tue 24 Nov 2026_",
        "**Changed band since Tue 24 Nov 2026**",
        "🔴 **Live Co**: yellow → red (50 → 30)",
        "**Falling fastest (7 days)**",
        "🔴 **Live Co** 30 ▼40 · $50k",
        "**Red and renewing within 90 days**",
        "🔴 **Live Co** 30 · $50k · renews in 20 days (Tue 15 Dec 2026) · Maya",
        "**Expansion and contraction since Tue 24 Nov 2026**",
        "Contracted -$50k (1 account)",
        "Net -$50k",
        "▼ **Gone Ltd** -$50k ($50k → $0)",
        "**Milestones overdue (1)**",
        "**Live Co**: QBR of Live Co · ⚠️ overdue 4 days",
        "Health of Wed 25 Nov 2026 | `digest list` to change your digests",
    ]
    mine = text_of((await build_csm_digest(ctx, w.maya, today=TODAY, since=day(-1))).reply)
    assert "**Your accounts (1), worst health first**" in mine and "**Live Co**: yellow → red" in mine
    assert "**Live Co**: Call Live Co" in mine and "**Live Co**: QBR of Live Co" in mine
    assert "Gone Ltd" not in mine and "Lost Inc" not in mine


# --------------------------------------------------------------------------------- alerts, reminders


async def test_no_alerts_about_churned_accounts(db: Database) -> None:
    w = await world(db)
    stats = await enqueue_health_alerts(db, day=TODAY, now=NOW, hours=None)
    assert (stats.red, stats.drop) == (1, 1)  # Live Co crossed into red and fell 40 points
    async with db.sessions() as s:
        keys = set((await s.execute(select(OutboxMessage.idempotency_key))).scalars())
    assert keys == {f"alert:{w.live}:red:{TODAY.isoformat()}"}


async def test_no_reminders_about_churned_accounts(db: Database) -> None:
    await world(db)
    stats = await enqueue_due_reminders(db, now=NOW, settings=ReminderSettings(hours=None))
    assert stats.by_kind == {"milestone": 1, "renewal": 1, "followup": 1}
    async with db.sessions() as s:
        rows = list((await s.execute(select(OutboxMessage))).scalars())
    texts = [text_of(reply_from_dict(row.payload)) for row in rows]
    assert len(texts) == 3
    assert all("Live Co" in text and "Gone" not in text and "Lost" not in text for text in texts)


# -------------------------------------------------------------------------------- the day of churn


async def churned_on(db: Database) -> dict[str, date | None]:
    async with db.sessions() as s:
        return dict((await s.execute(select(Account.external_id, Account.churned_on))).all())


async def test_imports_record_the_day_an_account_churns(db: Database, tmp_path: Path) -> None:
    await add_person(db, "ana@example.com", "Ana", "csm")

    async def load(on: date, text: str) -> None:
        path = tmp_path / "accounts.csv"
        path.write_text(text)
        moment = datetime(on.year, on.month, on.day, 9, tzinfo=UTC)
        await import_file(db, "accounts", path, options=ImportOptions(now=moment))

    header = "external_id,name,owner_email,lifecycle_stage\n"
    await load(day(-30), header + "A1,Alpha,ana@example.com,mature\nA2,Beta,ana@example.com,churned\n")
    assert await churned_on(db) == {"A1": None, "A2": day(-30)}  # new and churned: the import's day
    await load(day(-20), header + "A1,Alpha,ana@example.com,churned\nA2,Beta,ana@example.com,churned\n")
    assert await churned_on(db) == {"A1": day(-20), "A2": day(-30)}  # still churned: the day stays
    await load(day(-10), "external_id,name,owner_email\nA1,Alpha,ana@example.com\n")
    assert (await churned_on(db))["A1"] == day(-20)  # no stage in the file: nothing changes
    await load(day(-5), header + "A1,Alpha,ana@example.com,renewing\nA2,Beta,ana@example.com,\n")
    assert await churned_on(db) == {"A1": None, "A2": None}  # back (or no stage): not churned

    # The ingest API writes the same way, on the day it is given.
    handler = await load_kind(db, "accounts")
    records = [
        {"external_id": "A1", "name": "Alpha", "owner_email": "ana@example.com", "lifecycle_stage": "churned"}
    ]
    async with db.transaction() as s:
        await write_records(
            s, validate_records(handler, records), source="api", actor_label="crm", today=TODAY
        )
    assert (await churned_on(db))["A1"] == TODAY


@pytest.mark.parametrize("stage", ["churned", None])
async def test_a_churned_account_without_a_day_reads_as_churned(db: Database, stage: str | None) -> None:
    owner = await add_person(db, "ana@example.com", "Ana", "csm")
    await add_account(db, "A1", "Alpha", owner_id=owner, stage=stage)
    assert await churned_on(db) == {"A1": None}
