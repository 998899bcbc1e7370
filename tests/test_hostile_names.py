"""Control characters in names: removed on the way in (the ingest API, as the CSV import), and escaped on
the way out to a terminal for names stored before that (the console, piped or on a terminal)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from rich.console import Console
from sqlalchemy import select

from adapters.api import add_ingest_routes
from adapters.console.render import render_plain, render_rich
from bot.settings import get_settings
from storage.api_tokens import create_token
from storage.db import Database
from storage.models import Account, Person
from storage.names import name_key
from tests.factories import MAYA, actor_for, add_account, ask, make_bot, seed_team

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
STYLES = re.compile("\x1b\\[[0-9;]*m")
# (id, the name sent, the name stored)
NAMES_IN = [
    ("escape-sequence", "Acme \x1b[31mRed\x1b[0m", "Acme [31mRed[0m"),
    ("bell-and-backspace", "Ac\x07me\x08", "Acme"),
    ("tab-and-newline", "Acme\tRockets\nInc", "Acme Rockets Inc"),
    ("c1-csi", "Acme\x9b2J", "Acme2J"),
    ("bidi-override", "\u202eemcA\u202c", "emcA"),
]
NAMES_OUT = [
    ("clear-screen", "Evil\x1b[2J Corp", "Evil\\x1b[2J Corp"),
    ("bell", "Ding\x07 Corp", "Ding\\x07 Corp"),
    ("c1", "Odd\x9b Corp", "Odd\\x9b Corp"),
]


@pytest.mark.parametrize(("sent", "stored"), [c[1:] for c in NAMES_IN], ids=[c[0] for c in NAMES_IN])
async def test_control_characters_in_names_are_removed_by_the_ingest_api(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sent: str, stored: str
) -> None:
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    get_settings.cache_clear()
    app = web.Application()
    add_ingest_routes(app, db=db, settings=get_settings())
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        auth = {"Authorization": f"Bearer {(await create_token(db, 'crm')).secret}"}
        person = {"email": "ana@example.com", "name": sent, "role": "csm"}
        account = {"external_id": "A1", "name": sent, "owner_email": "ana@example.com"}
        assert (await client.post("/api/v1/people", json=[person], headers=auth)).status == 200
        assert (await client.post("/api/v1/accounts", json=[account], headers=auth)).status == 200
    finally:
        await client.close()
    async with db.sessions() as session:
        assert await session.scalar(select(Person.name)) == stored
        assert await session.scalar(select(Account.name)) == stored


@pytest.mark.parametrize(("name", "shown"), [c[1:] for c in NAMES_OUT], ids=[c[0] for c in NAMES_OUT])
async def test_a_stored_name_with_control_characters_is_escaped_on_a_terminal(
    db: Database, name: str, shown: str
) -> None:
    team = await seed_team(db)
    await add_account(db, "EVIL-1", name, owner_id=team.maya)
    bot = make_bot(db)
    maya = await actor_for(db, MAYA)
    reply = await ask(bot, maya, "account EVIL-1")
    plain = render_plain(reply)
    terminal = io.StringIO()
    render_rich(reply, Console(file=terminal, force_terminal=True, color_system=None, width=200))
    styled = STYLES.sub("", terminal.getvalue())  # rich's own bold and colours aside
    for output in (plain, styled):
        assert shown in output
        assert name not in output
        assert not RAW_CONTROL.search(output.replace("\n", ""))


@pytest.mark.parametrize(("sent", "stored"), [c[1:] for c in NAMES_IN], ids=[c[0] for c in NAMES_IN])
def test_control_characters_do_not_count_in_the_search_key_of_a_name(sent: str, stored: str) -> None:
    assert name_key(sent) == name_key(stored)
