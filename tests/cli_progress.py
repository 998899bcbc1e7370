"""Recording what a command tells its progress bar (test helper): each task's total and steps done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest


class Recording:
    def __init__(self, tasks: dict[str, list[int]]) -> None:
        self.tasks = tasks

    def task(self, description: str, total: int | None) -> Callable[[int], None]:
        self.tasks[description] = [total or 0, 0]

        def advance(steps: int = 1) -> None:
            self.tasks[description][1] += steps

        return advance


def record_progress(monkeypatch: pytest.MonkeyPatch, module: object) -> dict[str, list[int]]:
    """Replace ``module.progress_bar`` with one recording ``{description: [total, steps done]}``."""
    tasks: dict[str, list[int]] = {}

    @contextmanager
    def recording_bar() -> Iterator[Recording]:
        yield Recording(tasks)

    monkeypatch.setattr(module, "progress_bar", recording_bar)
    return tasks
