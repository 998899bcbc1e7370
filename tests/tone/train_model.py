"""Train the tone model (``make tone-model``): ``tests/tone/train.csv`` in,
``bot/feedback/tone_model.json.gz`` out, then the figures: 5-fold cross-validation on the training set,
and the held-out evaluation set (``tests/tone/eval.csv``, never used for training or for choosing
settings) against plain VADER.

Needs scikit-learn (the ``dev`` extra); Touchpoint itself only reads the weights
(:mod:`bot.feedback.tone_model`) with the same feature functions.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from bot.feedback.tone_lexicon import domain_compound
from bot.feedback.tone_model import (
    CLASSES,
    MODEL_FILE,
    Block,
    ToneModel,
    char_features,
    word_features,
)

ROOT = Path(__file__).resolve().parents[2]
TRAIN = Path(__file__).parent / "train.csv"
EVAL = Path(__file__).parent / "eval.csv"
OUTPUT = ROOT / "bot" / "feedback" / MODEL_FILE
# Chosen by cross-validation on the training set: regularisation, the weight of the lexicon score, how
# much a complaint outweighs a false alarm, and the rarest feature kept.
C = 16.0
LEXICON_SCALE = 2.0
NEGATIVE_BOOST = 2.0
MIN_DF = 2


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def train(rows: list[dict[str, str]]) -> ToneModel:
    texts = [r["text"] for r in rows]
    words = TfidfVectorizer(analyzer=word_features, sublinear_tf=True, min_df=MIN_DF)
    chars = TfidfVectorizer(analyzer=char_features, sublinear_tf=True, min_df=MIN_DF)
    lexicon = csr_matrix(np.array([[domain_compound(t) * LEXICON_SCALE] for t in texts]))
    features = hstack([words.fit_transform(texts), chars.fit_transform(texts), lexicon]).tocsr()
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    model.fit(features, [r["label"] for r in rows])
    assert tuple(model.classes_) == CLASSES
    coef = model.coef_

    def block(vectorizer: TfidfVectorizer, offset: int) -> Block:
        found: dict[str, tuple[float, tuple[float, float, float]]] = {}
        for feature, index in vectorizer.vocabulary_.items():
            weights = coef[:, offset + index]
            found[feature] = (
                _round(vectorizer.idf_[index]),
                (_round(weights[0]), _round(weights[1]), _round(weights[2])),
            )
        return Block(found)

    n_words = len(words.vocabulary_)
    n_chars = len(chars.vocabulary_)
    last = n_words + n_chars
    return ToneModel(
        words=block(words, 0),
        chars=block(chars, n_words),
        lexicon_scale=LEXICON_SCALE,
        lexicon_coefficients=(_round(coef[0, last]), _round(coef[1, last]), _round(coef[2, last])),
        intercepts=(
            _round(model.intercept_[0]),
            _round(model.intercept_[1]),
            _round(model.intercept_[2]),
        ),
        negative_boost=NEGATIVE_BOOST,
    )


def label(score: float) -> str:
    return "negative" if score <= -0.05 else "positive" if score >= 0.05 else "neutral"


def figures(scores: list[float], rows: list[dict[str, str]]) -> tuple[float, float]:
    """Accuracy, and the negative class's recall."""
    predicted = [label(s) for s in scores]
    right = sum(p == r["label"] for p, r in zip(predicted, rows, strict=True))
    negatives = [p for p, r in zip(predicted, rows, strict=True) if r["label"] == "negative"]
    return right / len(rows), sum(p == "negative" for p in negatives) / len(negatives)


def main() -> None:
    rows = read(TRAIN)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    found = []
    for train_index, test_index in folds.split(rows, [r["label"] for r in rows]):
        fold = train([rows[i] for i in train_index])
        held = [rows[i] for i in test_index]
        found.append(figures([fold.score(r["text"]) for r in held], held))
    accuracy, recall = np.mean(found, axis=0)
    print(f"cross-validation, {len(rows)} texts: accuracy {accuracy:.3f}, negative recall {recall:.3f}")
    model = train(rows)
    data: dict[str, Any] = model.to_json()
    OUTPUT.write_bytes(
        gzip.compress(json.dumps(data, sort_keys=True, separators=(",", ":")).encode(), mtime=0)
    )
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({OUTPUT.stat().st_size:,} bytes)")
    held_out = read(EVAL)
    accuracy, recall = figures([model.score(r["text"]) for r in held_out], held_out)
    print(
        f"held-out {len(held_out)} texts, Touchpoint: accuracy {accuracy:.3f}, negative recall {recall:.3f}"
    )
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    plain = [float(vader.polarity_scores(r["text"])["compound"]) for r in held_out]
    accuracy, recall = figures(plain, held_out)
    print(
        f"held-out {len(held_out)} texts, plain VADER: accuracy {accuracy:.3f}, negative recall {recall:.3f}"
    )


if __name__ == "__main__":
    main()
