"""Are the Slack settings usable? The settings must fit together, and Slack must accept the bot token
(``auth.test`` against ``TOUCHPOINT_SLACK_API_URL``).

:func:`check_slack` answers what it found, or raises: ``ValueError`` for settings that cannot work,
``PermissionError`` when Slack refuses the token (both need a person), ``ConnectionError`` when Slack
could not be asked (it may work a minute later).
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

TIMEOUT_SECONDS = 10
# auth.test's answers that mean the token itself is wrong (Slack's Web API reference for the method).
REFUSED = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive"})
WHERE_TOKEN = "copy the Bot User OAuth Token (xoxb-...) from the Slack app's Install App page"


def slack_configured(settings: Settings) -> bool:
    """Any Slack setting is given (then they must work together)."""
    return any((settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token))


def settings_problem(settings: Settings) -> str | None:
    """Slack settings that cannot work together, or None."""
    if settings.slack_bot_token is None:
        given = "SLACK_SIGNING_SECRET" if settings.slack_signing_secret is not None else "SLACK_APP_TOKEN"
        return f"SLACK_BOT_TOKEN: not set, but {given} is, so Slack stays off; {WHERE_TOKEN}"
    if settings.slack_signing_secret is None and settings.slack_app_token is None:
        return (
            "SLACK_SIGNING_SECRET: not set, so Slack's requests cannot be verified; copy the Signing Secret "
            "from the app's Basic Information page (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    return None


async def check_slack(settings: Settings, *, seconds: int = TIMEOUT_SECONDS) -> str:
    """Who the bot token is, after checking the settings and asking Slack (see the module's doc)."""
    problem = settings_problem(settings)
    if problem is not None:
        raise ValueError(problem)
    assert settings.slack_bot_token is not None
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=seconds,
        retry_handlers=[],  # one question, one answer: start-up must not hang on retries
    )
    try:
        answer = await client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        if code in REFUSED:
            raise PermissionError(
                f"SLACK_BOT_TOKEN: Slack refused the token ({code}); {WHERE_TOKEN}"
            ) from None
        status = error.response.status_code
        raise ConnectionError(
            f"SLACK_BOT_TOKEN: Slack could not check the token (auth.test answered {code or status}); "
            "try again shortly"
        ) from None
    except (aiohttp.ClientError, OSError) as error:  # TimeoutError is an OSError
        reason = str(error) or type(error).__name__
        raise ConnectionError(
            f"TOUCHPOINT_SLACK_API_URL: cannot reach Slack at {settings.slack_api_url} ({reason}); "
            "check the network or proxy"
        ) from None
    team, team_id, user = answer.get("team"), answer.get("team_id"), answer.get("user_id")
    allowed = settings.slack_team_ids
    if allowed and team_id not in allowed:
        raise ValueError(
            f"TOUCHPOINT_SLACK_TEAM_IDS: the bot token belongs to workspace {team} ({team_id}), which is not "
            f"listed; add {team_id} or use that workspace's token"
        )
    mode = "Socket Mode" if settings.slack_app_token is not None else "HTTP at /slack/events"
    return f"workspace {team} ({team_id}) as bot user {user}; {mode}"
