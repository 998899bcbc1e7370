"""Settings errors as lines a person can act on: the variable's name as they would type it, the value
(never a secret's), and the fix."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from bot.settings import Settings


def env_name(name: str, field: FieldInfo) -> str:
    """The environment variable people set for a field: its first alias, else ``TOUCHPOINT_NAME``."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"TOUCHPOINT_{name.upper()}"


def _is_secret(field: FieldInfo | None) -> bool:
    if field is None:
        return False
    return field.annotation is SecretStr or SecretStr in get_args(field.annotation)


def _field_of(where: str) -> tuple[str, FieldInfo | None]:
    """The variable name and field for an error's location (a field name, or an alias already)."""
    field = Settings.model_fields.get(where)
    if field is not None:
        return env_name(where, field), field
    for name, candidate in Settings.model_fields.items():
        alias = candidate.validation_alias
        if isinstance(alias, AliasChoices) and where in alias.choices:
            return where, Settings.model_fields[name]
    return where, None


def settings_problems(error: ValidationError) -> list[str]:
    """One line per invalid setting: ``TOUCHPOINT_LOG_LEVEL: 'LOUD' is not a log level; write ...``."""
    lines = []
    for problem in error.errors(include_url=False):
        where = str(problem["loc"][0]) if problem["loc"] else "settings"
        name, field = _field_of(where)
        lines.append(f"{name}: {_problem_text(problem, secret=_is_secret(field))}")
    return lines


def _problem_text(problem: Any, *, secret: bool) -> str:
    context = problem.get("ctx") or {}
    if problem["type"] == "value_error" and "error" in context:
        return str(context["error"])  # Touchpoint's own validators say what to write
    message = str(problem["msg"])
    message = message[0].lower() + message[1:] if message else "invalid"
    if secret or isinstance(problem.get("input"), SecretStr | dict):
        return message
    return f"{message} (got {problem.get('input')!r})"
