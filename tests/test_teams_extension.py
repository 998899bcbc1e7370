"""The Teams messaging extension over real HTTP: Log to account on a message (a dialog), account search
in the compose box, and CRM links unfurled into an account's compact card, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.teams.extension import EMPTY_QUERY, SHARED_CHANNEL, UNKNOWN_CONVERSATION
from adapters.teams.html_text import body_text, html_text
from adapters.teams.package import LINK_DOMAINS
from handlers.account_links import record_of
from storage import channels
from storage.db import Database
from storage.models import CrmLink, FollowUp, TeamsConversation
from tests.adaptivecards import card_problems
from tests.factories import NOW, Team, count
from tests.teams_activities import (
    CHANNEL_ID,
    OTHER_TENANT_ID,
    TENANT_ID,
    TeamsUser,
    actions_of,
    bot_added,
    channel_message,
    extension_invoke,
    inputs_of,
    link_invoke,
    message_payload,
    press,
    search_invoke,
)
from tests.teams_env import Answer, TeamsEnv, teams_env
from tests.teams_team import LEO_T, MAYA_T, STRANGER_T, texts_of
from tests.teams_team import env as env  # the fixture
from tests.teams_team import team as team  # the fixture

HUBSPOT_URL = "https://app.hubspot.com/contacts/4242/company/9001"
UNKNOWN_URL = "https://app.hubspot.com/contacts/4242/company/777"
MESSAGE = (
    '<p>Call with <at id="0">Jane Doe</at> at Acme Rockets&nbsp;went well.</p>'
    "<p>They want the new quote &amp; a QBR<br/>before January.</p>"
)
MESSAGE_TEXT = (
    "Call with Jane Doe at Acme Rockets went well.\nThey want the new quote & a QBR\nbefore January."
)


async def link_record(db: Database, crm_id: str, account_id: int) -> None:
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    async with db.transaction() as session:
        session.add(
            CrmLink(
                connector="hubspot", crm_id=crm_id, account_id=account_id, linked_at=moment, seen_at=moment
            )
        )


# ------------------------------------------------------------------------------- log to account


def log_value(**extra: Any) -> dict[str, Any]:
    return {
        "commandId": "logToAccount",
        "commandContext": "message",
        "messagePayload": message_payload(MESSAGE, LEO_T),
        **extra,
    }


def dialog_card(answer: Answer) -> dict[str, Any]:
    """The card of a task module ``continue`` answer, checked as Teams would draw it."""
    assert answer.status == 200, answer
    task = answer.body["task"]
    assert task["type"] == "continue", task
    info = task["value"]
    assert (info["title"], info["height"], info["width"]) == ("Log follow-up", "large", "medium")
    assert info["card"]["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = info["card"]["content"]
    assert card_problems(card) == []
    return dict(card)


async def open_dialog(env: TeamsEnv, who: TeamsUser = MAYA_T) -> Answer:
    activity = extension_invoke(
        "composeExtension/fetchTask", log_value(), who, service_url=env.service_url, place="channel"
    )
    return await env.post(activity)


async def submit_dialog(env: TeamsEnv, data: dict[str, Any]) -> Answer:
    activity = extension_invoke(
        "composeExtension/submitAction",
        log_value(data=data),
        MAYA_T,
        service_url=env.service_url,
        place="channel",
    )
    return await env.post(activity)


async def test_log_to_account_opens_the_form_with_the_message_and_its_account(env: TeamsEnv) -> None:
    card = dialog_card(await open_dialog(env))
    inputs = inputs_of(card)
    assert list(inputs) == ["account", "kind", "summary", "next_step", "due_date"]
    assert inputs["account"]["value"] == "Acme Rockets"  # the account the message names
    assert inputs["kind"]["value"] == "note"
    assert inputs["summary"]["value"] == MESSAGE_TEXT  # the message's text, HTML gone
    [save] = actions_of(card)
    assert save["type"] == "Action.Submit" and save["associatedInputs"] == "auto"
    assert save["data"]["tp"]["a"] == "followup.save" and save["data"]["tp"]["form"] == 1
    assert save["data"]["tp"]["p"]["source_link"] == log_value()["messagePayload"]["linkToMessage"]
    assert not env.fake.calls, "a dialog is answered in the invoke, nothing is posted"


async def test_log_to_account_saves_a_note_on_the_account_s_timeline(env: TeamsEnv, team: Team) -> None:
    card = dialog_card(await open_dialog(env))
    data, _ = press(card, "Save")
    before = await count(env.db, FollowUp)
    answer = await submit_dialog(env, data)
    assert answer.status == 200
    assert answer.body == {
        "task": {
            "type": "message",
            "value": "✅ Logged a note for Acme Rockets, with a link to the message, on its timeline.",
        }
    }
    assert await count(env.db, FollowUp) == before + 1
    async with env.db.sessions() as session:
        saved = (await session.execute(select(FollowUp).order_by(FollowUp.id.desc()).limit(1))).scalar_one()
    assert (saved.account_id, saved.kind, saved.author_id) == (team.acme_rockets, "note", team.maya)
    assert saved.summary == MESSAGE_TEXT
    assert saved.source_link == log_value()["messagePayload"]["linkToMessage"]


async def test_log_to_account_with_a_missing_field_shows_the_form_again(env: TeamsEnv) -> None:
    card = dialog_card(await open_dialog(env))
    data, _ = press(card, "Save", account="Nobody Ltd")
    data["summary"] = "   "  # blank once trimmed: the client lets it through, the server does not
    before = await count(env.db, FollowUp)
    form = dialog_card(await submit_dialog(env, data))
    shown = texts_of(form)
    assert "Please check the fields marked below." in shown
    assert "No account matches “Nobody Ltd”." in shown
    assert "is required." in shown
    attention = [b["text"] for b in form["body"] if b.get("color") == "Attention"]
    assert "No account matches “Nobody Ltd”." in attention
    assert inputs_of(form)["account"]["value"] == "Nobody Ltd", "what was typed is kept"
    [save] = actions_of(form)
    assert save["type"] == "Action.Submit", "the form stays in the dialog"
    assert await count(env.db, FollowUp) == before


async def test_log_to_account_for_a_stranger_is_a_pop_up_and_no_form(env: TeamsEnv) -> None:
    answer = await open_dialog(env, STRANGER_T)
    assert answer.status == 200
    assert answer.body["task"]["type"] == "message"
    assert "not registered" in answer.body["task"]["value"]
    assert "Acme" not in str(answer.body)


async def test_an_unknown_command_is_a_pop_up(env: TeamsEnv) -> None:
    activity = extension_invoke(
        "composeExtension/fetchTask", log_value(commandId="renamed"), MAYA_T, service_url=env.service_url
    )
    answer = await env.post(activity)
    assert answer.body["task"]["type"] == "message" and "update" in answer.body["task"]["value"]


# ---------------------------------------------------------------------------------------- search


async def search(env: TeamsEnv, words: str, who: TeamsUser = MAYA_T, **options: Any) -> dict[str, Any]:
    answer = await env.post(search_invoke(words, who, service_url=env.service_url, **options))
    assert answer.status == 200, answer
    result: dict[str, Any] = answer.body["composeExtension"]
    return result


def check_results(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The attachments of a ``result`` answer, each a valid card with a thumbnail preview."""
    assert (result["type"], result["attachmentLayout"]) == ("result", "list"), result
    for attachment in result["attachments"]:
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert card_problems(attachment["content"]) == []
        assert attachment["preview"]["contentType"] == "application/vnd.microsoft.card.thumbnail"
        assert set(attachment["preview"]["content"]) == {"title", "text"}
    return list(result["attachments"])


