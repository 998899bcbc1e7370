"""A tampered More button: an offset that is not a whole number from 0 to the maximum is refused with a
message, for lists paged in Python and in SQL alike (on SQLite and PostgreSQL), never a crash."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from bot.actions import PAGE_MORE
from bot.core.paging import MAX_OFFSET, STALE_PAGE
from bot.types import JSONScalar
from storage.db import Database
from tests.factories import MAYA, action, actor_for, as_reply, make_bot, seed_team, text_of

# (id, the offset the button sends back)
REFUSED: list[tuple[str, JSONScalar]] = [
    ("ten-to-the-19", 10**19),
    ("ten-to-the-19-as-text", str(10**19)),
    ("past-the-maximum", MAX_OFFSET + 1),
    ("negative", -1),
    ("negative-text", "-10"),
    ("fraction", 10.5),
    ("boolean", True),
    ("words", "ten"),
    ("fullwidth-digits", "１０"),
]
# Paged in Python (my, followups) and with OFFSET in SQL (risk, renewals).
COMMANDS = ["my", "followups", "risk", "renewals 365"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("offset", [c[1] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_a_tampered_offset_is_refused_with_a_message(
    db: Database, command: str, offset: JSONScalar
) -> None:
    await seed_team(db)
    bot = make_bot(db)
    maya = await actor_for(db, MAYA)
    name, _, args = command.partition(" ")
    with capture_logs() as logs:
        reply = as_reply(
            await bot.handle(action(maya, PAGE_MORE, {"command": name, "args": args, "offset": offset}))
        )
    assert text_of(reply) == STALE_PAGE
    assert not [e for e in logs if e["log_level"] == "error"]


@pytest.mark.parametrize("offset", [0, "0", 10, "10", None, ""])
async def test_a_fair_offset_still_pages(db: Database, offset: JSONScalar) -> None:
    await seed_team(db)
    bot = make_bot(db)
    maya = await actor_for(db, MAYA)
    reply = as_reply(
        await bot.handle(action(maya, PAGE_MORE, {"command": "my", "args": "", "offset": offset}))
    )
    assert STALE_PAGE not in text_of(reply)
    assert "Acme Rockets" in text_of(reply)
