"""The deterministic reader: a question in plain words becomes a :class:`~bot.ask.filter.Filter`, or a
refusal, without a network or a model, the same way every time.

It reads in passes over the question's tokens (:mod:`bot.ask.tokens`): first the names the vocabulary
knows (people, segments, tiers; typos allowed, see :mod:`bot.ask.fuzzy`), then typos of the fixed words,
then the patterns, most specific first (:mod:`bot.ask.rules`, :mod:`bot.ask.periods`). What no pattern
used is either a filler word or unknown. The reader would rather refuse than guess: two unknown words,
a negation it could not apply ("accounts without detractors"), a word that looks like an account's
name ("is Globex at risk?"), an unknown word that narrows down the accounts ("fintech accounts",
"customers in Germany"), a statistic or advice it cannot give ("average", "focus"), a request to act
("email Acme"), a "why", or clashing readings (two people, two orders) all make it refuse; any other
single unknown word is reported beside an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta

from rapidfuzz.distance import OSA

from bot.ask import periods, rules
from bot.ask.draft import Draft, rx
from bot.ask.filter import Filter, FilterError, Owner, Trend, filter_from_dict, filter_to_dict
from bot.ask.fuzzy import Names, Person, Value, best, distance, names_of, respell
from bot.ask.lexicon import ACTIONS, FILLER, KNOWN, NEGATIONS
from bot.ask.tokens import Token, tokenize

DEFAULT_RENEWAL_DAYS = 90
DEFAULT_TREND = (5.0, 30)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    today: date  # the asker's today
    people: Mapping[str, int]  # full name -> person id ("Leo Park" -> 4)
    segments: tuple[str, ...]  # as stored in the data ("Enterprise", "Mid-Market", "SMB")
    tiers: tuple[str, ...]  # as stored ("Gold", "Silver", "Bronze")


@dataclass(frozen=True, slots=True)
class Reading:
    filter: Filter | None  # None: a refusal (could not read the question well enough)
    unknown: tuple[str, ...] = ()  # words it could not use, as typed, in order
    notes: tuple[str, ...] = ()  # how it read fuzzy words ("“entreprise” read as Enterprise")


# The order the families run in: each may use words only the ones before it left.
RULES = [
    *rules.AGGREGATES,
    *rules.LIMITS,
    *rules.FLAGS,
    *periods.UNTOUCHED,
    *periods.RENEWAL,
    *rules.CHURNED,
    *periods.TREND,
    *rules.SCORES,
    *rules.MONEY_RULES,
    *periods.WINDOWS,
    *rules.SORTS,
    *rules.BANDS_RULES,
    *rules.STAGES,
    *rules.OWNERS,
]
_VALUE_CONTEXT = rx(
    r"(?:(?:in|from|of) )?(?:the )?(?:(?:tier|segment|level)s? (?:of |is |= )?)?(?:@segment|@tier)"
    r"(?: (?:tier|tiers|segment|segments|level|levels))?"
)
_LEAD_IN = frozenset(
    [
        "please",
        "can",
        "could",
        "would",
        "will",
        "you",
        "i",
        "we",
        "want",
        "to",
        "need",
        "help",
        "me",
        "let",
        "'s",
        "go",
        "ahead",
        "hey",
        "hi",
        "and",
    ]
)
_PLACE_WORDS = frozenset({"in", "from", "across", "within", "throughout"})
_YES_NO = frozenset({"is", "does", "has", "was", "did"})
_SINGULAR = frozenset({"account", "customer", "client", "company"})
_PLURAL = frozenset({"accounts", "customers", "clients", "companies", "ones", "logos"})


# Names ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Hit:
    length: int
    exact: bool
    target: Person | Value | None  # None: two people share the name typed


def _loose(typed: str, part: str) -> int | None:
    """A name's word beside another that matched: one edit allowed even in a short word ("Prak")."""
    edits = distance(typed, part)
    if edits is not None:
        return edits
    if len(typed) >= 3 and len(part) >= 3 and typed[0] == part[0]:
        return 1 if OSA.distance(typed, part) == 1 else None
    return None


def _name_word_ok(tokens: list[Token], index: int) -> bool:
    """A name's word that is also an ordinary word ("Will", "Rose") counts only when it looks like a
    name: a capital letter inside the sentence, or "'s" after it."""
    token = tokens[index]
    if token.norm not in KNOWN:
        return True
    follows = tokens[index + 1].norm if index + 1 < len(tokens) else ""
    return follows == "'s" or (token.capital and token.word > 0)


