"""The layout holds: a newcomer finds a behaviour in one hop from the folder names.

The direction of imports is checked by ``lint-imports`` (the contracts in ``pyproject.toml``, run by
``make lint``); these tests check what the contracts cannot: that every module of ``bot/``'s root is in
the kernel layer, that the root stays small, that each folder says what it holds, and module sizes.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("adapters", "scheduler", "handlers", "bot", "storage")
MAX_BOT_ROOT_MODULES = 15
MAX_MODULE_LINES = 450  # "about 400": a module past this holds more than one job


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _source_files() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    ]


def test_the_folders_are_layered_in_the_documented_order() -> None:
    layers = [c["layers"] for c in _contracts() if not c.get("containers")]
    assert layers == [list(PACKAGES)]


def test_every_module_at_the_root_of_bot_is_a_layer_of_the_bot_contract() -> None:
    (contract,) = [c for c in _contracts() if c.get("containers") == ["bot"]]
    assert contract.get("exhaustive") is True
    named = set()
    for layer in contract["layers"]:  # type: ignore[attr-defined]
        named |= {part.strip() for part in str(layer).replace("|", ":").split(":")}
    children = {p.stem for p in (ROOT / "bot").glob("*.py") if p.stem != "__init__"}
    children |= {p.name for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists()}
    assert children == named


def test_the_root_of_bot_is_a_small_kernel() -> None:
    modules = [p for p in (ROOT / "bot").glob("*.py") if p.stem != "__init__"]
    assert len(modules) <= MAX_BOT_ROOT_MODULES, sorted(p.name for p in modules)


def test_every_folder_says_what_it_holds() -> None:
    silent = []
    for package in PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            if "migrations" in init.relative_to(ROOT).parts:
                continue
            if not ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))):
                silent.append(str(init.relative_to(ROOT)))
    assert silent == []


def test_no_module_holds_several_jobs() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in _source_files()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
