"""Finding an account from what a person typed: ids, names in any case or accents, prefixes and typos.

The names of all accounts are held in memory (a few MB at 20,000 accounts) and reloaded only when an
account's name or id changes, or an account comes or goes (the change marks of :mod:`storage.changes`,
one small query per look-up), so a look-up is that query plus an in-memory match: prefixes by binary
search over the sorted keys, typos by the two-stage match of :mod:`bot.core.fuzzy`.

What the answer is: the account whose id or name was typed; else the one name starting with what was
typed; else, for a typo, the one *close* name: a name scoring at least :data:`CANDIDATE_SCORE` and
within :data:`CLEAR_LEAD` points of the best (``closest`` is then set, so that the card says quietly
that it is the closest match to what was typed: a guess, however good, is shown as one). Two or more
of those (or of names starting with what was typed, or of the same name) are a choice, the first
:data:`MAX_CHOICES` of them listed with how many more there are.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from dataclasses import dataclass

from sqlalchemy import select

from bot.core.fuzzy import NameMatcher
from bot.errors import BadArguments
from storage import changes
from storage.db import Database
from storage.models import Account
from storage.names import name_key

# A name this good is close to what was typed, unless another name is more than CLEAR_LEAD better.
CANDIDATE_SCORE = 70.0
CLEAR_LEAD = 6.0
MAX_CHOICES = 5
NAME_TOPICS = ((changes.NAMES, 0),)


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: int
    name: str
    external_id: str


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Exactly one of: a ``match``; several ``candidates`` to choose from; or neither, with ``nearest``.

    ``closest``: the match is the one name close to what was typed (a typo), not its id, its name or
    the start of its name.
    ``more``: how many more names matched than the ``candidates`` listed (at least that many when
    ``more_complete`` is False: a very short or common word matched too many names to count them all).
    """

    query: str
    match: AccountRef | None = None
    candidates: tuple[AccountRef, ...] = ()
    nearest: tuple[AccountRef, ...] = ()
    closest: bool = False
    more: int = 0
    more_complete: bool = True


# A name is looked for in a message as a run of up to this many words.
NAME_WORDS = 6
PUNCTUATION = ".,;:!?()[]{}\"'“”‘’«»<>*_`"


