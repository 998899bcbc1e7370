"""The tone model: how a customer comment reads to a CSM, negative, neutral or positive.

A multinomial logistic regression over three inputs, trained on B2B customer comments
(``tests/tone/train.csv``, ``make tone-model``) and shipped as weights in ``tone_model.json.gz``:

- words and word pairs, lower case, where a word after a negation ("not", "never", "no", "...n't") up to
  the next punctuation is marked as negated ("not renewing" is not "renewing");
- character sequences of 2 to 5 inside each word, so typos and word forms ("timing out", "timeouts")
  still count;
- VADER's compound score with the domain lexicon (:mod:`bot.feedback.tone_lexicon`).

Each block of words and characters is weighted TF-IDF (sublinear term frequency, smoothed idf) and
scaled to unit length, as when the model was trained. A missed complaint costs more than a false alarm
(a detractor must reach the owning CSM), so the negative class's probability is multiplied by
``negative_boost`` before the classes are compared.

The score stored with a comment, -1..1, carries the verdict in its sign and how strongly it is put in its
size. A negative verdict scores ``-(0.05 + 0.95 * P(negative) * intensity)``, where the intensity is how
negative the domain-adjusted VADER score is (0 when it is not negative): "Their admin cannot find the
export" is a complaint (-0.3 or so), "This is the worst support we have ever had" a strong one (-0.9 or
so). A positive verdict mirrors it, and a neutral one stays strictly between -0.05 and 0.05. So the
thresholds of :mod:`bot.feedback.sentiment` read the model's verdict (negative at -0.05 or below,
positive from 0.05), and "strongly negative" (-0.6 or below) still means strong words, said clearly.

The weights are read once per process, on first use, into NumPy arrays.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from typing import Final

import numpy as np
import numpy.typing as npt

from bot.feedback.tone_lexicon import domain_compound

MODEL_FILE: Final = "tone_model.json.gz"
CLASSES: Final = ("negative", "neutral", "positive")
LABEL_FROM: Final = 0.05  # a negative verdict scores -0.05 or below, a positive one 0.05 or above
NEUTRAL_BAND: Final = 0.049  # a neutral verdict's score stays inside (-0.05, 0.05)
_TOKEN: Final = re.compile(r"\w[\w']*|[.,!?;:]")
_PUNCTUATION: Final = frozenset(".,!?;:")
_NEGATORS: Final = frozenset({"not", "no", "never", "nothing", "none", "nobody", "cannot", "without", "nor"})
CHAR_SIZES: Final = range(2, 6)


def word_features(text: str) -> list[str]:
    """Words and word pairs, negation-marked: "Support never answers" -> "support", "never",
    "answers~not", "support never", "never answers~not"."""
    words: list[str] = []
    negated = False
    for token in _TOKEN.findall(" ".join(text.lower().split())):
        if token in _PUNCTUATION:
            negated = False
            continue
        words.append(f"{token}~not" if negated else token)
        if token in _NEGATORS or token.endswith("n't"):
            negated = True
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def char_features(text: str) -> list[str]:
    """Character sequences of 2 to 5 inside each word, the word padded with a space on each side."""
    found: list[str] = []
    for word in text.lower().split():
        padded = f" {word} "
        for size in CHAR_SIZES:
            if len(padded) < size:
                break
            found.extend(padded[i : i + size] for i in range(len(padded) - size + 1))
    return found


class Block:
    """One TF-IDF block: for each feature its idf and its weight per class (arrays, one row a feature)."""

    def __init__(self, features: Mapping[str, tuple[float, tuple[float, float, float]]]) -> None:
        self.index = {feature: row for row, feature in enumerate(features)}
        self.idf = np.array([idf for idf, _ in features.values()], dtype=np.float64)
        self.weights = np.array([w for _, w in features.values()], dtype=np.float64).reshape(-1, 3)

    @property
    def features(self) -> dict[str, tuple[float, tuple[float, float, float]]]:
        return {
            f: (float(self.idf[row]), _triple(self.weights[row].tolist())) for f, row in self.index.items()
        }

    def logits(self, found: Iterable[str]) -> npt.NDArray[np.float64]:
        """This block's share of the three logits."""
        counts = Counter(row for f in found if (row := self.index.get(f)) is not None)
        if not counts:
            return np.zeros(3)
        rows = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        weighted = tf * self.idf[rows]
        weighted /= math.sqrt(float(weighted @ weighted))
        result: npt.NDArray[np.float64] = weighted @ self.weights[rows]
        return result


