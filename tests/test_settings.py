"""Every setting is documented in .env.example and the README, under the name people will type."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def env_names() -> list[str]:
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.append(str(alias.choices[0]))
        else:
            names.append(f"TOUCHPOINT_{name.upper()}")
    return names


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    missing = [name for name in env_names() if name not in text]
    assert missing == []


def test_readme_documents_every_setting() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in env_names() if f"`{name}`" not in text]
    assert missing == []
