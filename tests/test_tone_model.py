"""The tone model reads customer feedback as a CSM would, measured on a held-out set.

``tests/tone/eval.csv`` (348 comments written for this purpose, labelled negative / neutral / positive)
was never used to train the model or to choose its settings; ``tests/tone/train_model.py`` prints the
same figures. A change to the model, its lexicon or its features that reads customers worse fails here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.feedback.sentiment import STRONGLY_NEGATIVE, Tone, score, tone_of
from bot.feedback.tone_model import char_features, shipped_model, word_features

TONE = Path(__file__).parent / "tone"
# What the shipped model reaches on the held-out set; the goal was 0.85 and 0.90.
ACCURACY = 0.887
NEGATIVE_RECALL = 0.907


def _rows(name: str) -> list[dict[str, str]]:
    with (TONE / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _figures(labels: list[Tone], rows: list[dict[str, str]]) -> tuple[float, float]:
    read = ["negative" if t in (Tone.NEGATIVE, Tone.STRONGLY_NEGATIVE) else t.value for t in labels]
    right = sum(r == row["label"] for r, row in zip(read, rows, strict=True)) / len(rows)
    negatives = [r for r, row in zip(read, rows, strict=True) if row["label"] == "negative"]
    return right, sum(r == "negative" for r in negatives) / len(negatives)


def test_the_held_out_comments_are_read_as_a_csm_reads_them() -> None:
    rows = _rows("eval.csv")
    assert len(rows) >= 300
    training = {row["text"] for row in _rows("train.csv")}
    assert not training & {row["text"] for row in rows}  # held out: none of them was trained on
    labels = []
    for row in rows:
        value = score(row["text"])
        assert value is not None
        labels.append(tone_of(value))
    accuracy, recall = _figures(labels, rows)
    assert accuracy >= ACCURACY
    assert recall >= NEGATIVE_RECALL


@pytest.mark.parametrize(
    "text",
    [
        "Reports time out every morning and support is slow",
        "Support never answers, we will not renew",
        "We are looking at alternatives before the renewal.",
        "Still waiting on a reply to our ticket from last week.",
    ],
)
def test_complaints_in_b2b_words_are_negative(text: str) -> None:
    value = score(text)
    assert value is not None and value <= -0.05


@pytest.mark.parametrize(
    "text",
    [
        "No issues since the upgrade, thanks!",
        "Never had a problem with the sync",
        "Zero downtime this quarter",
    ],
)
def test_praise_in_negative_looking_words_is_positive(text: str) -> None:
    value = score(text)
    assert value is not None and value >= 0.05


def test_strongly_negative_means_strong_words_not_only_a_sure_verdict() -> None:
    strong = score("This is the worst support we have ever had: awful, slow and useless.")
    mild = score("Their admin cannot find the export")
    assert strong is not None and strong <= STRONGLY_NEGATIVE
    assert mild is not None and STRONGLY_NEGATIVE < mild <= -0.05


def test_the_score_carries_the_verdict_of_the_probabilities() -> None:
    model = shipped_model()
    for row in _rows("eval.csv")[:60]:
        negative, neutral, positive = model.probabilities(row["text"])
        value = model.score(row["text"])
        if negative >= max(neutral, positive):
            assert value <= -0.05
        elif positive > neutral:
            assert value >= 0.05
        else:
            assert -0.05 < value < 0.05


def test_features_mark_negation_until_punctuation() -> None:
    assert word_features("Support never answers. Great") == [
        "support",
        "never",
        "answers~not",
        "great",
        "support never",
        "never answers~not",
        "answers~not great",
    ]
    assert char_features("Ok") == [" o", "ok", "k ", " ok", "ok ", " ok "]


def test_the_shipped_model_is_what_the_training_data_makes() -> None:
    """The weights in the package come from ``tests/tone/train.csv`` and the features in the code: a
    change to either without retraining (``make tone-model``) fails here."""
    pytest.importorskip("sklearn", reason="training needs scikit-learn (the dev extra)")
    from tests.tone.train_model import read, train  # scikit-learn is only needed here

    retrained = train(read(TONE / "train.csv"))
    shipped = shipped_model()
    for row in _rows("eval.csv"):
        assert retrained.score(row["text"]) == pytest.approx(shipped.score(row["text"]), abs=1e-6)
