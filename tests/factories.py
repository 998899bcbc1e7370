"""Small, exact datasets for the bot tests, written straight through the models, and helpers to talk to
the bot as a given person at a fixed moment (Wednesday 25 November 2026, 12:00 UTC).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.dispatch import Bot
from bot.core.grammar import parse
from bot.core.identity import find_by_email
from bot.settings import Settings
from bot.types import (
    Actions,
    Actor,
    Address,
    Button,
    Context,
    Fields,
    Form,
    Header,
    JSONScalar,
    Platform,
    Reply,
    Request,
    RequestKind,
    Response,
    Text,
)
from handlers import build_bot
from storage.db import Database
from storage.models import (
    Account,
    AuditEvent,
    Band,
    FollowUp,
    HealthSnapshot,
    Milestone,
    Person,
    SurveyResponse,
    UsageMetric,
)
from storage.names import name_key

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
TODAY = NOW.date()
ADDRESS = Address(platform=Platform.CONSOLE, target="tests")


def day(offset: int) -> date:
    """TODAY moved by ``offset`` days."""
    return TODAY + timedelta(days=offset)


def fixed_clock() -> datetime:
    return NOW


def settings_for(db: Database) -> Settings:
    """Settings that read no local configuration: the built-in health model, UTC as the default zone."""
    return Settings(
        database_url=db.url,
        config_file=Path(__file__).parent / "no-such-dir" / "touchpoint.toml",
        default_timezone="UTC",
    )


def make_bot(db: Database) -> Bot:
    return build_bot(db, settings_for(db), clock=fixed_clock)


# ----------------------------------------------------------------------------------------------- rows

Target = Database | AsyncSession


@asynccontextmanager
async def _writing(target: Target) -> AsyncIterator[AsyncSession]:
    """A transaction of its own for a Database; an already open session is used as it is."""
    if isinstance(target, AsyncSession):
        yield target
    else:
        async with target.transaction() as session:
            yield session


async def add_person(
    db: Target,
    email: str,
    name: str,
    role: str,
    *,
    manager_id: int | None = None,
    timezone: str = "UTC",
    slack_user_id: str | None = None,
    teams_user_id: str | None = None,
) -> int:
    async with _writing(db) as s:
        person = Person(
            email=email,
            name=name,
            role=role,
            manager_id=manager_id,
            timezone=timezone,
            slack_user_id=slack_user_id,
            teams_user_id=teams_user_id,
        )
        s.add(person)
        await s.flush()
        return person.id


async def add_account(
    db: Target,
    external_id: str,
    name: str,
    *,
    owner_id: int | None,
    segment: str | None = None,
    tier: str | None = None,
    arr: int | None = None,
    stage: str | None = None,
    renewal: date | None = None,
    churned_on: date | None = None,
) -> int:
    async with _writing(db) as s:
        account = Account(
            external_id=external_id,
            name=name,
            name_key=name_key(name),
            owner_id=owner_id,
            segment=segment,
            tier=tier,
            arr=None if arr is None else Decimal(arr),
            lifecycle_stage=stage,
            renewal_date=renewal,
            churned_on=churned_on,
        )
        s.add(account)
        await s.flush()
        return account.id


Component = tuple[str, float, float, str]  # name, score, weight, reason


async def add_snapshot(
    db: Target,
    account_id: int,
    on: date,
    score: float | None,
    *,
    components: tuple[Component, ...] = (),
    confidence: float = 1.0,
) -> None:
    band = Band.UNKNOWN
    if score is not None:
        band = Band.GREEN if score >= 70 else Band.YELLOW if score >= 40 else Band.RED
    async with _writing(db) as s:
        s.add(
            HealthSnapshot(
                account_id=account_id,
                day=on,
                score=score,
                band=band.value,
                confidence=confidence,
                components={n: {"score": sc, "weight": w, "reason": r} for n, sc, w, r in components},
            )
        )


async def add_milestone(
    db: Target,
    account_id: int,
    name: str,
    due: date,
    *,
    kind: str = "other",
    completed_at: datetime | None = None,
    snoozed_until: date | None = None,
) -> int:
    async with _writing(db) as s:
        milestone = Milestone(
            account_id=account_id,
            name=name,
            kind=kind,
            due_date=due,
            completed_at=completed_at,
            snoozed_until=snoozed_until,
        )
        s.add(milestone)
        await s.flush()
        return milestone.id


async def add_follow_up(
    db: Target,
    account_id: int,
    *,
    author_id: int | None,
    summary: str,
    kind: str = "call",
    next_step: str | None = None,
    due: date | None = None,
    status: str = "open",
    snoozed_until: date | None = None,
    created_at: datetime = NOW - timedelta(days=2),
) -> int:
    async with _writing(db) as s:
        follow_up = FollowUp(
            account_id=account_id,
            author_id=author_id,
            kind=kind,
            summary=summary,
            next_step=next_step,
            due_date=due,
            status=status,
            snoozed_until=snoozed_until,
            created_at=created_at,
            done_at=created_at if status == "done" else None,
        )
        s.add(follow_up)
        await s.flush()
        return follow_up.id


async def add_survey(
    db: Target, account_id: int, kind: str, score: int, *, comment: str | None, submitted_at: datetime
) -> None:
    async with _writing(db) as s:
        s.add(
            SurveyResponse(
                account_id=account_id,
                kind=kind,
                score=score,
                comment=comment,
                submitted_at=submitted_at,
                natural_key=f"{account_id}-{kind}-{submitted_at.isoformat()}",
            )
        )


# ------------------------------------------------------------------------------------------- the team

MAYA = "maya@example.com"
LEO = "leo@example.com"
JONAS = "jonas@example.com"
OLGA = "olga@example.com"
PRIYA = "priya@example.com"
SAM = "sam@example.com"

ACME_ROCKETS_COMPONENTS: tuple[Component, ...] = (
    ("license_utilisation", 30.0, 20.0, "30% of licensed seats active"),
    ("usage_trend", 20.0, 15.0, "active users down 54% in 30 days"),
    ("nps", 20.0, 10.0, "3 detractors in 90 days"),
    ("csat", 50.0, 10.0, "50% satisfied"),
    ("engagement_recency", 100.0, 10.0, "last follow-up 2 days ago"),
)


@dataclass(frozen=True, slots=True)
class Team:
    """Two CS teams. Jonas manages Maya, Olga manages Leo; Priya is CX, Sam an admin.

    Maya owns Acme Rockets (red, falling), Acme Robotics (green) and Café Lumière Studios (yellow, down
    15 points in 30 days); Leo owns Brightwater Logistics (green) and Grünfeld Maschinenbau (red).
    Nimbus Freight has no owner and no health data.
    """

    jonas: int
    olga: int
    maya: int
    leo: int
    priya: int
    sam: int
    acme_rockets: int
    acme_robotics: int
    cafe: int
    brightwater: int
    grunfeld: int
    nimbus: int
    # milestones
    qbr_nov: int  # Acme Rockets, overdue 9 days
    proposal: int  # Acme Rockets, overdue 4 days
    renewal_jan: int  # Acme Rockets, in 41 days
    kickoff: int  # Acme Rockets, done
    go_live: int  # Café, in 3 days
    snoozed_step: int  # Café, overdue but snoozed until day(2)
    qbr_dec: int  # Acme Robotics, in 10 days
    first_value: int  # Grünfeld, overdue 45 days
    brightwater_qbr: int  # Brightwater, in 6 days
    # follow-ups
    call_cfo: int  # Acme Rockets by Maya, next step due 5 days ago
    nps_email: int  # Café by Maya, next step due in 2 days
    old_call: int  # Acme Rockets by Maya, done
    deck: int  # Brightwater by Leo, due yesterday
    adoption: int  # Acme Robotics by Maya, snoozed until day(3)
    survey_note: int  # Grünfeld by Priya, no due date


async def seed_team(database: Database) -> Team:
    async with database.transaction() as session:
        return await _seed_team(session)


async def _seed_team(db: AsyncSession) -> Team:
    jonas = await add_person(db, JONAS, "Jonas Albrecht", "cs_manager", timezone="Europe/Berlin")
    olga = await add_person(db, OLGA, "Olga Berg", "cs_manager")
    maya = await add_person(db, MAYA, "Maya Chen", "csm", manager_id=jonas, timezone="America/New_York")
    leo = await add_person(db, LEO, "Leo Park", "csm", manager_id=olga)
    priya = await add_person(db, PRIYA, "Priya Raman", "cx", timezone="Europe/London")
    sam = await add_person(db, SAM, "Sam Okafor", "admin", timezone="Asia/Singapore")

    acme_rockets = await add_account(
        db,
        "ACME-001",
        "Acme Rockets",
        owner_id=maya,
        segment="enterprise",
        tier="gold",
        arr=438_000,
        stage="renewing",
        renewal=day(41),
    )
    acme_robotics = await add_account(
        db,
        "ACME-002",
        "Acme Robotics",
        owner_id=maya,
        segment="mid-market",
        tier="gold",
        arr=139_000,
        stage="adopting",
        renewal=day(200),
    )
    cafe = await add_account(
        db,
        "CAFE-001",
        "Café Lumière Studios",
        owner_id=maya,
        segment="mid-market",
        tier="silver",
        arr=96_000,
        stage="renewing",
        renewal=day(75),
    )
    brightwater = await add_account(
        db,
        "BRW-001",
        "Brightwater Logistics",
        owner_id=leo,
        segment="enterprise",
        tier="platinum",
        arr=610_000,
        stage="mature",
        renewal=day(25),
    )
    grunfeld = await add_account(
        db,
        "GRU-001",
        "Grünfeld Maschinenbau",
        owner_id=leo,
        segment="smb",
        tier="bronze",
        arr=12_000,
        stage="onboarding",
        renewal=day(270),
    )
    nimbus = await add_account(db, "NIM-001", "Nimbus Freight", owner_id=None, segment="smb", arr=8_000)

    await add_snapshot(db, acme_rockets, TODAY, 37, components=ACME_ROCKETS_COMPONENTS)
    await add_snapshot(db, acme_rockets, day(-7), 46)
    await add_snapshot(db, acme_rockets, day(-30), 81)
    await add_snapshot(db, acme_robotics, TODAY, 92)
    await add_snapshot(db, acme_robotics, day(-30), 95)
    await add_snapshot(db, cafe, TODAY, 55, components=(("nps", 10.0, 10.0, "4 detractors in 90 days"),))
    await add_snapshot(db, cafe, day(-30), 70)
    await add_snapshot(db, brightwater, TODAY, 88)
    await add_snapshot(db, grunfeld, TODAY, 31)
    await add_snapshot(db, grunfeld, day(-30), 35)

    await add_survey(
        db,
        acme_rockets,
        "nps",
        3,
        comment="Every release breaks one of our saved reports.",
        submitted_at=NOW - timedelta(days=6),
    )
    await add_survey(db, acme_rockets, "nps", 9, comment="Great onboarding", submitted_at=NOW - timedelta(60))
    await add_survey(db, acme_rockets, "csat", 3, comment=None, submitted_at=NOW - timedelta(days=3))

    return Team(
        jonas=jonas,
        olga=olga,
        maya=maya,
        leo=leo,
        priya=priya,
        sam=sam,
        acme_rockets=acme_rockets,
        acme_robotics=acme_robotics,
        cafe=cafe,
        brightwater=brightwater,
        grunfeld=grunfeld,
        nimbus=nimbus,
        qbr_nov=await add_milestone(db, acme_rockets, "QBR Nov 2026", day(-9), kind="qbr"),
        proposal=await add_milestone(db, acme_rockets, "Renewal proposal sent", day(-4)),
        renewal_jan=await add_milestone(db, acme_rockets, "Renewal Jan 2027", day(41), kind="renewal"),
        kickoff=await add_milestone(
            db, acme_rockets, "Kickoff", day(-300), kind="kickoff", completed_at=NOW - timedelta(300)
        ),
        go_live=await add_milestone(db, cafe, "Go-live", day(3), kind="go_live"),
        snoozed_step=await add_milestone(db, cafe, "Data migration", day(-20), snoozed_until=day(2)),
        qbr_dec=await add_milestone(db, acme_robotics, "QBR Dec 2026", day(10), kind="qbr"),
        first_value=await add_milestone(db, grunfeld, "First value", day(-45), kind="first_value"),
        brightwater_qbr=await add_milestone(db, brightwater, "QBR Q4", day(6), kind="qbr"),
        call_cfo=await add_follow_up(
            db,
            acme_rockets,
            author_id=maya,
            summary="Call with the CFO",
            next_step="Send the recording",
            due=day(-5),
        ),
        nps_email=await add_follow_up(
            db,
            cafe,
            author_id=maya,
            kind="email",
            summary="Asked about the NPS answer",
            next_step="Book a call with the sponsor",
            due=day(2),
            created_at=NOW - timedelta(days=10),
        ),
        old_call=await add_follow_up(
            db,
            acme_rockets,
            author_id=maya,
            summary="Kickoff call",
            status="done",
            created_at=NOW - timedelta(days=40),
        ),
        deck=await add_follow_up(
            db,
            brightwater,
            author_id=leo,
            kind="meeting",
            summary="QBR prep",
            next_step="Send the QBR deck",
            due=day(-1),
        ),
        adoption=await add_follow_up(
            db,
            acme_robotics,
            author_id=maya,
            summary="Adoption review",
            next_step="Check feature adoption",
            due=day(-2),
            snoozed_until=day(3),
        ),
        survey_note=await add_follow_up(
            db,
            grunfeld,
            author_id=priya,
            kind="note",
            summary="Detractor comment",
            next_step="Share the survey results",
        ),
    )


# ------------------------------------------------------------------------------------------ requests


async def actor_for(db: Database, email: str) -> Actor:
    """The registered person with ``email``, as the console would resolve them."""
    actor = await find_by_email(db, Platform.CONSOLE, email)
    assert actor is not None, email
    return actor


def command(actor: Actor, text: str) -> Request:
    """What an adapter builds from typed text."""
    parsed = parse(text)
    return Request(
        kind=RequestKind.COMMAND,
        actor=actor,
        address=ADDRESS,
        command=parsed.command,
        args=parsed.args,
        text=parsed.text,
        share=parsed.share,
    )


def action(actor: Actor, name: str, payload: Mapping[str, JSONScalar]) -> Request:
    """A button click; the payload may be forged."""
    return Request(kind=RequestKind.ACTION, actor=actor, address=ADDRESS, action=name, payload=dict(payload))


def click(actor: Actor, button: Button) -> Request:
    return action(actor, button.action, button.payload)


def submit(actor: Actor, form: Form, values: dict[str, str]) -> Request:
    return Request(
        kind=RequestKind.SUBMIT,
        actor=actor,
        address=ADDRESS,
        action=form.submit_action,
        payload=dict(form.payload),
        values=values,
    )


async def ask(bot: Bot, actor: Actor, text: str) -> Reply:
    """Run a typed command and return its Reply (failing when a Form comes back)."""
    return as_reply(await bot.handle(command(actor, text)))


async def press(bot: Bot, actor: Actor, button: Button) -> Response:
    return await bot.handle(click(actor, button))


def as_reply(response: Response) -> Reply:
    assert isinstance(response, Reply), response
    return response


def as_form(response: Response) -> Form:
    assert isinstance(response, Form), response
    return response


def text_of(reply: Reply) -> str:
    """Everything a reply shows, one line per line, markup kept: for exact assertions."""
    lines: list[str] = []
    for block in reply.blocks:
        if isinstance(block, Header):
            lines.append(f"# {block.text}")
        elif isinstance(block, Text):
            lines.extend(block.text.splitlines())
        elif isinstance(block, Fields):
            lines.extend(f"{label}: {value}" for label, value in block.items)
        elif isinstance(block, Context):
            lines.append(" | ".join(block.lines))
        elif isinstance(block, Actions):
            lines.append(" ".join(f"[{b.label}]" for b in block.buttons))
    return "\n".join(lines)


def button(reply: Reply, label: str) -> Button:
    """The one button labelled ``label`` (or starting with it)."""
    found = [b for b in reply.buttons if b.label == label or b.label.startswith(label)]
    assert len(found) == 1, (label, [b.label for b in reply.buttons])
    return found[0]


async def audit_events(db: Database) -> list[AuditEvent]:
    async with db.sessions() as s:
        return list((await s.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars())


async def count(db: Database, model: Any) -> int:
    async with db.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def get_row(db: Database, model: Any, key: Any) -> Any:
    async with db.sessions() as s:
        return await s.get(model, key)


async def usage_series(db: Database, external_id: str, metric: str) -> dict[date, float]:
    """The daily values of ``metric`` stored for the account ``external_id``."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(UsageMetric.day, UsageMetric.value)
            .join(Account, Account.id == UsageMetric.account_id)
            .where(Account.external_id == external_id, UsageMetric.metric == metric)
        )
        return dict(rows.all())
