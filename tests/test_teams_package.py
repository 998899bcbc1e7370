"""``touchpoint teams-package``: a Teams app package that Teams accepts, and the SDK kept in its place."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.cli.main import app
from adapters.teams.package import (
    HOST,
    LINK_DOMAINS,
    MANIFEST_VERSION,
    MAX_COMMANDS,
    MENUS,
    OFF_MENU,
    PERSONAL,
    SHARED,
    build_manifest,
    build_package,
    core_commands,
)
from tests.adaptivecards import node_package

APP_ID = "6C1F3F0E-1D2B-4C5A-9E8F-0A1B2C3D4E5F"
ROOT = Path(__file__).resolve().parent.parent


SCHEMAS = ROOT / "tests" / "fixtures" / "teams"


def manifest_schema(version: str) -> dict[str, Any]:
    """Microsoft's JSON schema for manifest ``version``: a copy of ``build/json-schemas/teams/vX.Y/
    MicrosoftTeams.schema.json`` from the npm package ``@microsoft/app-manifest`` (1.1.2, MIT), kept
    here so the check runs everywhere; a newer package's copy is used when one is installed."""
    package = node_package("@microsoft/app-manifest")
    installed = (
        package / "build" / "json-schemas" / "teams" / f"v{version}" / "MicrosoftTeams.schema.json"
        if package is not None
        else None
    )
    path = (
        installed
        if installed is not None and installed.is_file()
        else SCHEMAS / f"MicrosoftTeams.v{version}.schema.json"
    )
    return dict(json.loads(path.read_text(encoding="utf-8")))


