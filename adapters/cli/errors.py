"""One way every command ends on a problem a person can fix: one line on stderr, ``touchpoint: `` and
what is wrong, naming the setting (or file and key) and the fix, then exit status 1, no traceback.

The ``touchpoint`` group catches what :func:`adapters.checks.describe` recognises (a start-up check's
:class:`~adapters.checks.SetupProblem`, invalid settings, an invalid configuration file); anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from adapters.checks import describe
from adapters.cli.support import err_console

EXIT_PROBLEM = 1


def report(line: str) -> None:
    """Print ``touchpoint: line`` to stderr, on one line however narrow the terminal."""
    err_console.print(f"touchpoint: {line}", style="red", markup=False, highlight=False, soft_wrap=True)


class TouchpointGroup(TyperGroup):
    """The ``touchpoint`` command group, turning fixable problems into one line and exit status 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            line = describe(error)
            if line is None:
                raise
            report(line)
            raise typer.Exit(EXIT_PROBLEM) from None
