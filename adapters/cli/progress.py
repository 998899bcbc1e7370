"""Progress bars for the long commands (``demo-data``, ``health recompute --since``, ``outcomes
check``): on stderr, only when stderr is a terminal, gone when done. Piped or in a log, nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.cli.support import err_console

Advance = Callable[[int], None]


class Steps:
    """Tasks with a count of steps each; :meth:`task` answers the function that moves one on."""

    def __init__(self, bar: Progress | None) -> None:
        self._bar = bar

    def task(self, description: str, total: int | None) -> Advance:
        """A task of ``total`` steps (None: not known yet); call the answer with the steps just done."""
        bar = self._bar
        if bar is None:
            return _nothing
        task = bar.add_task(description, total=total)

        def advance(steps: int = 1) -> None:
            bar.advance(task, steps)

        return advance


def _nothing(_steps: int = 1) -> None:
    return None


@contextmanager
def progress_bar() -> Iterator[Steps]:
    """Steps drawn as bars on a terminal; silently counted nowhere otherwise."""
    if not sys.stderr.isatty():
        yield Steps(None)
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        yield Steps(bar)
