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
from dataclasses import dataclass, field
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
    # Indexes built once per vocabulary, so that a token is compared with the people who have one of its
    # words rather than with all of them (a thousand people made a question take 7 ms, 20 ms at p99).
    person_parts: frozenset[str] = field(init=False)  # every word of every person's name
    by_part: dict[str, tuple[Person, ...]] = field(init=False)  # a word -> the people with it
    by_place: dict[tuple[int, str], tuple[int, ...]] = field(init=False)  # (n, word) -> people, n-th word
    longest: int = field(init=False)  # the most words in a person's name

    def __post_init__(self) -> None:
        by_part: dict[str, list[Person]] = {}
        by_place: dict[tuple[int, str], list[int]] = {}
        for index, person in enumerate(self.people):
            for place, part in enumerate(person.parts):
                if person not in by_part.setdefault(part, []):
                    by_part[part].append(person)
                by_place.setdefault((place, part), []).append(index)
        object.__setattr__(self, "person_parts", frozenset(by_part))
        object.__setattr__(self, "by_part", {part: tuple(people) for part, people in by_part.items()})
        object.__setattr__(self, "by_place", {key: tuple(found) for key, found in by_place.items()})
        object.__setattr__(self, "longest", max((len(person.parts) for person in self.people), default=0))

    def people_for_part(self, word: str) -> list[Person]:
        return list(self.by_part.get(word, ()))

    def people_sharing_a_word(self, words: list[str]) -> list[Person]:
        """The people whose n-th word is the n-th of ``words``, for some n, in the vocabulary's order."""
        found = {index for place, word in enumerate(words) for index in self.by_place.get((place, word), ())}
        return [self.people[index] for index in sorted(found)]


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
