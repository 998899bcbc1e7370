"""A problem a person can fix, as one line: what is wrong, where, and what to do."""

from __future__ import annotations

from pydantic import ValidationError

from adapters.checks.settings import settings_problems
from bot.feedback.config import FeedbackConfigError
from bot.health.model import HealthConfigError
from bot.log import scrub


class SetupProblem(Exception):
    """A setting, a file or a dependency that stops Touchpoint; ``line`` names it and the fix, e.g.
    ``TOUCHPOINT_DATABASE_URL: cannot connect to 127.0.0.1:5433 (connection refused); is the database
    running?``."""

    def __init__(self, line: str) -> None:
        self.line = one_line(line)
        super().__init__(self.line)


def one_line(text: str) -> str:
    """``text`` on one line, without token-like values."""
    return scrub(" ".join(part.strip() for part in text.splitlines() if part.strip()))


def describe(error: BaseException) -> str | None:
    """The one line for an error a person can fix (a bad setting, a bad configuration file, a problem
    found by a check); None for anything else, which is a bug and keeps its traceback."""
    if isinstance(error, SetupProblem):
        return error.line
    if isinstance(error, ValidationError) and error.title == "Settings":
        problems = settings_problems(error)
        more = len(problems) - 1
        suffix = f" (and {more} more: run touchpoint check)" if more else ""
        return one_line(problems[0] + suffix)
    if isinstance(error, HealthConfigError | FeedbackConfigError):
        return one_line(str(error))
    return None
