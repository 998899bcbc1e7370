"""The deterministic reader on the evaluation sets (tests/ask_eval): every question read against the sets'
vocabulary and compared with the filter expected.

``questions.jsonl`` is the set the reader was built against; ``holdout.jsonl`` was written afterwards by
someone who had not seen the reader or that set, from the filter's documented fields and conventions
only, so it says how the reader does on questions it was not shaped by. Both are held to the same bounds.

Each question is exact (the filter expected; for an expected null, a refusal), a refusal (the reader
refused a question that has a filter), or wrong (anything else: a filter that differs, or a filter
where a refusal was expected). A refusal costs the asker a rephrase; a wrong filter answers another
question without saying so, hence the stricter bound on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.ask.filter import Filter, filter_from_dict, filter_to_dict
from bot.ask.reader import Reading, Vocabulary, read_question

HERE = Path(__file__).parent / "ask_eval"
VOCABULARY = HERE / "vocabulary.json"
QUESTIONS = HERE / "questions.jsonl"
HOLDOUT = HERE / "holdout.jsonl"
EXACT_AT_LEAST = 0.90
WRONG_AT_MOST = 0.02


@dataclass(frozen=True, slots=True)
class Case:
    line: int
    question: str
    expected: Filter | None


def _vocabulary() -> Vocabulary:
    data = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    return Vocabulary(
        today=date.fromisoformat(data["today"]),
        people={str(name): int(pid) for name, pid in data["people"].items()},
        segments=tuple(data["segments"]),
        tiers=tuple(data["tiers"]),
    )


def _cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item: dict[str, Any] = json.loads(line)
        expected = item.get("filter")
        cases.append(Case(number, item["q"], None if expected is None else filter_from_dict(expected)))
    return cases


def _shown(flt: Filter | None) -> str:
    return "refusal" if flt is None else json.dumps(filter_to_dict(flt), default=str, sort_keys=True)


def _verdict(case: Case, reading: Reading) -> str:
    if case.expected is None:
        return "exact" if reading.filter is None else "wrong"
    if reading.filter is None:
        return "refusal"
    return "exact" if reading.filter == case.expected else "wrong"


@pytest.mark.parametrize("path", [QUESTIONS, HOLDOUT], ids=["questions", "holdout"])
def test_the_reader_on_the_evaluation_set(path: Path) -> None:
    vocabulary = _vocabulary()
    cases = _cases(path)
    assert cases, "the evaluation set has no questions"
    verdicts: dict[str, list[tuple[Case, Reading]]] = {"exact": [], "refusal": [], "wrong": []}
    for case in cases:
        reading = read_question(case.question, vocabulary)
        verdicts[_verdict(case, reading)].append((case, reading))
    total = len(cases)
    lines = [f"\nask reader on {total} questions of {path.name}:"]
    for kind, found in verdicts.items():
        lines.append(f"  {kind:8} {len(found):4}  {100 * len(found) / total:5.1f}%")
    for kind in ("wrong", "refusal"):
        for case, reading in verdicts[kind]:
            lines.append(f"  {kind} (line {case.line}): {case.question}")
            lines.append(f"      got      {_shown(reading.filter)}  unknown={list(reading.unknown)}")
            lines.append(f"      expected {_shown(case.expected)}")
    print("\n".join(lines))
    assert len(verdicts["exact"]) >= EXACT_AT_LEAST * total
    assert len(verdicts["wrong"]) <= WRONG_AT_MOST * total