async def test_search_lists_matching_accounts_as_cards_with_previews(env: TeamsEnv) -> None:
    await env.post(bot_added(MAYA_T, service_url=env.service_url))  # the personal chat is known
    found = check_results(await search(env, "acme"))
    titles = [a["preview"]["content"]["title"] for a in found]
    assert titles == ["Acme Rockets", "Acme Robotics"]
    first = found[0]
    preview = first["preview"]["content"]["text"]
    assert "Health" in preview and "ARR $438k" in preview and "Owner Maya Chen" in preview
    assert "**" not in preview
    shown = texts_of(first["content"])
    for part in ("Acme Rockets", "Health", "ARR: $438k", "Renewal:", "Owner: Maya Chen", "account ACME-001"):
        assert part in shown


async def test_search_finds_ids_and_typos_and_pages(env: TeamsEnv) -> None:
    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    by_id = check_results(await search(env, "acme-002"))
    assert by_id[0]["preview"]["content"]["title"] == "Acme Robotics"
    typo = check_results(await search(env, "brightwatr"))
    assert typo[0]["preview"]["content"]["title"] == "Brightwater Logistics"
    second = check_results(await search(env, "acme", skip=1, count=1))
    assert [a["preview"]["content"]["title"] for a in second] == ["Acme Robotics"]


