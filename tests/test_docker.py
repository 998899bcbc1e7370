"""The container packaging: Dockerfile, .dockerignore and docker-compose.yml.

The static checks always run. Building the image needs a Docker engine: that test is skipped, with
the reason, where the ``docker`` client is missing or no engine answers ``docker info``.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker-compose.yml"
PORT = "3978"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(steps) if keyword == "FROM"]
    assert starts, "no FROM in the Dockerfile"
    return steps[starts[-1] :]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_dockerfile_is_multi_stage_on_python_311_slim(dockerfile: list[tuple[str, str]]) -> None:
    froms = [args for keyword, args in dockerfile if keyword == "FROM"]
    assert len(froms) >= 2, "build in a builder stage, copy the venv into the final one"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "python:3.11-slim" in text
    assert any(
        keyword == "COPY" and "--from=" in args and "/opt/venv" in args
        for keyword, args in final_stage(dockerfile)
    ), "the final stage copies the venv from the builder"


def test_dockerfile_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = [args for keyword, args in final_stage(dockerfile) if keyword == "USER"]
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"runs as {users[-1]!r}"


def test_dockerfile_exposes_the_port_and_checks_health(dockerfile: list[tuple[str, str]]) -> None:
    stage = final_stage(dockerfile)
    exposed = [port for keyword, args in stage if keyword == "EXPOSE" for port in args.split()]
    assert PORT in exposed or f"{PORT}/tcp" in exposed
    checks = [args for keyword, args in stage if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert f"http://127.0.0.1:{PORT}/healthz" in checks[0]
    assert "urllib" in checks[0], "slim images have no curl: use python"


def test_dockerfile_serves_on_the_port_with_json_logs(dockerfile: list[tuple[str, str]]) -> None:
    stage = final_stage(dockerfile)
    command = " ".join(args for keyword, args in stage if keyword in ("ENTRYPOINT", "CMD"))
    assert "touchpoint" in command and "serve" in command
    assert "0.0.0.0" in command and PORT in command
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    assert "TOUCHPOINT_LOG_JSON=true" in env


def test_dockerfile_copies_every_package(dockerfile: list[tuple[str, str]]) -> None:
    """The packages pyproject.toml ships must all reach the builder, or the wheel is incomplete."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = " ".join(args for keyword, args in dockerfile if keyword == "COPY")
    missing = sorted(name for name in packages if f"{name}/" not in copied)
    assert not missing, f"not copied into the build: {missing}"


def ignored() -> set[str]:
    patterns = set()
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and not line.startswith("!"):
            patterns.add(line.removeprefix("/").removeprefix("**/").rstrip("/"))
    return patterns


@pytest.mark.parametrize("name", [".venv", ".env", ".git", "*.db"])
def test_dockerignore_excludes(name: str) -> None:
    assert name in ignored()


def test_compose_runs_postgres_15_with_a_healthcheck_and_a_volume(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    assert str(db["image"]).startswith("postgres:15")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = str(db["volumes"][0]).split(":")[0]
    assert volume in compose["volumes"], "the data lives in a named volume"


def test_compose_starts_touchpoint_once_postgres_is_healthy(compose: dict[str, Any]) -> None:
    app = compose["services"]["touchpoint"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    url = app["environment"]["TOUCHPOINT_DATABASE_URL"]
    assert url == "postgresql+asyncpg://touchpoint:touchpoint@db:5432/touchpoint"
    assert any(str(port).endswith(f":{PORT}") for port in app["ports"])
    assert app["env_file"] == [{"path": ".env", "required": False}]


@cache
def engine_problem() -> str | None:
    """Why the image cannot be built here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "`docker info` timed out: no Docker engine reachable"
    if info.returncode != 0:
        return "no Docker engine reachable (`docker info` failed)"
    return None


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_image_builds_and_runs_as_non_root() -> None:
    problem = engine_problem()
    if problem is not None:
        pytest.skip(f"cannot build the image: {problem}")
    tag = f"touchpoint-test:{uuid.uuid4().hex[:12]}"
    build = docker("build", "--tag", tag, str(ROOT), timeout=1800)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    try:
        version = docker("run", "--rm", tag, "version")
        assert version.returncode == 0, version.stderr
        assert version.stdout.startswith("touchpoint ")
        whoami = docker("run", "--rm", "--entrypoint", "id", tag, "-u")
        assert whoami.returncode == 0, whoami.stderr
        assert whoami.stdout.strip() != "0"
    finally:
        docker("image", "rm", "--force", tag)
