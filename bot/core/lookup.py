"""Finding an account from what a person typed: ids, names in any case or accents, prefixes and typos.

The names of all accounts are held in memory (a few MB at 20,000 accounts) and reloaded only when the
account table changes, so a look-up is one cheap freshness query plus an in-memory match: prefixes by
binary search over the sorted keys, typos by a fuzzy scan that skips names below the candidate score
(at 20,000 accounts the scan is most of a look-up's time; see bench/http_bench.py).
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process
from sqlalchemy import func, select

from bot.errors import BadArguments
from storage.db import Database
from storage.models import Account
from storage.names import name_key

# A fuzzy match this good, and clearly ahead of the next one, is taken as the answer.
CONFIDENT_SCORE = 85.0
CLEAR_LEAD = 6.0
# Matches at least this good are offered as choices.
CANDIDATE_SCORE = 70.0
MAX_CHOICES = 5


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: int
    name: str
    external_id: str


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Exactly one of: a ``match``; several ``candidates`` to choose from; or neither, with ``nearest``."""

    query: str
    match: AccountRef | None = None
    candidates: tuple[AccountRef, ...] = ()
    nearest: tuple[AccountRef, ...] = ()


class AccountIndex:
    """The in-memory name index for one database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._version: tuple[int, datetime | None] | None = None
        self._refs: list[AccountRef] = []
        self._keys: list[str] = []
        self._by_external_id: dict[str, AccountRef] = {}
        self._by_key: dict[str, list[AccountRef]] = {}
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with self._db.sessions() as session:
            version_row = (
                await session.execute(select(func.count(Account.id), func.max(Account.updated_at)))
            ).one()
            version = (int(version_row[0]), version_row[1])
            if version == self._version:
                return
            rows = (
                await session.execute(select(Account.id, Account.name, Account.external_id, Account.name_key))
            ).all()
        # Sorted here, not by the database: PostgreSQL's collation need not be the code-point order that
        # the binary search of prefixes relies on. Ties (the same name twice) keep the id order.
        rows = sorted(rows, key=lambda r: (r.name_key, r.id))
        refs = [AccountRef(id=r.id, name=r.name, external_id=r.external_id) for r in rows]
        by_key: dict[str, list[AccountRef]] = {}
        for ref, row in zip(refs, rows, strict=True):
            by_key.setdefault(row.name_key, []).append(ref)
        self._refs = refs
        self._keys = [r.name_key for r in rows]
        self._by_key = by_key
        self._by_external_id = {r.external_id.casefold(): r for r in refs}
        self._version = version

    async def find(self, query: str) -> LookupResult:
        key = name_key(query)
        if not key:
            raise BadArguments("Which account? Give a name or an id, for example `account acme`.")
        async with self._lock:
            await self._refresh()
        by_id = self._by_external_id.get(query.strip().casefold())
        if by_id is not None:
            return LookupResult(query=query, match=by_id)
        exact = self._by_key.get(key, [])
        if len(exact) == 1:
            return LookupResult(query=query, match=exact[0])
        if exact:
            return LookupResult(query=query, candidates=tuple(exact[:MAX_CHOICES]))
        prefixed = self._with_prefix(key)
        if len(prefixed) == 1:
            return LookupResult(query=query, match=prefixed[0])
        if prefixed:
            return LookupResult(query=query, candidates=tuple(prefixed[:MAX_CHOICES]))
        return self._fuzzy(query, key)

    async def pick(self, typed: str) -> tuple[AccountRef | None, str | None]:
        """The one account a form's Account field names, or the problem to show under the field."""
        found = await self.find(typed)
        if found.match is not None:
            return found.match, None
        if found.candidates:
            return None, "Several accounts match: " + ", ".join(c.name for c in found.candidates) + "."
        return None, f"No account matches “{typed}”."

    def _with_prefix(self, key: str) -> list[AccountRef]:
        """Accounts whose key starts with ``key``, in key order (a binary search, not a scan)."""
        found = []
        at = bisect.bisect_left(self._keys, key)
        while at < len(self._keys) and self._keys[at].startswith(key):
            found.append(self._refs[at])
            at += 1
        return found

    def _fuzzy(self, query: str, key: str) -> LookupResult:
        # The cut-off lets the scorer give up early on hopeless names: a third less time at 20,000.
        scored = process.extract(
            key, self._keys, scorer=fuzz.WRatio, limit=MAX_CHOICES, score_cutoff=CANDIDATE_SCORE
        )
        if not scored:
            # Nothing close: the nearest names anyway, to show what there is.
            nearest = process.extract(key, self._keys, scorer=fuzz.WRatio, limit=3)
            return LookupResult(query=query, nearest=tuple(self._refs[i] for _, _, i in nearest))
        best_score = scored[0][1]
        runner_up = scored[1][1] if len(scored) > 1 else 0.0
        if best_score >= CONFIDENT_SCORE and best_score - runner_up >= CLEAR_LEAD:
            return LookupResult(query=query, match=self._refs[scored[0][2]])
        return LookupResult(query=query, candidates=tuple(self._refs[i] for _, _, i in scored))
