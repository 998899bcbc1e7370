"""The account index at portfolio size: prefixes found by binary search in code-point order on every
backend, and typos among many names that share words."""

from __future__ import annotations

from bot.core.lookup import MAX_CHOICES, AccountIndex
from storage.db import Database
from tests.factories import add_account, add_person

# Orders that differ between PostgreSQL's usual collations (which skip spaces and punctuation) and
# code points, so a search that trusted the database's ORDER BY would miss some of them.
TRICKY_NAMES = ("Acme-X Labs", "Acme X Labs", "Acmex Labs", "Acme Rockets", "acme", "Acmé Zeta", "Ac Me")
# Many names sharing words, as a large portfolio has.
PREFIXES = ("Northwind", "Northgate", "Bellmoor", "Cedarline", "Driftwood", "Emberly", "Fernhill")
INDUSTRIES = ("Logistics", "Analytics", "Robotics", "Capital", "Foods", "Studios")
MODIFIERS = ("", "Blue ", "Summit ", "River ")


async def seed(db: Database) -> None:
    owner = await add_person(db, "owner@example.com", "Owner", "csm")
    names = [*TRICKY_NAMES]
    names += [f"{p} {m}{i}" for p in PREFIXES for m in MODIFIERS for i in INDUSTRIES]
    for n, name in enumerate(names):
        await add_account(db, f"L-{n:04d}", name, owner_id=owner)


async def test_prefix_finds_exactly_the_names_that_start_with_it(db: Database) -> None:

    await seed(db)
    index = AccountIndex(db)
    found = await index.find("acme")
    assert found.match is not None and found.match.name == "acme"  # the exact name wins

    found = await index.find("acme ")  # spaces are trimmed: same as "acme"
    assert found.match is not None and found.match.name == "acme"

    found = await index.find("acme x")
    assert [c.name for c in found.candidates] == []  # exactly one name has that key ...
    assert found.match is not None and found.match.name == "Acme X Labs"

    found = await index.find("acme-")
    assert found.match is not None and found.match.name == "Acme-X Labs"

    found = await index.find("northwind")
    assert len(found.candidates) == MAX_CHOICES
    assert all(c.name.startswith("Northwind ") for c in found.candidates)
    assert [c.name for c in found.candidates] == sorted(c.name for c in found.candidates)

    found = await index.find("northwind river r")
    assert found.match is not None and found.match.name == "Northwind River Robotics"


async def test_typos_among_names_that_share_words(db: Database) -> None:

    await seed(db)
    index = AccountIndex(db)
    found = await index.find("cedarline summit analitics")
    assert found.match is not None and found.match.name == "Cedarline Summit Analytics"

    found = await index.find("bellmoor blue robtics")
    assert found.match is not None and found.match.name == "Bellmoor Blue Robotics"

    # Close to several names at once: a choice, best first.
    found = await index.find("north logistics")
    assert found.match is None
    assert {c.name for c in found.candidates[:2]} == {"Northwind Logistics", "Northgate Logistics"}

    found = await index.find("northwnd logistics")  # one clearly ahead: the card
    assert found.match is not None and found.match.name == "Northwind Logistics"

    # Close to nothing: no candidates, but the nearest names.
    found = await index.find("qqqqzzzz")
    assert found.match is None and not found.candidates
    assert len(found.nearest) == 3
