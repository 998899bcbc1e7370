"""Process settings, read from ``TOUCHPOINT_*`` environment variables and an optional ``.env`` file.

Every setting is documented in ``.env.example``; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./touchpoint.db"


class Settings(BaseSettings):
    """What an operator can set without touching code."""

    model_config = SettingsConfigDict(
        env_prefix="TOUCHPOINT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path.db or postgresql+asyncpg://user:pass@host/db",
    )
    config_file: Path = Field(
        default=Path("touchpoint.toml"),
        description="Health model and routing rules; built-in defaults apply when the file is absent.",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool | None = Field(
        default=None,
        description="JSON log lines (true), readable ones (false); default: JSON unless on a terminal.",
    )
    default_timezone: str = Field(
        default="UTC", description="Time zone for people imported without one, and for 'today'."
    )
    console_as: str | None = Field(
        default=None, description="Email of the person `touchpoint console` acts as when --as is not given."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
