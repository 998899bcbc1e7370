"""The configuration file (``TOUCHPOINT_CONFIG_FILE``, ``touchpoint.toml``): valid TOML, only the tables
Touchpoint reads, and valid ``[health]`` and ``[feedback]`` tables. A typo is an error naming the file
and the key, never a setting silently ignored. ``[connectors.*]`` is checked here for its keys; the
properties it names are checked against the CRM by ``touchpoint connect``."""

from __future__ import annotations

import tomllib
from pathlib import Path

from adapters.connectors.config import load_connectors_config
from adapters.connectors.sources_config import ConnectorConfigError
from bot.feedback.config import FeedbackConfigError, load_feedback_config
from bot.health.model import HealthConfigError, load_health_model
from bot.settings import Settings

TABLES = ("health", "feedback", "connectors")


def config_problem(settings: Settings) -> str | None:
    """None when the file is absent (built-in defaults) or valid; else the problem, naming file and key."""
    path = Path(settings.config_file)
    if not path.exists():
        return None
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        return f"{path}: not valid TOML: {error}; fix the file (or point TOUCHPOINT_CONFIG_FILE elsewhere)"
    except OSError as error:
        return f"{path}: cannot be read ({error.strerror or error}); check the file's permissions"
    for key in data:
        if key not in TABLES:
            return (
                f"{path}: {key}: unknown table (the file holds [health], [feedback] and [connectors.*]); "
                "fix or remove it"
            )
    try:
        load_health_model(path)
        load_feedback_config(settings)
        load_connectors_config(path)
    except (HealthConfigError, FeedbackConfigError, ConnectorConfigError) as error:
        return str(error)
    return None


def config_summary(settings: Settings) -> str:
    """What is in use when the file is fine: the file, or the built-in defaults."""
    path = Path(settings.config_file)
    return f"{path}" if path.exists() else f"{path} not found: built-in defaults"