class AccountIndex:
    """The in-memory name index for one database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._stamp: changes.Stamp | None = None
        self._stamped_at = 0.0  # time.monotonic()
        self._refs: list[AccountRef] = []
        self._keys: list[str] = []
        self._by_external_id: dict[str, AccountRef] = {}
        self._by_key: dict[str, list[AccountRef]] = {}
        self._matcher = NameMatcher([])
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        if time.monotonic() - self._stamped_at > changes.MAX_STAMP_AGE.total_seconds():
            self._stamp = None
        async with self._db.sessions() as session:
            current, stamp = await changes.check(session, NAME_TOPICS, self._stamp)
            if current:
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
        self._matcher = NameMatcher(self._keys)
        self._stamp, self._stamped_at = stamp, time.monotonic()

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
        if not exact:
            exact = self._with_prefix(key)
        if len(exact) == 1:
            return LookupResult(query=query, match=exact[0])
        if exact:
            return _choice(query, exact)
        return self._fuzzy(query, key)

    async def pick(self, typed: str) -> tuple[AccountRef | None, str | None]:
        """The one account a form's Account field names, or the problem to show under the field."""
        found = await self.find(typed)
        if found.match is not None:
            return found.match, None
        if found.candidates:
            names = ", ".join(c.name for c in found.candidates)
            return None, f"Several accounts match: {names}{more_text(found, ' (and {} more)')}."
        return None, f"No account matches “{typed}”."

    async def named_in(self, text: str, *, limit: int = 5) -> list[AccountRef]:
        """The accounts whose whole name (or external id) appears in ``text``, in order of appearance:
        what a message shortcut offers first. Word runs of up to :data:`NAME_WORDS` words are looked up
        exactly, so a name inside a longer word does not count."""
        async with self._lock:
            await self._refresh()
        words = [word.strip(PUNCTUATION) for word in name_key(text).split()]
        found: list[AccountRef] = []
        seen: set[int] = set()
        for start in range(len(words)):
            for length in range(min(NAME_WORDS, len(words) - start), 0, -1):
                key = " ".join(words[start : start + length])
                refs = self._by_key.get(key, [])
                if not refs and length == 1:
                    ref = self._by_external_id.get(key)
                    refs = [ref] if ref is not None else []
                if refs:
                    for ref in refs:
                        if ref.id not in seen:
                            seen.add(ref.id)
                            found.append(ref)
                    break
            if len(found) >= limit:
                break
        return found[:limit]

    async def search(self, query: str, *, limit: int, offset: int = 0) -> list[AccountRef]:
        """Up to ``limit`` accounts for a search box, best first, after skipping ``offset`` (a next
        page): the account whose id was typed; names equal to what was typed; names starting with it,
        the shortest first (the least left over, then name order); then names close to it (typos,
        words of the name), best score first. Unlike :meth:`find`, which wants the one account meant,
        this ranks every plausible one."""
        key = name_key(query)
        if not key or limit <= 0:
            return []
        async with self._lock:
            await self._refresh()
        wanted = offset + limit
        ranked: list[AccountRef] = []
        seen: set[int] = set()

        def add(refs: list[AccountRef]) -> None:
            for ref in refs:
                if ref.id not in seen and len(ranked) < wanted:
                    seen.add(ref.id)
                    ranked.append(ref)

        by_id = self._by_external_id.get(query.strip().casefold())
        add([by_id] if by_id is not None else [])
        add(self._by_key.get(key, []))
        if len(ranked) < wanted:
            at = bisect.bisect_left(self._keys, key)
            starting: list[tuple[int, str, int]] = []
            while at < len(self._keys) and self._keys[at].startswith(key):
                starting.append((len(self._keys[at]), self._keys[at], at))
                at += 1
            add([self._refs[at] for _, _, at in sorted(starting)])
        if len(ranked) < wanted:
            scored = self._matcher.score(key)
            add([self._refs[i] for score, i in scored.scores if score >= CANDIDATE_SCORE])
        return ranked[offset:]

    def _with_prefix(self, key: str) -> list[AccountRef]:
        """Accounts whose key starts with ``key``, in key order (a binary search, not a scan)."""
        found = []
        at = bisect.bisect_left(self._keys, key)
        while at < len(self._keys) and self._keys[at].startswith(key):
            found.append(self._refs[at])
            at += 1
        return found

    def _fuzzy(self, query: str, key: str) -> LookupResult:
        scored = self._matcher.score(key)
        best = scored.scores[0][0] if scored.scores else 0.0
        close = [i for score, i in scored.scores if score >= max(CANDIDATE_SCORE, best - CLEAR_LEAD)]
        if not close:
            nearest = self._matcher.nearest(key, 3)
            return LookupResult(query=query, nearest=tuple(self._refs[i] for i in nearest))
        if len(close) == 1:
            return LookupResult(query=query, match=self._refs[close[0]], closest=True)
        return _choice(query, [self._refs[i] for i in close], complete=scored.complete)


def _choice(query: str, refs: list[AccountRef], *, complete: bool = True) -> LookupResult:
    shown = tuple(refs[:MAX_CHOICES])
    return LookupResult(query=query, candidates=shown, more=len(refs) - len(shown), more_complete=complete)


def more_text(found: LookupResult, template: str = "…and {} more matched") -> str:
    """ "…and 3 more matched" under a cut choice list ("at least 3" when not all could be counted)."""
    if not found.more and found.more_complete:
        return ""
    count = str(found.more) if found.more_complete else f"at least {found.more}"
    return template.format(count)
