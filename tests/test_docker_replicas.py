"""docker-compose.replicas.yml: two replicas of the same image on one PostgreSQL, behind a proxy that
knows both. (Docker itself is not needed: the running replica test starts real processes instead.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.replicas.yml"


def services() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    found = loaded["services"]
    assert isinstance(found, dict)
    return found


def test_two_replicas_share_one_database_and_image() -> None:
    found = services()
    replicas = {name: service for name, service in found.items() if name.startswith("touchpoint-")}
    assert sorted(replicas) == ["touchpoint-1", "touchpoint-2"]
    urls = {service["environment"]["TOUCHPOINT_DATABASE_URL"] for service in replicas.values()}
    assert urls == {"postgresql+asyncpg://touchpoint:touchpoint@db:5432/touchpoint"}
    assert {service["image"] for service in replicas.values()} == {"touchpoint:latest"}
    for service in replicas.values():
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert "ports" not in service, "only the proxy is published"
        assert "/readyz" in " ".join(service["healthcheck"]["test"])


def test_the_proxy_sends_to_both_replicas() -> None:
    proxy = services()["proxy"]
    assert proxy["ports"] == ["3978:8080"]
    [mount] = proxy["volumes"]
    source = mount.split(":")[0]
    config = (ROOT / source).read_text(encoding="utf-8")
    upstream = re.search(r"upstream touchpoint \{(.*?)\}", config, re.S)
    assert upstream is not None
    assert re.findall(r"server (touchpoint-\d):3978", upstream.group(1)) == ["touchpoint-1", "touchpoint-2"]
    assert "listen 8080;" in config
    assert "non_idempotent" not in config, "a POST one replica took is never replayed on the other"
