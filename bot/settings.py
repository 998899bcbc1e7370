"""Process settings, read from ``TOUCHPOINT_*`` environment variables and an optional ``.env`` file.

Every setting is documented in ``.env.example``; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./touchpoint.db"


class Settings(BaseSettings):
    """What an operator can set without touching code."""

    model_config = SettingsConfigDict(
        env_prefix="TOUCHPOINT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
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

    # Slack: the first three use the names Slack's own tools use (no TOUCHPOINT_ prefix).
    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "TOUCHPOINT_SLACK_BOT_TOKEN"),
        description="Bot token (xoxb-...) from the Slack app's OAuth & Permissions page.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "TOUCHPOINT_SLACK_SIGNING_SECRET"),
        description="Signing secret from the Slack app's Basic Information page; verifies every request.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "TOUCHPOINT_SLACK_APP_TOKEN"),
        description="App-level token (xapp-...) with connections:write: switches on Socket Mode.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL (tests point it at a fake)."
    )
    slack_team_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Slack workspace ids allowed to use this install; empty allows any.",
    )

    @field_validator("slack_team_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )

    # Microsoft Teams: the first four use Bot Framework's own names (no TOUCHPOINT_ prefix).
    microsoft_app_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MicrosoftAppId", "TOUCHPOINT_MICROSOFT_APP_ID"),
        description="The bot's Microsoft App ID (Azure Bot). Unset: no authentication (Emulator mode).",
    )
    microsoft_app_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("MicrosoftAppPassword", "TOUCHPOINT_MICROSOFT_APP_PASSWORD"),
        description="Client secret of the bot's app registration.",
    )
    microsoft_app_type: str = Field(
        default="MultiTenant",
        validation_alias=AliasChoices("MicrosoftAppType", "TOUCHPOINT_MICROSOFT_APP_TYPE"),
        description="MultiTenant, SingleTenant or UserAssignedMSI, as chosen for the Azure Bot.",
    )
    microsoft_app_tenant_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MicrosoftAppTenantId", "TOUCHPOINT_MICROSOFT_APP_TENANT_ID"),
        description="Tenant of the app registration (SingleTenant and UserAssignedMSI only).",
    )
    teams_enabled: bool | None = Field(
        default=None,
        description="Serve Teams at /api/messages. Default: on exactly when MicrosoftAppId is set.",
    )
    teams_tenant_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Microsoft 365 tenant ids allowed to use this bot; empty allows any.",
    )

    @field_validator("teams_tenant_ids", mode="before")
    @classmethod
    def _split_tenant_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [str(part).strip().lower() for part in value if str(part).strip()]
        return value

    @field_validator(
        "microsoft_app_id",
        "microsoft_app_password",
        "microsoft_app_tenant_id",
        "teams_enabled",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("microsoft_app_type", mode="before")
    @classmethod
    def _known_app_type(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return "MultiTenant"
        names = {
            "multitenant": "MultiTenant",
            "singletenant": "SingleTenant",
            "userassignedmsi": "UserAssignedMSI",
        }
        if isinstance(value, str) and value.strip().lower() in names:
            return names[value.strip().lower()]
        raise ValueError("MicrosoftAppType must be MultiTenant, SingleTenant or UserAssignedMSI")

    @property
    def teams_configured(self) -> bool:
        """Teams is served when TOUCHPOINT_TEAMS_ENABLED says so; unset, when MicrosoftAppId is set."""
        if self.teams_enabled is not None:
            return self.teams_enabled
        return self.microsoft_app_id is not None

    # Scheduled digests, reminders and alerts.
    scheduler_enabled: bool = Field(
        default=True,
        description="Run the scheduler (digests, reminders, alerts, daily health) in `touchpoint serve`.",
    )
    digest_grace_minutes: int = Field(
        default=120,
        ge=0,
        description="A digest missed while Touchpoint was down is sent on start if at most this late.",
    )
    slack_messages_per_minute: float = Field(
        default=300.0,
        gt=0,
        description="Messages a replica posts to Slack per minute at most, all channels together "
        "(Slack allows about 300 a minute per workspace: divide by the number of replicas).",
    )

    # The feedback loop between CS and CX.
    feedback_cs_channel: str | None = Field(
        default=None,
        description="Channel that also hears CX-to-CS feedback: slack:C0123 or teams:19:...@thread.tacv2.",
    )
    feedback_cx_channel: str | None = Field(
        default=None,
        description="Channel CS-to-CX feedback goes to: slack:C0123 or teams:19:...@thread.tacv2.",
    )
    feedback_cx_tags: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["bug", "process", "docs", "product"],
        description="Comma-separated tags that send a CSM's feedback to the CX channel.",
    )
    feedback_strongly_negative: float | None = Field(
        default=None,
        ge=-1.0,
        le=0.0,
        description="Comments whose tone (-1..1) is at or below this are flagged and handled as urgent; "
        "default -0.6.",
    )

    @field_validator("feedback_cx_tags", mode="before")
    @classmethod
    def _split_tags(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lstrip("#").lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "feedback_cs_channel", "feedback_cx_channel", "feedback_strongly_negative", mode="before"
    )
    @classmethod
    def _blank_feedback_value_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
