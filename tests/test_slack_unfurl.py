"""Slack link unfurls over HTTP: a signed ``link_shared`` event with a link to an account's CRM record
becomes one ``chat.unfurl`` with a compact Block Kit card; links Touchpoint cannot place get nothing.
Against the fake Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from handlers.account_links import record_of, salesforce_id_18
from storage.db import Database
from storage.models import CrmLink
from tests.factories import Team
from tests.loop_env import MAYA_SLACK, SAM_SLACK, LoopEnv, loop_env
from tests.loop_env import team as team  # the fixture
from tests.slack_env import reply_text
from tests.slack_requests import CHANNEL_ID, event, slash_command

HUBSPOT_URL = "https://app.hubspot.com/contacts/4242/company/9001"
SALESFORCE_URL = "https://acme.lightning.force.com/lightning/r/Account/001Dn00000ABCDEFGH/view"
UNKNOWN_URL = "https://app.hubspot.com/contacts/4242/company/777"


def link_shared(urls: list[str], *, channel: str = CHANNEL_ID, user: str = MAYA_SLACK, **extra: Any) -> Any:
    inner = {
        "type": "link_shared",
        "channel": channel,
        "is_bot_user_member": True,
        "user": user,
        "message_ts": "1764072000.000100",
        "unfurl_id": f"{channel}.1764072000.000100.abc",
        "source": "conversations_history",
        "links": [{"domain": url.split("/")[2], "url": url} for url in urls],
        "event_ts": "1764072000.000200",
        **extra,
    }
    return event(inner)


async def link(db: Database, connector: str, crm_id: str, account_id: int) -> None:
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    async with db.transaction() as session:
        session.add(
            CrmLink(
                connector=connector, crm_id=crm_id, account_id=account_id, linked_at=moment, seen_at=moment
            )
        )


def unfurls(env: LoopEnv) -> list[dict[str, Any]]:
    found = []
    for call in env.slack.of("chat.unfurl"):
        body = call.body
        value = body["unfurls"]
        found.append({**body, "unfurls": json.loads(value) if isinstance(value, str) else value})
    return found


async def test_a_crm_link_unfurls_into_the_account_s_compact_card(
    db: Database, tmp_path: Path, team: Team
) -> None:
    await link(db, "hubspot", "9001", team.acme_rockets)
    await link(db, "salesforce", "001Dn00000ABCDEFGH", team.cafe)
    async with loop_env(db, tmp_path) as env:
        await env.to_slack(link_shared([HUBSPOT_URL, SALESFORCE_URL, UNKNOWN_URL]))
        [call] = unfurls(env)
        assert (call["channel"], call["ts"]) == (CHANNEL_ID, "1764072000.000100")
        assert set(call["unfurls"]) == {HUBSPOT_URL, SALESFORCE_URL}  # the unknown record: no unfurl
        card = reply_text(call["unfurls"][HUBSPOT_URL])
        assert "Acme Rockets" in card and "Health" in card
        for field in ("ARR", "Renewal", "Owner", "Maya Chen"):
            assert field in card
        assert "Café Lumière Studios" in reply_text(call["unfurls"][SALESFORCE_URL])


async def test_links_nobody_knows_get_no_call_and_no_error(db: Database, tmp_path: Path, team: Team) -> None:
    async with loop_env(db, tmp_path) as env:
        await env.to_slack(link_shared([UNKNOWN_URL, "https://app.hubspot.com/reports/4242/dashboard"]))
        assert not env.slack.of("chat.unfurl")


async def test_no_unfurl_in_a_shared_channel_unless_allowed_and_then_only_the_fields_chosen(
    db: Database, tmp_path: Path, team: Team
) -> None:
    await link(db, "hubspot", "9001", team.acme_rockets)
    async with loop_env(db, tmp_path) as env:
        env.slack.share_externally("CEXT00001")
        await env.to_slack(link_shared([HUBSPOT_URL], channel="CEXT00001"))
        assert not env.slack.of("chat.unfurl")

        await env.to_slack(
            slash_command(
                "channel allow health renewal",
                user_id=SAM_SLACK,
                response_url=env.slack.response_url("allow"),
                channel_id="CEXT00001",
            )
        )
        await env.to_slack(link_shared([HUBSPOT_URL], channel="CEXT00001"))
        [call] = unfurls(env)
        card = reply_text(call["unfurls"][HUBSPOT_URL])
        assert "Health" in card and "Renewal" in card
        assert "ARR" not in card and "Maya Chen" not in card


async def test_composer_links_and_unregistered_sharers_are_not_unfurled(
    db: Database, tmp_path: Path, team: Team
) -> None:
    await link(db, "hubspot", "9001", team.acme_rockets)
    async with loop_env(db, tmp_path) as env:
        await env.to_slack(link_shared([HUBSPOT_URL], channel="COMPOSER", source="composer"))
        env.slack.add_user("UGUEST001", "guest@elsewhere.example")
        await env.to_slack(link_shared([HUBSPOT_URL], user="UGUEST001"))
        assert not env.slack.of("chat.unfurl")


async def test_a_refused_unfurl_is_logged_not_crashed(db: Database, tmp_path: Path, team: Team) -> None:
    await link(db, "hubspot", "9001", team.acme_rockets)
    async with loop_env(db, tmp_path) as env:
        env.slack.fail_next("chat.unfurl", 200, error="cannot_unfurl_url")
        await env.to_slack(link_shared([HUBSPOT_URL]))
        assert len(env.slack.of("chat.unfurl")) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://app.hubspot.com/contacts/4242/company/9001", ("hubspot", "9001")),
        ("https://app-eu1.hubspot.com/contacts/4242/record/0-2/9001/view/1", ("hubspot", "9001")),
        ("https://app.hubspot.com/contacts/4242/record/0-1/9001", None),  # a contact, not a company
        (
            "https://acme.lightning.force.com/lightning/r/Account/001Dn00000ABCDEFGH/view",
            ("salesforce", "001Dn00000ABCDEFGH"),
        ),
        (
            "https://acme.my.salesforce.com/001Dn00000ABCDE",
            ("salesforce", salesforce_id_18("001Dn00000ABCDE")),
        ),
        ("https://acme.lightning.force.com/lightning/r/Opportunity/006Dn00000ABCDEFGH/view", None),
        ("https://evil.example/app.hubspot.com/contacts/1/company/2", None),
        ("not a url", None),
    ],
)
def test_record_links_are_read_from_the_crm_url_shapes(url: str, expected: tuple[str, str] | None) -> None:
    record = record_of(url)
    assert (None if record is None else (record.connector, record.crm_id)) == expected


def test_a_15_character_salesforce_id_gets_its_case_safe_suffix() -> None:
    # Salesforce's documented example: 001A0000006Vm9r -> 001A0000006Vm9rIAC.
    assert salesforce_id_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert salesforce_id_18("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"
