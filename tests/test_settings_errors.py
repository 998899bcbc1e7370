"""Settings a person can get wrong are refused with the variable's name and what to write instead:
database URLs (``postgres://`` taken as PostgreSQL on the async driver), log levels, time zones, the
Teams app type. A secret's value never appears in the message."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adapters.checks import describe
from adapters.checks.settings import settings_problems
from bot.settings import DEFAULT_DATABASE_URL, Settings


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def problems(**values: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        settings(**values)
    return settings_problems(caught.value)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://tp:pw@db:5432/tp", "postgresql+asyncpg://tp:pw@db:5432/tp"),
        ("postgresql://tp@db/tp?ssl=require", "postgresql+asyncpg://tp@db/tp?ssl=require"),
        ("postgresql+asyncpg://tp:p%40ss@db/tp", "postgresql+asyncpg://tp:p%40ss@db/tp"),
        ("sqlite:///./touchpoint.db", "sqlite+aiosqlite:///./touchpoint.db"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("  ", DEFAULT_DATABASE_URL),
    ],
)
def test_database_urls_of_plain_intent_are_taken(given: str, used: str) -> None:
    assert settings(database_url=given).database_url == used


@pytest.mark.parametrize(
    ("given", "line"),
    [
        (
            "postgresql+psycopg2://tp:hunter2@db/tp",
            "TOUCHPOINT_DATABASE_URL: Touchpoint uses the postgresql+asyncpg driver, not 'psycopg2'; write "
            "postgresql+asyncpg://tp:***@db/tp",
        ),
        (
            "mysql://tp:hunter2@db/tp",
            "TOUCHPOINT_DATABASE_URL: Touchpoint runs on SQLite or PostgreSQL, not 'mysql'; write "
            "sqlite+aiosqlite:///./touchpoint.db or postgresql+asyncpg://USER:PASSWORD@HOST:5432/touchpoint",
        ),
        (
            "touchpoint.db",
            "TOUCHPOINT_DATABASE_URL: not a database URL; write sqlite+aiosqlite:///./touchpoint.db or "
            "postgresql+asyncpg://USER:PASSWORD@HOST:5432/touchpoint",
        ),
    ],
)
def test_other_database_urls_say_what_to_write(given: str, line: str) -> None:
    assert problems(database_url=given) == [line]


def test_log_levels_time_zones_and_app_types() -> None:
    assert settings(log_level="debug", default_timezone=" Europe/Berlin ").log_level == "DEBUG"
    assert problems(log_level="verbose", default_timezone="Mars/Base", microsoft_app_type="Both") == [
        "TOUCHPOINT_LOG_LEVEL: 'verbose' is not a log level; write DEBUG, INFO, WARNING or ERROR",
        "TOUCHPOINT_DEFAULT_TIMEZONE: 'Mars/Base' is not a time zone; write an IANA name such as "
        "Europe/Berlin or UTC",
        "MicrosoftAppType: 'Both' is not an app type; write MultiTenant, SingleTenant or UserAssignedMSI "
        "(the Azure Bot's type)",
    ]


def test_one_line_for_several_problems_points_at_touchpoint_check() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(log_level="verbose", digest_grace_minutes="soon")
    assert describe(caught.value) == (
        "TOUCHPOINT_LOG_LEVEL: 'verbose' is not a log level; write DEBUG, INFO, WARNING or ERROR "
        "(and 1 more: run touchpoint check)"
    )


def test_a_secret_is_never_repeated() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(slack_bot_token=["xoxb-not-a-string"])
    [line] = settings_problems(caught.value)
    assert line.startswith("SLACK_BOT_TOKEN: ")
    assert "xoxb" not in line
