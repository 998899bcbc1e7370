"""The seeded team with Maya and Leo known to Teams, the Teams environment over it, and the words of a
card (test fixtures the Teams adapter and messaging extension tests share)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from storage.db import Database
from storage.models import Person
from tests.factories import LEO, MAYA, PRIYA, Team, seed_team
from tests.teams_activities import TeamsUser, user
from tests.teams_env import TeamsEnv, teams_env

MAYA_T = user("maya", "Maya Chen", MAYA)
LEO_T = user("leo", "Leo Park", LEO)
PRIYA_T = user("priya", "Priya Raman", PRIYA)
STRANGER_T = user("zed", "Zed Unknown", "zed@elsewhere.example")


async def link(db: Database, email: str, who: TeamsUser) -> None:
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.email == email).values(teams_user_id=who.aad))


@pytest.fixture
async def team(db: Database) -> Team:
    team = await seed_team(db)
    await link(db, MAYA, MAYA_T)
    await link(db, LEO, LEO_T)
    return team


@pytest.fixture
async def env(db: Database, tmp_path: Path, team: Team) -> AsyncIterator[TeamsEnv]:
    async for e in teams_env(db, tmp_path):
        yield e


def texts_of(card: dict[str, Any]) -> str:
    """Everything a card shows, one piece per line (inputs by their labels)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                found.append(node["text"])
            if node.get("type") == "FactSet":
                found.extend(f"{f['title']}: {f['value']}" for f in node["facts"])
            if str(node.get("type", "")).startswith("Input."):
                found.append(str(node.get("label", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card.get("body"))
    return "\n".join(found).replace("**", "")
