"""Forgiving matches: a typo of a fixed word ("renewl", "acounts"), and the names a question may use
(people, segments, tiers) matched against the vocabulary, typos allowed ("Leos", "Lео Prak",
"entreprise", "mid market").

One rule of closeness for both (:func:`distance`), strict on purpose because a refusal is better than a
wrong filter: the first letter must match (typos there are rare, and most English words near a name
differ there: "then"/"Chen"); a word of three letters is matched only exactly or with a trailing "s"
("Leos"); a word of four letters only with one letter added or left out; longer words with one edit
(a transposition counts as one: "Prak"), two from nine letters on. Only words the reader does not know
are respelled or read as names, so "same" never becomes Sam and "match" never becomes March.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel

from bot.ask.lexicon import KNOWN, TARGETS
from bot.ask.tokens import fold

STEM = 5


def distance(typed: str, target: str) -> int | None:
    """How many edits ``typed`` is from ``target`` when close enough to read as it, else None."""
    if typed == target:
        return 0
    if not typed or not target or typed[0] != target[0]:
        return None
    short = min(len(typed), len(target))
    if len(target) <= 3:
        return 1 if typed == target + "s" else None
    if short <= 4:
        edits = Indel.distance(typed, target)
        return 1 if edits == 1 else None
    edits = OSA.distance(typed, target)
    allowed = 2 if short >= 9 else 1
    return edits if edits <= allowed else None


def best(typed: str, targets: Iterable[str]) -> tuple[str, int] | None:
    """The single closest target, with its edits: fewest edits first, then fewest letters added or left
    out ("renewl" is "renewal" rather than "renews"); None when there is none, or when two different
    words tie (forms of one word, sharing their first :data:`STEM` letters, do not count as different:
    "renewl" is one edit from both "renew" and "renewal")."""
    ranked = sorted(
        (edits, Indel.distance(typed, target), target)
        for target in set(targets)
        if (edits := distance(typed, target)) is not None
    )
    if not ranked:
        return None
    tied = [target for edits, added, target in ranked if (edits, added) == ranked[0][:2]]
    if len({target[:STEM] for target in tied}) > 1:
        return None  # two different words: no guess
    return max(tied, key=len), ranked[0][0]  # a letter left out is the likelier typo


@lru_cache(maxsize=4096)
def respell(typed: str) -> tuple[str, int] | None:
    """The fixed word an unknown word is a typo of, with the edits, or None."""
    if typed in KNOWN or len(typed) < 4 or not typed.isalpha():
        return None
    near = process.extract(typed, TARGETS, scorer=Indel.normalized_similarity, score_cutoff=0.7, limit=8)
    return best(typed, (choice for choice, _score, _index in near))


@dataclass(frozen=True, slots=True)
class Person:
    person_id: int
    name: str
    parts: tuple[str, ...]  # the name's words, folded


@dataclass(frozen=True, slots=True)
class Value:
    field: str  # "segments" or "tiers"
    value: str  # as stored
    words: tuple[str, ...]  # folded words ("mid", "market")


@dataclass(frozen=True, slots=True)
class Names:
    """The vocabulary's names, ready to match tokens against."""

    people: tuple[Person, ...]
    values: tuple[Value, ...]
    parts: frozenset[str]  # every word of every name, for "is this token a name?"

    def people_for_part(self, word: str) -> list[Person]:
        return [person for person in self.people if word in person.parts]


def _words(text: str) -> tuple[str, ...]:
    return tuple(piece for piece in "".join(ch if ch.isalnum() else " " for ch in fold(text)).split())


@lru_cache(maxsize=64)
def _names(people: tuple[tuple[str, int], ...], segments: tuple[str, ...], tiers: tuple[str, ...]) -> Names:
    persons = tuple(Person(pid, name, _words(name)) for name, pid in people if _words(name))
    values = tuple(
        Value(field, value, _words(value))
        for field, items in (("segments", segments), ("tiers", tiers))
        for value in items
        if _words(value)
    )
    parts = frozenset(part for person in persons for part in person.parts) | frozenset(
        "".join(value.words) for value in values
    )
    return Names(persons, values, parts)


def names_of(people: Mapping[str, int], segments: Iterable[str], tiers: Iterable[str]) -> Names:
    """The :class:`Names` of a vocabulary (built once per distinct vocabulary)."""
    return _names(tuple(sorted(people.items())), tuple(segments), tuple(tiers))
