"""The [feedback] table of touchpoint.toml: defaults, environment fallbacks, overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.feedback.config import FeedbackConfig, FeedbackConfigError, load_feedback_config
from bot.feedback.routing import routing_from_settings
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def settings(tmp_path: Path, toml: str | None, **env: object) -> Settings:
    path = tmp_path / "touchpoint.toml"
    if toml is not None:
        path.write_text(toml, encoding="utf-8")
    return Settings(database_url="sqlite+aiosqlite://", config_file=path, **env)  # type: ignore[arg-type]


def test_without_a_file_the_environment_and_defaults_apply(tmp_path: Path) -> None:
    config = load_feedback_config(settings(tmp_path, None, feedback_cx_channel="slack:CCX"))
    assert config == FeedbackConfig(cx_channel="slack:CCX")


def test_the_example_file_gives_the_defaults(tmp_path: Path) -> None:
    example = (ROOT / "touchpoint.example.toml").read_text(encoding="utf-8")
    assert load_feedback_config(settings(tmp_path, example)) == FeedbackConfig()


def test_the_file_overrides_the_environment(tmp_path: Path) -> None:
    toml = """
[feedback]
cx_channel = "teams:19:cx@thread.tacv2"
cx_tags = ["#Bug", "billing"]
escalate_after_business_days = [2, 5]
theme_min_accounts = 4
theme_days = 30
"""
    config = load_feedback_config(settings(tmp_path, toml, feedback_cx_channel="slack:CCX"))
    assert config == FeedbackConfig(
        cx_channel="teams:19:cx@thread.tacv2",
        cx_tags=("bug", "billing"),
        escalate_after_business_days=(2, 5),
        theme_min_accounts=4,
        theme_days=30,
    )
    routing = routing_from_settings(settings(tmp_path, toml))
    assert routing.cx_channel == "teams:19:cx@thread.tacv2"
    assert routing.cs_to_cx_tags == frozenset({"bug", "billing"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("colour = 'red'", "feedback.colour: unknown key"),
        ("cx_channel = 'C0123'", "feedback.cx_channel: must look like 'slack:C0123ABC'"),
        ("cx_tags = 'bug'", "feedback.cx_tags: must be a list of tag names"),
        ("escalate_after_business_days = [3, 1]", "feedback.escalate_after_business_days: two whole numbers"),
        ("theme_min_accounts = 1", "feedback.theme_min_accounts: must be a whole number, at least 2"),
    ],
)
def test_bad_values_name_the_file_and_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(FeedbackConfigError) as error:
        load_feedback_config(settings(tmp_path, f"[feedback]\n{body}\n"))
    assert str(error.value).startswith(str(tmp_path / "touchpoint.toml") + ": ")
    assert message in str(error.value)