def _closer_as_word(typed: str, edits: int) -> bool:
    word = respell(typed)
    return word is not None and word[1] <= edits


def _people_at(tokens: list[Token], i: int, names: Names) -> list[_Hit]:
    hits: list[_Hit] = []
    # A person matches only with one word exact (``0 in edits`` below): the people to try share one.
    words = [token.norm for token in tokens[i : i + names.longest]]
    for person in names.people_sharing_a_word(words):
        size = len(person.parts)
        window = tokens[i : i + size]
        if size < 2 or len(window) < size or any(token.number for token in window):
            continue
        edits = [_loose(token.norm, part) for token, part in zip(window, person.parts, strict=True)]
        if all(edit is not None for edit in edits) and 0 in edits:
            hits.append(_Hit(size, not any(edits), person))
    token = tokens[i]
    if token.number or not token.norm.isalpha():
        return hits
    exact = names.people_for_part(token.norm)
    if exact and _name_word_ok(tokens, i):
        hits.append(_Hit(1, True, exact[0] if len(exact) == 1 else None))
    elif not exact and token.norm not in KNOWN and len(token.norm) >= 3:
        found = best(token.norm, names.person_parts)
        if found is not None and not _closer_as_word(token.norm, found[1]):
            people = names.people_for_part(found[0])
            hits.append(_Hit(1, False, people[0] if len(people) == 1 else None))
    return hits


def _values_at(tokens: list[Token], i: int, names: Names) -> list[_Hit]:
    hits: list[_Hit] = []
    for size in (3, 2, 1):
        window = tokens[i : i + size]
        if len(window) < size or any(token.number for token in window):
            continue
        norms = [token.norm for token in window]
        joined, spaced = "".join(norms), " ".join(norms)
        for value in names.values:
            compact = "".join(value.words)
            if spaced == " ".join(value.words) or joined in (compact, compact + "s"):
                hits.append(_Hit(size, True, value))
            elif size <= len(value.words) and all(n not in KNOWN or n in value.words for n in norms):
                edits = distance(joined, compact)
                if edits is not None and not (size == 1 and _closer_as_word(joined, edits)):
                    hits.append(_Hit(size, False, value))
    return hits


def _read_names(draft: Draft, names: Names) -> None:
    tokens = draft.tokens
    i = 0
    while i < len(tokens):
        hits = _people_at(tokens, i, names) + _values_at(tokens, i, names)
        if not hits:
            i += 1
            continue
        top = max((hit.length, hit.exact) for hit in hits)
        chosen = {hit.target for hit in hits if (hit.length, hit.exact) == top}
        size = top[0]
        typed = " ".join(token.text for token in tokens[i : i + size])
        target = next(iter(chosen)) if len(chosen) == 1 else None
        if target is None:
            draft.refuse(f"“{typed}” could be more than one name")
            return
        if isinstance(target, Person):
            draft.people.append(Owner("person", target.person_id, target.name))
            draft.use(i, i + size, "@person")
        else:
            draft.add(target.field, target.value)
            draft.use(i, i + size, "@segment" if target.field == "segments" else "@tier")
        if not top[1]:
            draft.notes.append(
                f"“{typed}” read as {target.name if isinstance(target, Person) else target.value}"
            )
        i += size


def _respell(draft: Draft) -> None:
    for index, token in enumerate(draft.tokens):
        if draft.used[index] or token.number:
            continue
        found = respell(token.norm)
        if found is not None:
            token.norm = found[0]
            draft.notes.append(f"“{token.text}” read as “{found[0]}”")


# Reading -------------------------------------------------------------------------------------------------


def _asks_to_act(tokens: list[Token]) -> bool:
    for token in tokens:
        if token.norm in _LEAD_IN:
            continue
        return token.norm in ACTIONS
    return False


def _leftovers(draft: Draft) -> list[Token]:
    unknown: list[Token] = []
    for index, token in enumerate(draft.tokens):
        if draft.used[index] or token.norm in FILLER:
            continue
        if token.norm == "why":
            draft.refuse("a why question")
        elif token.norm in NEGATIONS:
            draft.refuse("a negation that could not be applied")
        elif not unknown or unknown[-1].word != token.word:
            unknown.append(token)
    return unknown