def read_png(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int, int]]]]:
    """Width, height and RGBA rows of an 8-bit RGBA, non-interlaced PNG (what the package writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, {}
    idat = b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IDAT":
            idat += body
        chunks[kind] = body
        offset += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color, interlace) == (8, 6, 0)
    raw = zlib.decompress(idat)
    rows = []
    stride = width * 4 + 1
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0, "filter type none"
        rows.append([tuple(line[1 + x * 4 : 5 + x * 4]) for x in range(width)])
    return width, height, rows  # type: ignore[return-value]


@pytest.fixture
def manifest() -> dict[str, Any]:
    return build_manifest(app_id=APP_ID, domain="touchpoint.example.com")


@pytest.mark.parametrize("domain", ["touchpoint.example.com", None])
def test_manifest_validates_against_the_official_schema(domain: str | None) -> None:
    import jsonschema

    manifest = build_manifest(app_id=APP_ID, domain=domain)
    schema = manifest_schema(manifest["manifestVersion"])
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_manifest_is_on_the_newest_schema_we_keep() -> None:
    """The schema copy kept for the test is the version the manifest declares, and no older one lingers."""
    kept = sorted(path.name for path in SCHEMAS.glob("MicrosoftTeams.v*.schema.json"))
    assert kept == [f"MicrosoftTeams.v{MANIFEST_VERSION}.schema.json"]
    schema = manifest_schema(MANIFEST_VERSION)
    assert schema["properties"]["manifestVersion"].get("const", MANIFEST_VERSION) == MANIFEST_VERSION
    commands = schema["properties"]["bots"]["items"]["properties"]["commandLists"]["items"]["properties"]
    assert commands["commands"]["maxItems"] == MAX_COMMANDS


def test_manifest_fields_teams_requires(manifest: dict[str, Any]) -> None:
    """Checked by hand too, so the suite means something without the npm schema."""
    assert manifest["manifestVersion"] == MANIFEST_VERSION
    assert manifest["$schema"].endswith(f"/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json")
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["id"] == APP_ID.lower()
    assert set(manifest["developer"]) >= {"name", "websiteUrl", "privacyUrl", "termsOfUseUrl"}
    assert all(
        manifest["developer"][k].startswith("https://") for k in ("websiteUrl", "privacyUrl", "termsOfUseUrl")
    )
    assert len(manifest["name"]["short"]) <= 30
    assert 0 < len(manifest["description"]["short"]) <= 80
    assert 0 < len(manifest["description"]["full"]) <= 4000
    assert manifest["validDomains"] == ["touchpoint.example.com", *LINK_DOMAINS]
    # Replies in the threads of its channel cards reach the bot without a mention (resource-specific
    # consent), which Teams accepts only beside webApplicationInfo naming the app.
    assert manifest["authorization"]["permissions"]["resourceSpecific"] == [
        {"name": "ChannelMessage.Read.Group", "type": "Application"}
    ]
    assert (
        manifest["webApplicationInfo"]["id"] == APP_ID.lower() and manifest["webApplicationInfo"]["resource"]
    )
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", manifest["accentColor"])
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID.lower()
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    lists = {tuple(cl["scopes"]): cl["commands"] for cl in bot["commandLists"]}
    assert set(lists) == {("personal",), ("team", "groupChat")}
    for commands in lists.values():
        assert 0 < len(commands) <= MAX_COMMANDS
        for command in commands:
            assert 0 < len(command["title"]) <= 32
            assert 0 < len(command["description"]) <= 128
    personal = [c["title"] for c in lists[("personal",)]]
    assert personal[:3] == ["help", "account", "my"]
    assert "home" in personal and "home" not in [c["title"] for c in lists[("team", "groupChat")]]


def test_the_messaging_extension_searches_logs_and_unfurls(manifest: dict[str, Any]) -> None:
    [extension] = manifest["composeExtensions"]
    assert extension["botId"] == APP_ID.lower()
    commands = {command["id"]: command for command in extension["commands"]}
    assert list(commands) == ["searchAccounts", "logToAccount"]
    search, log = commands["searchAccounts"], commands["logToAccount"]
    assert (search["type"], search["context"], search["initialRun"]) == (
        "query",
        ["compose", "commandBox"],
        False,
    )
    assert search["parameters"] == [
        {"name": "query", "title": "Account", "description": "Name or ID", "inputType": "text"}
    ]
    assert (log["type"], log["context"], log["fetchTask"]) == ("action", ["message"], True)
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands.values())
    [handler] = extension["messageHandlers"]
    assert handler == {
        "type": "link",
        "value": {"domains": ["*.hubspot.com", "*.lightning.force.com", "*.my.salesforce.com"]},
    }
    # A link handler's domains are valid domains too, each a host name (a wildcard for one label).
    assert set(handler["value"]["domains"]) <= set(manifest["validDomains"])
    assert all(HOST.match(domain) for domain in manifest["validDomains"])
    assert "Log to account" in manifest["description"]["full"]


# ------------------------------------------------------------------------------------ the menus


def test_every_command_is_on_each_menu_or_left_off_with_a_reason() -> None:
    """A new command must be placed: on the menu, or off it on purpose. Nothing is cut silently."""
    names = [name for name, _ in core_commands()]
    assert set(MENUS) == set(OFF_MENU) == {PERSONAL, SHARED}
    for scopes, menu in MENUS.items():
        off = OFF_MENU[scopes]
        assert len(menu) == len(set(menu)) <= MAX_COMMANDS, scopes
        assert not set(menu) & set(off), scopes
        assert set(menu) | set(off) == set(names), (scopes, set(names) - set(menu) - set(off))
        assert all(len(reason) > 20 for reason in off.values())


def test_the_menus_teams_shows_are_the_ones_chosen(manifest: dict[str, Any]) -> None:
    lists = {
        tuple(cl["scopes"]): [c["title"] for c in cl["commands"]]
        for cl in manifest["bots"][0]["commandLists"]
    }
    assert lists == {scopes: list(menu) for scopes, menu in MENUS.items()}
    # The three that a cut at ten used to drop, among others.
    for menu in lists.values():
        assert {"plan", "ttv", "feedback"} <= set(menu)
    assert "home" in lists[PERSONAL] and "home" not in lists[SHARED]


def test_a_menu_teams_cannot_show_is_refused_not_cut() -> None:
    many = [(f"command-{i}", "does a thing") for i in range(MAX_COMMANDS + 1)]
    with pytest.raises(ValueError, match=f"has {MAX_COMMANDS + 1} commands"):
        build_manifest(app_id=APP_ID, commands=many, menus={PERSONAL: [name for name, _ in many]})
    with pytest.raises(ValueError, match="unknown commands: renamed"):
        build_manifest(app_id=APP_ID, commands=many, menus={PERSONAL: ["command-1", "renamed"]})


def test_titles_and_descriptions_fit_a_menu_line() -> None:
    long = [("command-number-1-with-a-rather-long-name-indeed", "d" * 300), ("short", "fine")]
    manifest = build_manifest(app_id=APP_ID, commands=long, menus={PERSONAL: [long[0][0], "short"]})
    [command_list] = manifest["bots"][0]["commandLists"]
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in command_list["commands"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"app_id": "not-a-guid"}, "GUID"),
        ({"app_id": APP_ID, "domain": "https://touchpoint.example.com/api"}, "host name"),
        ({"app_id": APP_ID, "website_url": "http://example.com"}, "https"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_manifest(**kwargs)  # type: ignore[arg-type]


def test_icons_are_the_sizes_teams_wants(manifest: dict[str, Any]) -> None:
    archive = zipfile.ZipFile(io.BytesIO(build_package(manifest)))
    assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
    width, height, color = read_png(archive.read("color.png"))
    assert (width, height) == (192, 192)
    assert all(pixel[3] == 255 for row in color for pixel in row), "the colour icon is opaque"
    width, height, outline = read_png(archive.read("outline.png"))
    assert (width, height) == (32, 32)
    pixels = [pixel for row in outline for pixel in row]
    assert all(p[3] == 0 or p[:3] == (255, 255, 255) for p in pixels), "white on transparent only"
    assert outline[0][0][3] == 0 and outline[31][31][3] == 0, "the background is transparent"
    assert any(p[3] == 255 for p in pixels), "and something is drawn"
    assert json.loads(archive.read("manifest.json")) == manifest


def test_the_cli_writes_the_zip(tmp_path: Path) -> None:
    output = tmp_path / "out" / "touchpoint-teams.zip"
    output.parent.mkdir()
    result = CliRunner().invoke(
        app, ["teams-package", "--app-id", APP_ID, "--output", str(output), "--domain", "cs.example.org"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(zipfile.ZipFile(output).read("manifest.json"))
    assert manifest["validDomains"] == ["cs.example.org", *LINK_DOMAINS]
    assert manifest["developer"]["privacyUrl"] == "https://cs.example.org/privacy"


def test_the_cli_refuses_a_bad_app_id(tmp_path: Path) -> None:
    output = tmp_path / "x.zip"
    result = CliRunner().invoke(app, ["teams-package", "--app-id", "1234", "--output", str(output)])
    assert result.exit_code == 2
    assert not output.exists()


# ------------------------------------------------------------------------------ the SDK's place


def test_only_the_teams_adapter_imports_botbuilder() -> None:
    offenders = []
    for folder in ("bot", "handlers", "storage", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"^\s*(from|import)\s+(botbuilder|botframework)\b", text, re.MULTILINE):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_cli_does_not_load_the_bot_framework_sdk() -> None:
    code = (
        "import sys, adapters.cli.main; "
        "print(sorted(m for m in sys.modules if m.startswith(('botbuilder', 'botframework'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