@pytest.mark.parametrize("words", ["", "   "])
async def test_an_empty_search_asks_for_a_name(env: TeamsEnv, words: str) -> None:
    assert await search(env, words) == {"type": "message", "text": EMPTY_QUERY}


async def test_a_search_matching_nothing_has_no_results(env: TeamsEnv) -> None:
    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    assert check_results(await search(env, "zzqqxx")) == []


async def test_a_stranger_s_search_gets_no_data(env: TeamsEnv) -> None:
    result = await search(env, "acme", STRANGER_T)
    assert result["type"] == "message" and "not registered" in result["text"]
    assert "Acme" not in str(result)


async def shared_channel(env: TeamsEnv) -> None:
    """Teams tells Touchpoint the channel is shared (``channelData.channel.type``), once."""
    activity = channel_message("help", MAYA_T, service_url=env.service_url)
    activity["channelData"]["channel"]["type"] = "shared"
    await env.post(activity)
    await env.fake.wait_for("reply")


async def test_a_shared_channel_gets_no_account_data_unless_an_admin_allowed_it(
    env: TeamsEnv, team: Team
) -> None:
    await shared_channel(env)
    result = await search(env, "acme", place="channel")
    assert result == {"type": "message", "text": SHARED_CHANNEL}

    async with env.db.transaction() as session:
        await channels.allow(session, "teams", CHANNEL_ID, frozenset({"health"}), by=team.sam, now=NOW)
    found = check_results(await search(env, "acme rockets", place="channel"))
    shown = texts_of(found[0]["content"])
    preview = found[0]["preview"]["content"]["text"]
    assert "Health" in shown and "Health" in preview
    for hidden in ("ARR", "Renewal", "Maya Chen"):
        assert hidden not in shown and hidden not in preview


async def test_an_internal_channel_gets_everything(env: TeamsEnv) -> None:
    await env.post(bot_added(MAYA_T, service_url=env.service_url, place="channel"))
    found = check_results(await search(env, "acme rockets", place="channel"))
    assert "ARR: $438k" in texts_of(found[0]["content"])


async def test_a_chat_touchpoint_is_not_in_gets_no_data_and_is_not_remembered(env: TeamsEnv) -> None:
    before = await count(env.db, TeamsConversation)
    result = await search(env, "acme", place="chat")
    assert result == {"type": "message", "text": UNKNOWN_CONVERSATION}
    assert await count(env.db, TeamsConversation) == before


# ------------------------------------------------------------------------------------- unfurling


async def unfurl(
    env: TeamsEnv, url: str, who: TeamsUser = MAYA_T, place: str = "personal"
) -> list[dict[str, Any]]:
    answer = await env.post(link_invoke(url, who, service_url=env.service_url, place=place))
    assert answer.status == 200, answer
    return check_results(answer.body["composeExtension"])


async def test_a_crm_link_unfurls_into_the_account_s_compact_card(env: TeamsEnv, team: Team) -> None:
    await link_record(env.db, "9001", team.acme_rockets)
    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    [found] = await unfurl(env, HUBSPOT_URL)
    shown = texts_of(found["content"])
    for part in ("Acme Rockets", "Health", "ARR: $438k", "Renewal:", "Owner: Maya Chen"):
        assert part in shown
    assert found["preview"]["content"]["title"] == "Acme Rockets"


