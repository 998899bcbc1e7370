"""The Slack app manifest: valid against Slack's published schema, and declaring what the adapter needs.

The schema lives beside the project (``../shared/schemas``); in a checkout without it the schema test is
skipped, and the checks of what the manifest declares still run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from adapters.slack.app import FEEDBACK_SHORTCUT, LOG_SHORTCUT, SLASH_COMMAND
from adapters.web import SLACK_PATH
from handlers.account_links import UNFURL_DOMAINS
from handlers.ask import GENERIC, SUGGESTIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST = REPO_ROOT / "adapters" / "slack" / "manifest.yml"
SCHEMA = REPO_ROOT.parent / "shared" / "schemas" / "slack-app-manifest.schema.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.skipif(
    not SCHEMA.exists(), reason="Slack's manifest schema is not beside this checkout (../shared/schemas)"
)
def test_manifest_is_valid_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    problems = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    assert not problems, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in problems)


def test_manifest_declares_the_slash_command(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert SLASH_COMMAND in commands
    assert commands[SLASH_COMMAND]["url"].endswith(SLACK_PATH)


def test_manifest_declares_the_log_follow_up_message_shortcut(manifest: dict[str, Any]) -> None:
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert shortcuts[LOG_SHORTCUT]["type"] == "message"
    assert shortcuts[FEEDBACK_SHORTCUT]["type"] == "message"


def test_manifest_subscribes_to_the_events_the_adapter_answers(manifest: dict[str, Any]) -> None:
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "app_mention", "message.im"} <= events
    # Replies in the threads of feedback and alert messages, in public and private channels.
    assert {"message.channels", "message.groups"} <= events
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_manifest_asks_for_the_scopes_the_adapter_uses(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = {"commands", "chat:write", "users:read", "users:read.email", "im:history", "app_mentions:read"}
    # Digest charts are uploaded (files:write); shared outcomes go to channels the bot has not joined.
    needed |= {"files:write", "chat:write.public"}
    # The message events of channels the bot is in (threads of living messages) need their history scopes.
    needed |= {"channels:history", "groups:history"}
    assert needed <= scopes, f"missing scopes: {sorted(needed - scopes)}"


def test_manifest_points_every_request_url_at_the_slack_endpoint(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    if settings.get("socket_mode_enabled"):
        pytest.skip("Socket Mode: no request URLs")
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    assert all(url.startswith("https://") and url.endswith(SLACK_PATH) for url in urls), urls


def test_manifest_registers_the_crm_domains_whose_links_unfurl(manifest: dict[str, Any]) -> None:
    domains = manifest["features"]["unfurl_domains"]
    assert len(domains) <= 5  # Slack's limit
    assert set(domains) == set(UNFURL_DOMAINS)
    assert "link_shared" in manifest["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"links:read", "links:write"} <= scopes
    # conversations.info on public and private channels, group DMs and DMs: is it shared externally?
    assert {"channels:read", "groups:read", "mpim:read", "im:read"} <= scopes


def test_manifest_turns_on_the_assistant_view(manifest: dict[str, Any]) -> None:
    view = manifest["features"]["assistant_view"]
    assert view["assistant_description"].strip()
    # Slack shows the manifest's prompts until the app sets its own: they are questions ask answers.
    known = {question for _title, question in (*SUGGESTIONS, *GENERIC)}
    prompts = view.get("suggested_prompts") or []
    assert len(prompts) <= 4
    assert all(p["title"] and p["message"] in known for p in prompts), prompts
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # assistant.threads.* need assistant:write; the thread's messages come as DM messages (im:history).
    assert {"assistant:write", "chat:write", "im:history"} <= scopes
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"assistant_thread_started", "assistant_thread_context_changed", "message.im"} <= events
