"""``touchpoint connect zendesk``, ``touchpoint sync zendesk|segment`` and ``sync status`` through the real
command, against the fake Zendesk API; and the ``[connectors.zendesk|segment]`` tables' errors."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.connectors.config import ConnectorsConfig, parse_connectors
from adapters.connectors.jobs import schedule_syncs
from adapters.connectors.sources_config import ConnectorConfigError
from bot.settings import get_settings
from storage.db import Database
from storage.models import Account, Person
from tests.fakes.zendesk import EMAIL, TOKEN, FakeZendesk, ManualClock
from tests.test_cli_errors import clean_env
from tests.test_sync_cli import touchpoint


@pytest.fixture
async def zendesk() -> AsyncIterator[FakeZendesk]:
    fake = FakeZendesk(clock=ManualClock(datetime.now(UTC) - timedelta(hours=1)))
    await fake.start()
    yield fake
    await fake.close()


async def env_for(tmp_path: Path, sqlite_template: Path, zendesk: FakeZendesk) -> dict[str, str]:
    shutil.copyfile(sqlite_template, tmp_path / "touchpoint.db")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'touchpoint.db'}")
    async with db.transaction() as session:
        session.add(Person(email="ana@example.com", name="Ana", role="csm"))
        session.add(Account(external_id="acme", name="Acme", name_key="acme"))
    await db.dispose()
    env = clean_env(tmp_path)
    env.update(
        COLUMNS="250",
        TOUCHPOINT_ZENDESK_URL=zendesk.url,
        ZENDESK_EMAIL=EMAIL,
        ZENDESK_API_TOKEN=TOKEN,
    )
    return env


async def test_connect_sync_and_status_for_zendesk_and_segment(
    tmp_path: Path, sqlite_template: Path, zendesk: FakeZendesk
) -> None:
    env = await env_for(tmp_path, sqlite_template, zendesk)
    acme = zendesk.add_organization("Acme Corp", external_id="acme")
    zendesk.add_organization("Umbrella", external_id="umbrella")
    zendesk.add_ticket(acme, created_at=datetime.now(UTC) - timedelta(days=3), priority="urgent")

    code, out, err = await touchpoint(tmp_path, env, "connect", "zendesk")
    assert (code, err) == (0, ""), out
    assert "ok (admin)" in out and "1 of 2 match an account" in out and "Umbrella (umbrella)" in out

    code, out, err = await touchpoint(tmp_path, env, "sync", "zendesk", "--dry-run")
    assert code == 0, err
    assert "Zendesk sync (incremental, dry run): ok" in out and "Dry run: nothing was written." in out
    code, out, err = await touchpoint(tmp_path, env, "sync", "zendesk")
    assert code == 0, err
    assert "Zendesk sync (incremental): ok" in out and "1 ticket ·" in out and "1 problem" in out
    assert "matches no account" in out

    code, out, err = await touchpoint(tmp_path, env, "sync", "segment")
    assert code == 0, err
    assert "Segment sync (incremental): ok" in out

    code, out, err = await touchpoint(tmp_path, env, "sync", "status")
    assert code == 0, err
    assert any(line.startswith("Zendesk: ok · ") for line in out.splitlines()), out
    assert any(line.startswith("Segment: ok · ") for line in out.splitlines()), out


async def test_a_revoked_zendesk_token_and_missing_settings_say_what_to_fix(
    tmp_path: Path, sqlite_template: Path, zendesk: FakeZendesk
) -> None:
    env = await env_for(tmp_path, sqlite_template, zendesk)
    zendesk.expire_token()
    code, _out, err = await touchpoint(tmp_path, env, "sync", "zendesk")
    assert code == 1
    assert "ZENDESK_API_TOKEN" in err and TOKEN not in err
    del env["ZENDESK_EMAIL"]
    code, _out, err = await touchpoint(tmp_path, env, "connect", "zendesk")
    assert code == 1 and "ZENDESK_EMAIL not set" in err


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"zendesk": {"match": "name"}}, "connectors.zendesk.match: one of external_id, domain, crm_id"),
        ({"zendesk": {"match": "crm_id"}}, 'connectors.zendesk.crm_id_field: match = "crm_id" needs'),
        ({"zendesk": {"escalation_tags": "vip"}}, "connectors.zendesk.escalation_tags: a list of names"),
        ({"zendesk": {"escalation_priority": "p1"}}, "connectors.zendesk.escalation_priority: low, normal"),
        ({"segment": {"late_days": 60}}, "connectors.segment.late_days: a whole number from 0 to 30"),
        ({"segment": {"features": ["reports"]}}, "connectors.segment.features: a table of event name"),
        ({"segment": {"activity_events": []}}, "connectors.segment.activity_events: name at least one"),
        ({"segment": {"group_trait": "seats"}}, "connectors.segment.group_trait: unknown key"),
        ({"intercom": {}}, "connectors.intercom: unknown connector"),
    ],
)
def test_a_wrong_table_names_the_file_and_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConnectorConfigError) as refused:
        parse_connectors(table, "touchpoint.toml")
    assert str(refused.value).startswith(f"touchpoint.toml: {message}")


def test_defaults_and_a_full_table() -> None:
    parsed = parse_connectors(
        {
            "zendesk": {"match": "crm_id", "crm_id_field": "sfdc_id", "escalation_priority": ""},
            "segment": {"features": {"Report Exported": "reports"}, "activity_events": ["Login", "page"]},
        },
        "touchpoint.toml",
    )
    assert isinstance(parsed, ConnectorsConfig) and parsed.zendesk and parsed.segment
    assert (parsed.zendesk.crm_id_field, parsed.zendesk.escalation_priority) == ("sfdc_id", None)
    segment = parsed.segment
    assert segment.available() == 1
    assert segment.is_activity("track", "Login") and segment.is_activity("page", None)
    assert not segment.is_activity("track", "Report Exported") and not segment.is_activity("screen", None)


def test_serve_counts_segment_events_every_five_minutes_and_never_runs_a_nightly_zendesk_full_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    monkeypatch.setenv("TOUCHPOINT_ZENDESK_URL", "https://acme.zendesk.com")
    monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    get_settings.cache_clear()
    added: list[tuple[str, object]] = []
    db = Database("sqlite+aiosqlite:///:memory:")
    jobs = schedule_syncs(
        lambda job_id, _work, trigger: added.append((job_id, trigger)),
        db,
        get_settings(),
        clock=lambda: datetime(2026, 3, 10, tzinfo=UTC),
    )
    get_settings.cache_clear()
    assert jobs == ["sync:zendesk", "sync:segment"]
    intervals = {job_id: getattr(trigger, "interval", None) for job_id, trigger in added}
    assert intervals == {"sync:zendesk": timedelta(minutes=15), "sync:segment": timedelta(minutes=5)}