async def test_links_touchpoint_cannot_place_unfurl_into_nothing(env: TeamsEnv, team: Team) -> None:
    await link_record(env.db, "9001", team.acme_rockets)
    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    assert await unfurl(env, UNKNOWN_URL) == []
    assert await unfurl(env, "https://app.hubspot.com/reports/4242/dashboard") == []
    assert await unfurl(env, HUBSPOT_URL, STRANGER_T) == []


async def test_no_unfurl_in_a_shared_channel(env: TeamsEnv, team: Team) -> None:
    await link_record(env.db, "9001", team.acme_rockets)
    await shared_channel(env)
    assert await unfurl(env, HUBSPOT_URL, place="channel") == []


def test_the_link_domains_cover_the_links_touchpoint_reads() -> None:
    """Each wildcard stands for one label of the host, as Teams matches them."""
    urls = [
        HUBSPOT_URL,
        "https://app-eu1.hubspot.com/contacts/4242/record/0-2/9001",
        "https://acme.lightning.force.com/lightning/r/Account/001Dn00000ABCDEFGH/view",
        "https://acme.my.salesforce.com/001Dn00000ABCDE",
    ]
    for url in urls:
        assert record_of(url) is not None, url
        host = url.split("/")[2]
        patterns = [re.compile("^[^.]+" + re.escape(domain[1:]) + "$") for domain in LINK_DOMAINS]
        assert any(pattern.match(host) for pattern in patterns), host


# -------------------------------------------------------------------------- tenants and failures


@pytest.fixture
async def gated(db: Database, tmp_path: Path, team: Team) -> AsyncIterator[TeamsEnv]:
    async for e in teams_env(db, tmp_path, tenant_ids=[TENANT_ID]):
        yield e


async def test_another_tenant_gets_refusals_in_the_shape_each_invoke_expects(
    gated: TeamsEnv, team: Team
) -> None:
    await link_record(gated.db, "9001", team.acme_rockets)
    url = gated.service_url
    query = search_invoke("acme", MAYA_T, service_url=url)
    unfurled = link_invoke(HUBSPOT_URL, MAYA_T, service_url=url)
    opened = extension_invoke("composeExtension/fetchTask", log_value(), MAYA_T, service_url=url)
    for activity in (query, unfurled, opened):
        activity["conversation"]["tenantId"] = OTHER_TENANT_ID
        activity["channelData"]["tenant"]["id"] = OTHER_TENANT_ID
    assert (await gated.post(query)).body == {
        "composeExtension": {"type": "message", "text": "Touchpoint is not enabled for your organisation."}
    }
    assert (await gated.post(unfurled)).body["composeExtension"]["attachments"] == []
    assert (await gated.post(opened)).body == {
        "task": {"type": "message", "value": "Touchpoint is not enabled for your organisation."}
    }
    assert await count(gated.db, TeamsConversation) == 0


async def test_a_failure_is_answered_in_the_invoke_s_shape(
    env: TeamsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(env.bot.context.accounts, "search", broken)
    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    result = await search(env, "acme")
    assert result["type"] == "message" and "Something went wrong (reference" in result["text"]


# ------------------------------------------------------------------------------- message text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (MESSAGE, MESSAGE_TEXT),
        (
            "<div><div>Renewal risk</div><div><br></div><div>ARR &lt; $500k</div></div>",
            "Renewal risk\nARR < $500k",
        ),
        ("plain   words\nwrapped", "plain words wrapped"),
        ('Great <img alt="🎉" itemtype="http://schema.skype.com/Emoji" src="x"> news', "Great 🎉 news"),
        ('<img alt="diagram" src="https://example.com/x.png">', ""),
        ("<style>p {color: red}</style><script>alert(1)</script><p>kept</p>", "kept"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
    ],
)
def test_message_html_becomes_the_text_people_read(html: str, text: str) -> None:
    assert html_text(html) == text


def test_a_plain_text_body_is_kept_as_written() -> None:
    assert body_text({"contentType": "text", "content": " a < b & c \n"}) == "a < b & c"
    assert body_text({"contentType": "html"}) == ""
    assert body_text(None) == ""
