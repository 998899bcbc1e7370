"""A question cut into tokens, each kept both as typed (to report it) and in a plain form the patterns
read: lower case, accents and look-alike letters folded ("Lео" typed with Cyrillic letters reads "leo"),
number words as digits ("five" -> "5"), "100k" as "100" "k", "Leo's" as "leo" "'s", "haven't" as
"have" "not", "≥" as ">=", any currency sign as "$".

Tokens rather than one cleaned-up string because the reader must say which typed words it could not
use: every token remembers the typed word it came from (:attr:`Token.word`), and one typed word may
give several tokens.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.ask.lexicon import NUMBER_WORDS, TENS


@dataclass(slots=True)
class Token:
    text: str  # the typed word (or its part, e.g. "Leo" of "Leo's")
    norm: str  # the plain form the patterns read
    word: int  # the index of the typed word it came from
    capital: bool = False  # typed with a capital letter first
    number: bool = False


# Cyrillic and Greek letters that look like Latin ones, as typed by keyboards that switch layouts.
_LOOKALIKES = str.maketrans(
    "аеорсухкмтвнАЕОРСУХКМТВНіїјѕԁɡΑΒΕΗΙΚΜΝΟΡΤΥΧαορτυνκ",
    "aeopcyxkmtbhAEOPCYXKMTBHiijsdgABEHIKMNOPTYXaoptuvk",
)
_PIECE = re.compile(
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})(?!\d)"
    r"|(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<suffix>[^\W\d_]+)?"
    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"
    r"|(?P<sym>[<>]=?|[≤≥+$€£¥%])"
)
_ORDINAL = frozenset({"st", "nd", "rd", "th"})
_SYMBOLS = {"≤": "<=", "≥": ">=", "€": "$", "£": "$", "¥": "$"}
_NOT_FORMS = {
    "cant": ["can", "not"],
    "can't": ["can", "not"],
    "wont": ["will", "not"],
    "won't": ["will", "not"],
    "ain't": ["not"],
    "aint": ["not"],
}
_APOSTROPHE_FREE_NOT = frozenset(
    [
        "havent",
        "hasnt",
        "hadnt",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "couldnt",
        "shouldnt",
        "wouldnt",
    ]
)
_TAILS = {"m": "am", "re": "are", "ve": "have", "ll": "will", "d": "would"}


def fold(text: str) -> str:
    """Lower case, look-alike letters as Latin, accents dropped."""
    plain = unicodedata.normalize("NFKD", text.translate(_LOOKALIKES))
    return "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()


def _word_forms(typed: str) -> list[tuple[str, str]]:
    """(part as typed, plain form) for one typed word."""
    plain = fold(typed).replace("’", "'")
    if plain in _NOT_FORMS:
        return [(typed, form) for form in _NOT_FORMS[plain]]
    if plain in _APOSTROPHE_FREE_NOT:
        return [(typed, plain[:-3]), (typed, "not")]
    if "'" in plain:
        head, _, tail = plain.rpartition("'")
        typed_head = typed[: len(head)]
        if tail == "s":
            return [(typed_head, head), (typed[len(head) :], "'s")]
        if tail == "t" and head.endswith("n"):
            return [(typed, head[:-1]), (typed, "not")]
        if tail in _TAILS:
            return [(typed_head, head), (typed, _TAILS[tail])]
        if tail == "" or not head:
            return [(typed, plain.strip("'"))]
    return [(typed, plain)]


def _merge_numbers(tokens: list[Token]) -> list[Token]:
    """ "twenty five" -> 25 (number words were turned into digits one by one)."""
    out: list[Token] = []
    for token in tokens:
        last = out[-1] if out else None
        if (
            last is not None
            and last.number
            and token.number
            and fold(last.text) in TENS
            and fold(token.text) in NUMBER_WORDS
            and NUMBER_WORDS[fold(token.text)] < 10
        ):
            last.norm = str(int(last.norm) + int(token.norm))
            continue
        out.append(token)
    return out


def tokenize(question: str) -> list[Token]:
    """The tokens of ``question``; punctuation other than the signs above is dropped."""
    text = unicodedata.normalize("NFC", question)
    tokens: list[Token] = []
    for word, match in enumerate(_PIECE.finditer(text)):
        typed = match.group(0)
        capital = typed[:1].isupper()
        if match["iso"]:
            tokens.append(Token(typed, typed, word, number=True))
        elif match["num"]:
            digits = match["num"].replace(",", "")
            tokens.append(Token(typed, digits, word, number=True))
            suffix = fold(match["suffix"] or "")
            if suffix and suffix not in _ORDINAL:
                tokens.append(Token(typed, suffix, word))
        elif match["sym"]:
            sign = match["sym"]
            tokens.append(Token(typed, _SYMBOLS.get(sign, sign), word))
        else:
            for part, plain in _word_forms(typed):
                if plain in NUMBER_WORDS:
                    tokens.append(Token(part, str(NUMBER_WORDS[plain]), word, capital, number=True))
                elif plain:
                    tokens.append(Token(part, plain, word, capital))
    return _merge_numbers(tokens)
