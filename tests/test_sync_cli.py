"""``touchpoint connect``, ``touchpoint sync`` and ``touchpoint sync status`` through the real command,
against the fake HubSpot and Salesforce APIs (in this test's event loop, so the command runs as an
asynchronous subprocess)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.salesforce import FakeSalesforce
from tests.test_cli_errors import clean_env
from tests.test_console import touchpoint_executable


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeHubSpot, FakeSalesforce]]:
    hubspot, salesforce = FakeHubSpot(), FakeSalesforce()
    await hubspot.start()
    await salesforce.start()
    yield hubspot, salesforce
    await hubspot.close()
    await salesforce.close()


def env_for(
    tmp_path: Path, sqlite_template: Path, hubspot: FakeHubSpot, org: FakeSalesforce
) -> dict[str, str]:
    shutil.copyfile(sqlite_template, tmp_path / "touchpoint.db")  # migrated
    env = clean_env(tmp_path)
    env.update(
        COLUMNS="250",
        HUBSPOT_ACCESS_TOKEN=hubspot.token,
        TOUCHPOINT_HUBSPOT_API_URL=hubspot.url,
        SALESFORCE_CLIENT_ID=org.client_id,
        SALESFORCE_CLIENT_SECRET=org.client_secret,
        SALESFORCE_LOGIN_URL=org.url,
    )
    return env


async def touchpoint(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        touchpoint_executable(),
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_connect_sync_and_status_for_both_crms(
    tmp_path: Path, sqlite_template: Path, fakes: tuple[FakeHubSpot, FakeSalesforce]
) -> None:
    hubspot, org = fakes
    env = env_for(tmp_path, sqlite_template, hubspot, org)
    hubspot.add("companies", {"name": "Acme Rockets", "annualrevenue": "1000"})
    org.add("Account", {"Name": "Bolt Labs", "AnnualRevenue": 2000})

    code, out, err = await touchpoint(tmp_path, env, "connect", "hubspot")
    assert (code, err) == (0, ""), out
    assert "annualrevenue" in out and "Ready: `touchpoint sync hubspot --full`" in out
    code, out, err = await touchpoint(tmp_path, env, "connect", "salesforce")
    assert (code, err) == (0, ""), out
    assert "AnnualRevenue" in out

    code, out, err = await touchpoint(tmp_path, env, "sync", "hubspot", "--full", "--dry-run")
    assert code == 0, err
    assert "HubSpot sync (full, dry run): ok" in out and "1 created" in out and "nothing was written" in out
    code, out, err = await touchpoint(tmp_path, env, "sync", "hubspot", "--full")
    assert code == 0 and "1 created" in out, err
    code, out, err = await touchpoint(tmp_path, env, "sync", "salesforce", "--full")
    assert code == 0 and "Salesforce sync (full): ok" in out and "1 created" in out, err

    code, out, err = await touchpoint(tmp_path, env, "sync", "status")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("HubSpot: ok · ") and "(full)" in lines[0]
    assert any(line.startswith("Salesforce: ok · ") for line in lines), out


async def test_a_wrong_mapping_and_missing_credentials_say_what_to_fix(
    tmp_path: Path, sqlite_template: Path, fakes: tuple[FakeHubSpot, FakeSalesforce]
) -> None:
    hubspot, org = fakes
    env = env_for(tmp_path, sqlite_template, hubspot, org)
    (tmp_path / "touchpoint.toml").write_text('[connectors.hubspot]\narr = "anualrevenue"\n')
    code, out, _err = await touchpoint(tmp_path, env, "connect", "hubspot")
    assert code == 1
    assert (
        f"{tmp_path / 'touchpoint.toml'}: connectors.hubspot.arr: no company field 'anualrevenue' in "
        "HubSpot; closest of the" in " ".join(out.split())
    )
    assert "annualrevenue" in out

    del env["SALESFORCE_CLIENT_SECRET"]
    code, _out, err = await touchpoint(tmp_path, env, "sync", "salesforce")
    assert code == 1
    assert "SALESFORCE_CLIENT_SECRET not set" in err and org.client_secret not in err
