"""Process settings, read from ``TOUCHPOINT_*`` environment variables and an optional ``.env`` file.

Every setting is documented in ``.env.example``; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.currency import DEFAULT_CURRENCY, currency_code

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./touchpoint.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The drivers Touchpoint runs on, and the URL schemes whose intent is plain enough to map onto them.
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SAME_INTENT = {"sqlite": "sqlite", "postgres": "postgresql", "postgresql": "postgresql"}
_URL_EXAMPLES = (
    "sqlite+aiosqlite:///./touchpoint.db or postgresql+asyncpg://USER:PASSWORD@HOST:5432/touchpoint"
)


def usable_database_url(raw: str) -> str:
    """``raw`` on the async driver Touchpoint uses (``postgres://`` and ``postgresql://`` become
    ``postgresql+asyncpg://``, ``sqlite://`` becomes ``sqlite+aiosqlite://``); ValueError saying what to
    write when it names another driver or database, or is no URL at all. Never echoes a password."""
    raw = raw.strip()
    if not raw:
        return DEFAULT_DATABASE_URL
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise ValueError(f"not a database URL; write {_URL_EXAMPLES}") from None
    scheme, _, driver = url.drivername.partition("+")
    backend = _SAME_INTENT.get(scheme)
    if backend is None:
        raise ValueError(f"Touchpoint runs on SQLite or PostgreSQL, not {scheme!r}; write {_URL_EXAMPLES}")
    wanted = ASYNC_DRIVERS[backend]
    if url.drivername == wanted:
        return raw
    if driver:
        fixed = url.set(drivername=wanted).render_as_string(hide_password=True)
        raise ValueError(f"Touchpoint uses the {wanted} driver, not {driver!r}; write {fixed}")
    # Only the scheme changes: the rest is kept exactly as written (escapes, paths, query).
    return wanted + raw[raw.index("://") :]


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
    log_level: str | None = Field(
        default=None,
        description="DEBUG, INFO, WARNING or ERROR; unset: INFO for `serve`, WARNING for other commands "
        "(INFO with --verbose).",
    )
    log_json: bool | None = Field(
        default=None,
        description="JSON log lines (true), readable ones (false); unset: `serve` logs JSON unless on a "
        "terminal, other commands readable lines.",
    )
    default_timezone: str = Field(
        default="UTC", description="Time zone for people imported without one, and for 'today'."
    )
    currency: str = Field(
        default=DEFAULT_CURRENCY,
        description="ISO 4217 code of the currency amounts (ARR) are in, e.g. USD, EUR, GBP; no conversion.",
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

    @field_validator("database_url", mode="before")
    @classmethod
    def _usable_database_url(cls, value: object) -> object:
        return usable_database_url(value) if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_log_level(cls, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, str) and value.strip().upper() in (*LOG_LEVELS, ""):
            return value.strip().upper() or None  # empty: as if unset
        raise ValueError(f"{value!r} is not a log level; write DEBUG, INFO, WARNING or ERROR")

    @field_validator("default_timezone", mode="before")
    @classmethod
    def _known_time_zone(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return "UTC"
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone; write an IANA name such as Europe/Berlin or UTC"
            ) from None
        return value.strip()

    @field_validator("currency", mode="before")
    @classmethod
    def _iso_currency(cls, value: object) -> object:
        if isinstance(value, str):
            return currency_code(value) if value.strip() else DEFAULT_CURRENCY
        return value

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
    teams_login_url: str = Field(
        default="https://login.microsoftonline.com/",
        description="Microsoft sign-in address `touchpoint check` and `serve` (at start-up) ask for a Bot "
        "Framework token, to check the credentials (tests point it at a fake).",
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
        raise ValueError(
            f"{value!r} is not an app type; write MultiTenant, SingleTenant or UserAssignedMSI "
            "(the Azure Bot's type)"
        )

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
        description="Messages posted to Slack per minute at most, all channels and all replicas together "
        "(Slack allows about 300 a minute per workspace; replicas share it through the database).",
    )
    delivery_lease_seconds: float = Field(
        default=120.0,
        ge=5,
        description="How long a replica holds the outbox messages it claimed (renewed while it works); "
        "if it stops, another replica takes them over after this.",
    )
    outbox_retention_days: int = Field(
        default=14,
        ge=1,
        description="Sent outbox messages keep their content (and chart images) this many days; their "
        "idempotency keys are kept 400 days.",
    )

    # Connectors (touchpoint sync); the field mapping is in the [connectors.*] tables of the config file.
    hubspot_access_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("HUBSPOT_ACCESS_TOKEN", "TOUCHPOINT_HUBSPOT_ACCESS_TOKEN"),
        description="A HubSpot service key (or a private app's access token) with the scopes "
        "crm.objects.companies.read, crm.objects.deals.read, crm.objects.owners.read, "
        "crm.schemas.companies.read and crm.schemas.deals.read.",
    )
    hubspot_api_url: str = Field(
        default="https://api.hubapi.com", description="HubSpot API base URL (tests point it at a fake)."
    )
    salesforce_client_id: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SALESFORCE_CLIENT_ID", "TOUCHPOINT_SALESFORCE_CLIENT_ID"),
        description="Consumer key of a Salesforce connected app with the client credentials flow enabled.",
    )
    salesforce_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SALESFORCE_CLIENT_SECRET", "TOUCHPOINT_SALESFORCE_CLIENT_SECRET"),
        description="Consumer secret of that connected app.",
    )
    salesforce_login_url: str = Field(
        default="",
        validation_alias=AliasChoices("SALESFORCE_LOGIN_URL", "TOUCHPOINT_SALESFORCE_LOGIN_URL"),
        description="The org's My Domain URL (https://yourcompany.my.salesforce.com; a sandbox's works the "
        "same); tests point it at a fake.",
    )
    zendesk_url: str = Field(
        default="",
        description="Your Zendesk account's URL (https://yourcompany.zendesk.com); tests point it at a fake.",
    )
    zendesk_email: str = Field(
        default="",
        validation_alias=AliasChoices("ZENDESK_EMAIL", "TOUCHPOINT_ZENDESK_EMAIL"),
        description="The email address of the Zendesk admin the API token acts as.",
    )
    zendesk_api_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ZENDESK_API_TOKEN", "TOUCHPOINT_ZENDESK_API_TOKEN"),
        description="A Zendesk API token (Admin Center > Apps and integrations > Zendesk API).",
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

    # Asking in plain language: an optional language model behind an OpenAI-compatible endpoint reads
    # questions into filters; without it (or whenever it fails) the built-in reader does.
    llm_url: str | None = Field(
        default=None,
        description="API root of an OpenAI-compatible chat-completions endpoint, e.g. "
        "https://api.openai.com/v1 or http://localhost:11434/v1; unset: questions are read without one.",
    )
    llm_model: str | None = Field(
        default=None,
        validate_default=True,
        description="The model that endpoint runs, by the name it knows it (gpt-4o-mini, llama3.1, ...); "
        "needed when TOUCHPOINT_LLM_URL is set.",
    )
    llm_api_key: SecretStr | None = Field(
        default=None,
        description="API key sent as a Bearer token to that endpoint; unset for one that needs none.",
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

    @field_validator("llm_url", "llm_model", "llm_api_key", mode="before")
    @classmethod
    def _blank_llm_value_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("llm_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, _, rest = value.partition("://")
        if scheme.lower() not in ("http", "https") or not rest.split("/", 1)[0]:
            # The value is not repeated: an endpoint's URL may carry a key in its query.
            raise ValueError(
                "not an http or https URL; write the API root, e.g. https://api.openai.com/v1 or "
                "http://localhost:11434/v1"
            )
        return value.rstrip("/")

    @field_validator("llm_model")
    @classmethod
    def _model_with_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("llm_url") is not None:
            raise ValueError(
                "needed when TOUCHPOINT_LLM_URL is set; write the model's name as the endpoint knows it, "
                "e.g. gpt-4o-mini or llama3.1"
            )
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