# Words asking for what no filter holds: a statistic other than a count or a sum, or advice.
_UNANSWERABLE = frozenset(
    {"average", "avg", "mean", "median", "percentage", "percent", "proportion", "ratio", "breakdown"}
    | {"distribution", "focus", "prioritize", "prioritise", "recommend", "advice"}
)


def _qualifies_accounts(tokens: list[Token], token: Token) -> bool:
    """An unknown word that narrows down which accounts ("fintech accounts", "customers in germany") names
    something Touchpoint does not record: answering without it would answer a wider question."""
    index = tokens.index(token)
    after = tokens[index + 1].norm if index + 1 < len(tokens) else ""
    before = tokens[index - 1].norm if index > 0 else ""
    return after in _PLURAL or after in _SINGULAR or before in _PLACE_WORDS


def _account_name(tokens: list[Token], token: Token) -> bool:
    """A capitalised word the reader does not know, inside the sentence, looks like an account's name
    ("when does Umbrella renew?"), unless it follows "in" or "from" (a place: "red accounts in Texas")."""
    if not token.capital or token.word == 0:
        return False
    index = tokens.index(token)
    return index == 0 or tokens[index - 1].norm not in _PLACE_WORDS


def _finish(draft: Draft) -> None:
    """The defaults and the single owner."""
    values, today = draft.values, draft.today
    people = set(draft.people)
    if len(people) > 1:
        draft.refuse("more than one person")
    elif people:
        if "me" in draft.owner_words:
            draft.refuse("both the asker and someone else")
        values["owner"] = people.pop()
    elif "team" in draft.owner_words:
        values["owner"] = Owner("team")
    elif "me" in draft.owner_words:
        values["owner"] = Owner("me")
    if draft.renewal_said and "renewal_from" not in values and "renewal_to" not in values:
        values["renewal_from"] = today
        values["renewal_to"] = today + timedelta(days=DEFAULT_RENEWAL_DAYS)
    if values.get("sort") == "fall_desc" and values.get("trend") is None:
        values["trend"] = Trend("down", DEFAULT_TREND[0], draft.fall_days or DEFAULT_TREND[1])
    if draft.top_said and values.get("sort") is None:
        values["sort"] = "arr_desc"
    norms = {token.norm for token in draft.tokens}
    if values.get("sort") and values.get("limit") is None and norms & _SINGULAR and not norms & _PLURAL:
        values["limit"] = 1


def _filter(values: dict[str, object]) -> Filter | None:
    known = {spec.name for spec in fields(Filter)}
    flt = Filter(**{name: value for name, value in values.items() if name in known})  # type: ignore[arg-type]
    try:
        return filter_from_dict(filter_to_dict(flt))
    except FilterError:
        return None


def read_question(text: str, vocabulary: Vocabulary) -> Reading:
    """The filter ``text`` asks for, read against ``vocabulary`` (its today, people, segments, tiers)."""
    tokens = tokenize(text)
    draft = Draft(vocabulary.today, tokens)
    if _asks_to_act(tokens):
        return Reading(None, (), ())
    _read_names(draft, names_of(vocabulary.people, vocabulary.segments, vocabulary.tiers))
    draft.scan(_VALUE_CONTEXT, lambda d, m: True)
    _respell(draft)
    for pattern, handler in RULES:
        draft.scan(pattern, handler)
    unknown = _leftovers(draft)
    words = tuple(token.text for token in unknown)
    notes = tuple(draft.notes)
    if len(unknown) >= 2:
        draft.refuse("two or more words not understood")
    if any(_account_name(draft.tokens, token) for token in unknown):
        draft.refuse("a name that is not a person, segment or tier")
    if unknown and tokens and tokens[0].norm in _YES_NO:
        draft.refuse("a question about one account")
    if any(token.norm in _UNANSWERABLE for token in unknown):
        draft.refuse("a statistic or advice no filter holds")
    if any(_qualifies_accounts(draft.tokens, token) for token in unknown):
        draft.refuse("a kind of account Touchpoint does not record")
    _finish(draft)
    if draft.refusal is not None:
        return Reading(None, words, notes)
    flt = _filter(draft.values)
    if flt is None or flt.empty:
        return Reading(None, words, notes)
    return Reading(flt, words, notes)