@dataclass(frozen=True, slots=True)
class ToneModel:
    words: Block
    chars: Block
    lexicon_scale: float
    lexicon_coefficients: tuple[float, float, float]
    intercepts: tuple[float, float, float]
    negative_boost: float

    def probabilities(self, text: str) -> tuple[float, float, float]:
        """P(negative), P(neutral), P(positive), with the negative boost applied and renormalised."""
        return self._read(text)[0]

    def _read(self, text: str) -> tuple[tuple[float, float, float], float]:
        lexicon = domain_compound(text)
        logits = (
            np.array(self.intercepts)
            + np.array(self.lexicon_coefficients) * (lexicon * self.lexicon_scale)
            + self.words.logits(word_features(text))
            + self.chars.logits(char_features(text))
        )
        raw = np.exp(logits - logits.max())
        raw[0] *= self.negative_boost
        negative, neutral, positive = (float(v) for v in raw / raw.sum())
        return (negative, neutral, positive), lexicon

    def score(self, text: str) -> float:
        """The stored tone, -1..1 (see the module docstring)."""
        (negative, neutral, positive), lexicon = self._read(text)
        if negative >= neutral and negative >= positive:
            return -(LABEL_FROM + (1 - LABEL_FROM) * negative * max(0.0, -lexicon))
        if positive > neutral:
            return LABEL_FROM + (1 - LABEL_FROM) * positive * max(0.0, lexicon)
        return max(-NEUTRAL_BAND, min(NEUTRAL_BAND, (positive - negative) * NEUTRAL_BAND))

    def to_json(self) -> dict[str, object]:
        def block(b: Block) -> dict[str, list[float]]:
            return {f: [idf, *weights] for f, (idf, weights) in b.features.items()}

        return {
            "classes": list(CLASSES),
            "intercepts": list(self.intercepts),
            "lexicon_scale": self.lexicon_scale,
            "lexicon_coefficients": list(self.lexicon_coefficients),
            "negative_boost": self.negative_boost,
            "words": block(self.words),
            "chars": block(self.chars),
        }


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c


def model_from_json(data: Mapping[str, object]) -> ToneModel:
    if list(data["classes"]) != list(CLASSES):  # type: ignore[call-overload]
        raise ValueError(f"a tone model's classes must be {CLASSES}")

    def block(raw: object) -> Block:
        entries: Mapping[str, Sequence[float]] = raw  # type: ignore[assignment]
        return Block({f: (float(v[0]), _triple(v[1:4])) for f, v in entries.items()})

    return ToneModel(
        words=block(data["words"]),
        chars=block(data["chars"]),
        lexicon_scale=float(data["lexicon_scale"]),  # type: ignore[arg-type]
        lexicon_coefficients=_triple(data["lexicon_coefficients"]),  # type: ignore[arg-type]
        intercepts=_triple(data["intercepts"]),  # type: ignore[arg-type]
        negative_boost=float(data["negative_boost"]),  # type: ignore[arg-type]
    )


_model: ToneModel | None = None
_lock = threading.Lock()


def shipped_model() -> ToneModel:
    """The model shipped with Touchpoint, read on first use."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                raw = resources.files("bot.feedback").joinpath(MODEL_FILE).read_bytes()
                _model = model_from_json(json.loads(gzip.decompress(raw)))
    return _model
