"""Scoring a typed name against every account name, in two stages so that it stays fast at 20,000 names.

``fuzz.WRatio`` judges typos well (it weighs whole-name, partial and word-order similarity) but costs
about half a microsecond per name: 10 ms over 20,000 names, most of an account card's time. So a cheap
scorer goes first: the length of the longest common subsequence (``LCSseq.similarity``, bit-parallel,
about 40 ns a name) keeps the names that hold most of the typed characters in order, which a name with
a letter missing, wrong or swapped always does (as does a name the typed words are the start or a part
of). WRatio then scores only those few. Typed words in another order than the name's defeat the
subsequence, so when nothing scores well a second cheap pass compares the words sorted.

The first stage keeps at most :data:`POOL` names; when it is full, counts of matches are lower bounds
(:attr:`Scored.complete` is False).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

# A name is scored by WRatio when it holds at least this share of the typed characters in order.
PRESELECT_SHARE = 0.75
POOL = 256
# Below this best score the words are compared sorted as well (a name typed in another word order).
REORDERED_BELOW = 90.0
# When no name holds enough of the typed characters: how many come closest anyway, to name the nearest.
NEAREST_POOL = 16


@dataclass(frozen=True, slots=True)
class Scored:
    """WRatio scores of the names the first stage kept: ``(score, index)``, best first, ties in index
    order. ``complete`` is False when the first stage stopped at :data:`POOL` names."""

    scores: tuple[tuple[float, int], ...]
    complete: bool


def sorted_words(key: str) -> str:
    return " ".join(sorted(key.split(" ")))


class NameMatcher:
    """The names of one index (name keys, in index order), prepared for both passes."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = list(keys)
        self._reordered = [sorted_words(key) for key in self._keys]

    def score(self, key: str) -> Scored:
        """The names close to ``key`` (a name key), scored by WRatio."""
        pool, complete = self._preselect(key, self._keys, key)
        scores = self._wratio(key, pool)
        if not scores or scores[0][0] < REORDERED_BELOW:
            reordered = sorted_words(key)
            extra, extra_complete = self._preselect(reordered, self._reordered, key)
            new = extra - pool
            if new:
                scores = _best_first([*scores, *self._wratio(key, new)])
            complete = complete and extra_complete
        return Scored(tuple(scores), complete)

    def nearest(self, key: str, count: int) -> list[int]:
        """The ``count`` names closest to ``key`` however far they are (for "no account matches")."""
        found = process.extract(key, self._keys, scorer=LCSseq.similarity, limit=NEAREST_POOL)
        scores = self._wratio(key, {index for _, _, index in found})
        return [index for _, index in scores[:count]]

    def _preselect(self, query: str, choices: list[str], key: str) -> tuple[set[int], bool]:
        cutoff = math.ceil(PRESELECT_SHARE * len(key))
        found = process.extract(query, choices, scorer=LCSseq.similarity, score_cutoff=cutoff, limit=POOL)
        return {index for _, _, index in found}, len(found) < POOL

    def _wratio(self, key: str, pool: set[int]) -> list[tuple[float, int]]:
        ordered = sorted(pool)
        scored = process.extract(key, [self._keys[i] for i in ordered], scorer=fuzz.WRatio, limit=None)
        return _best_first([(score, ordered[at]) for _, score, at in scored])


def _best_first(scores: list[tuple[float, int]]) -> list[tuple[float, int]]:
    return sorted(scores, key=lambda item: (-item[0], item[1]))
