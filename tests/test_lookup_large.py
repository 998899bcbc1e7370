"""The account index at portfolio size: prefixes found by binary search in code-point order on every
backend, and typos among many names that share words."""

from __future__ import annotations

import random

from rapidfuzz import fuzz, process

from bot.core.fuzzy import NameMatcher
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


# --------------------------------------------------------------------------- the two-stage match


def _variants(name: str) -> list[str]:
    """The typos people make in the longest word: a letter changed, dropped, doubled, swapped."""
    words = name.split(" ")
    at = max(range(len(words)), key=lambda i: len(words[i]))
    word, mid = words[at], len(words[at]) // 2
    typos = (
        word[:mid] + ("x" if word[mid] != "x" else "y") + word[mid + 1 :],
        word[:mid] + word[mid + 1 :],
        word[:mid] + word[mid] + word[mid:],
        word[: mid - 1] + word[mid] + word[mid - 1] + word[mid + 1 :],
    )
    return [" ".join([*words[:at], typo, *words[at + 1 :]]) for typo in typos]


def test_two_stages_find_what_scoring_every_name_finds() -> None:
    """On thousands of names that share words, the preselected few hold the best match of a full scan."""
    rng = random.Random(11)
    firsts = [
        f"{a}{b}"
        for a in ("amber", "birch", "cedar", "dusk", "elm", "fern", "glen", "hazel")
        for b in ("field", "wood", "brook", "mere", "crest")
    ]
    middles = ("", "blue ", "summit ", "river ", "north ", "granite ", "union ")
    industries = ("logistics", "analytics", "robotics", "capital", "foods", "studios", "travel", "freight")
    keys = sorted({f"{f} {m}{i}" for f in firsts for m in middles for i in industries})
    matcher = NameMatcher(keys)
    for name in rng.sample(keys, 60):
        for typed in _variants(name):
            full = process.extract(typed, keys, scorer=fuzz.WRatio, limit=None)
            best = full[0][1]
            scored = matcher.score(typed)
            assert scored.scores[0][0] == best, typed
            tied = {keys[i] for score, i in scored.scores if score == best}
            assert keys[full[0][2]] in tied, typed
