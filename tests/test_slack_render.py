"""Block Kit rendering stays inside Slack's limits, and the checker in tests/blockkit.py catches what
Slack would refuse (so the checks every Slack test runs on its payloads are known to bite)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.slack import limits
from adapters.slack.render import (
    FORM_CALLBACK_ID,
    TRUNCATED_NOTE,
    action_name,
    modal_metadata,
    modal_values,
    mrkdwn,
    render_home,
    render_message,
    render_modal,
)
from bot.types import (
    Actions,
    Block,
    Button,
    Context,
    Divider,
    Fields,
    Form,
    FormInput,
    Header,
    Image,
    InputKind,
    Option,
    Reply,
    Text,
)
from tests import blockkit
from tests.slack_requests import modal_state


def message(*blocks: Block, summary: str = "summary") -> dict[str, Any]:
    rendered = render_message(Reply(summary=summary, blocks=blocks))
    blockkit.check_message(rendered)
    return rendered


def texts(block: dict[str, Any]) -> list[str]:
    if "text" in block:
        return [block["text"]["text"]]
    return [element["text"] for element in block.get("fields") or block.get("elements") or []]


# ------------------------------------------------------------------------------------- long texts


def test_long_section_text_is_cut_with_an_ellipsis() -> None:
    rendered = message(Text("word " * 1000))
    text = rendered["blocks"][0]["text"]["text"]
    assert len(text) == limits.SECTION_TEXT
    assert text.endswith("...")


def test_long_header_field_context_and_button_label_are_cut() -> None:
    rendered = message(
        Header("H" * 400),
        Fields((("Label", "v" * 5000),)),
        Context(("c" * 5000,)),
        Actions((Button(label="B" * 200, action="account.open", payload={"account_id": 1}),)),
    )
    header, fields, context, actions = rendered["blocks"]
    assert len(header["text"]["text"]) == limits.HEADER_TEXT
    assert header["text"]["text"].endswith("...")
    assert len(fields["fields"][0]["text"]) == limits.FIELD_TEXT
    assert fields["fields"][0]["text"].startswith("*Label*\n")
    assert fields["fields"][0]["text"].endswith("...")
    assert context["elements"][0]["text"].endswith("...")
    label = actions["elements"][0]["text"]["text"]
    assert len(label) == limits.BUTTON_TEXT and label.endswith("...")


def test_long_summary_is_cut_to_the_message_text_limit() -> None:
    rendered = message(Text("x"), summary="s" * 50_000)
    assert len(rendered["text"]) == limits.MESSAGE_TEXT
    assert rendered["text"].endswith("...")


def test_text_fitting_exactly_is_not_cut() -> None:
    rendered = message(Text("x" * limits.SECTION_TEXT))
    assert rendered["blocks"][0]["text"]["text"] == "x" * limits.SECTION_TEXT


# ------------------------------------------------------------------------------------- structure


def test_thirty_fields_become_three_sections_of_ten() -> None:
    rendered = message(Fields(tuple((f"L{i}", f"v{i}") for i in range(30))))
    assert [b["type"] for b in rendered["blocks"]] == ["section"] * 3
    assert [len(b["fields"]) for b in rendered["blocks"]] == [10, 10, 10]
    assert rendered["blocks"][2]["fields"][-1]["text"] == "*L29*\nv29"


def test_more_than_fifty_blocks_are_cut_with_a_note_keeping_the_last_actions_row() -> None:
    more = Button(label="More (40 left)", action="page.more", payload={"command": "my", "offset": 10})
    blocks: list[Block] = [Text(f"line {i}") for i in range(80)]
    rendered = message(*blocks, Actions((more,)))
    assert len(rendered["blocks"]) == limits.MESSAGE_BLOCKS
    assert rendered["blocks"][-1]["type"] == "actions"
    assert rendered["blocks"][-1]["elements"][0]["text"]["text"] == "More (40 left)"
    assert rendered["blocks"][-2] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": TRUNCATED_NOTE}],
    }
    assert rendered["blocks"][47]["text"]["text"] == "line 47"


def test_more_than_fifty_blocks_without_actions_end_with_the_note() -> None:
    rendered = message(*[Text(f"line {i}") for i in range(60)])
    assert len(rendered["blocks"]) == limits.MESSAGE_BLOCKS
    assert rendered["blocks"][-1]["elements"][0]["text"] == TRUNCATED_NOTE
    assert rendered["blocks"][-2]["text"]["text"] == "line 48"


def test_home_view_allows_a_hundred_blocks() -> None:
    reply = Reply(summary="home", blocks=tuple(Text(f"line {i}") for i in range(150)))
    view = render_home(reply)
    blockkit.check_view(view)
    assert len(view["blocks"]) == limits.VIEW_BLOCKS
    assert view["blocks"][98]["text"]["text"] == "line 98"


def test_reply_without_blocks_still_renders_a_valid_message_and_view() -> None:
    reply = Reply(summary="Only a summary")
    assert render_message(reply)["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Only a summary"}}
    ]
    blockkit.check_view(render_home(reply))


def test_action_ids_are_unique_in_a_message_and_map_back_to_the_action() -> None:
    row = Actions(
        (
            Button(label="Done", action="followup.done", payload={"followup_id": 1}, style="primary"),
            Button(label="Snooze", action="followup.snooze", payload={"followup_id": 1, "days": 1}),
        )
    )
    rendered = message(row, Text("x"), row)
    ids = [e["action_id"] for b in rendered["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert len(set(ids)) == 4
    assert [action_name(i) for i in ids] == ["followup.done", "followup.snooze"] * 2
    first = rendered["blocks"][0]["elements"][0]
    assert first["style"] == "primary"
    assert json.loads(first["value"]) == {"followup_id": 1}


def test_more_than_25_buttons_and_10_context_lines_are_cut() -> None:
    buttons = tuple(
        Button(label=f"b{i}", action="account.open", payload={"account_id": i}) for i in range(30)
    )
    rendered = message(Actions(buttons), Context(tuple(f"c{i}" for i in range(12))))
    assert len(rendered["blocks"][0]["elements"]) == limits.ACTIONS_ELEMENTS
    assert len(rendered["blocks"][1]["elements"]) == limits.CONTEXT_ELEMENTS


def test_button_payload_too_big_for_a_value_is_refused() -> None:
    huge = Button(label="x", action="a", payload={"blob": "x" * 2100})
    with pytest.raises(ValueError, match="ids only"):
        render_message(Reply(summary="s", blocks=(Actions((huge,)),)))


def test_markup_is_translated_and_escaped() -> None:
    assert mrkdwn("**Acme & Sons** <script> _new_") == "*Acme &amp; Sons* &lt;script&gt; _new_"
    rendered = message(Text("**bold**"), Divider(), Image(url="https://example.com/a.png", alt="chart"))
    assert rendered["blocks"][0]["text"]["text"] == "*bold*"
    assert [b["type"] for b in rendered["blocks"]] == ["section", "divider", "image"]


def test_empty_text_still_makes_a_valid_block() -> None:
    rendered = message(Text(""), Fields((("", ""),)))
    assert rendered["blocks"][0]["text"]["text"].strip() == ""


# ------------------------------------------------------------------------------------------ modals


def form(*inputs: FormInput, title: str = "Log follow-up", payload: dict[str, Any] | None = None) -> Form:
    return Form(
        title=title, inputs=inputs, submit_action="followup.save", payload=payload or {"account_id": 7}
    )


def test_modal_carries_the_submit_action_payload_and_channel() -> None:
    view = render_modal(form(FormInput(id="summary", label="Summary")), context={"channel": "C1"})
    blockkit.check_view(view)
    assert view["callback_id"] == FORM_CALLBACK_ID
    assert json.loads(view["private_metadata"]) == {
        "action": "followup.save",
        "payload": {"account_id": 7},
        "channel": "C1",
    }
    assert modal_metadata(view) == json.loads(view["private_metadata"])


def test_modal_title_longer_than_24_is_cut() -> None:
    view = render_modal(
        form(FormInput(id="x", label="X"), title="Log a follow-up for Ravenscroft"), context={}
    )
    blockkit.check_view(view)
    assert len(view["title"]["text"]) == limits.VIEW_TITLE
    assert view["title"]["text"].endswith("...")


def test_select_with_more_than_a_hundred_options_is_cut() -> None:
    options = tuple(Option(value=f"v{i}", label=f"Option {i} " + "x" * 100) for i in range(130))
    select = FormInput(id="pick", label="Pick", kind=InputKind.SELECT, options=options, initial="v3")
    view = render_modal(form(select), context={})
    blockkit.check_view(view)
    element = view["blocks"][0]["element"]
    assert len(element["options"]) == limits.SELECT_OPTIONS
    assert all(len(o["text"]["text"]) <= limits.OPTION_TEXT for o in element["options"])
    assert element["initial_option"]["value"] == "v3"


def test_inputs_of_every_kind_and_their_initial_values() -> None:
    view = render_modal(
        form(
            FormInput(
                id="summary", label="Summary", kind=InputKind.MULTILINE, initial="s" * 5000, max_length=9000
            ),
            FormInput(id="who", label="Who", placeholder="p" * 400, required=False),
            FormInput(id="due", label="Due", kind=InputKind.DATE, initial="2026-12-01"),
            FormInput(id="bad_due", label="Due", kind=InputKind.DATE, initial="next week"),
        ),
        context={},
    )
    blockkit.check_view(view)
    summary, who, due, bad_due = (b["element"] for b in view["blocks"])
    assert summary["multiline"] is True
    assert summary["max_length"] == 3000
    assert len(summary["initial_value"]) == 3000
    assert len(who["placeholder"]["text"]) == 150
    assert view["blocks"][1]["optional"] is True
    assert due["initial_date"] == "2026-12-01"
    assert "initial_date" not in bad_due


def test_metadata_too_big_for_a_modal_is_refused() -> None:
    with pytest.raises(ValueError, match="metadata"):
        render_modal(form(FormInput(id="x", label="X"), payload={"blob": "x" * 3000}), context={})


def test_submitted_values_are_read_back_by_input_id() -> None:
    view = render_modal(
        form(
            FormInput(id="kind", label="Kind", kind=InputKind.SELECT, options=(Option("call", "Call"),)),
            FormInput(id="summary", label="Summary"),
            FormInput(id="due", label="Due", kind=InputKind.DATE, required=False),
            FormInput(id="note", label="Note", required=False),
        ),
        context={},
    )
    state = modal_state(view, {"kind": "call", "summary": "Hello", "due": "2026-12-01"})
    assert modal_values({**view, "state": {"values": state}}) == {
        "kind": "call",
        "summary": "Hello",
        "due": "2026-12-01",
        "note": "",
    }
    assert modal_metadata({"private_metadata": "not json"}) == {}
    assert modal_metadata({"private_metadata": "[1]"}) == {}


# ------------------------------------------------------------------------------- the checker


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(action_id: str, value: str = "{}") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "b"},
        "action_id": action_id,
        "value": value,
    }


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"text": "t", "blocks": [section("x")] * 51}, "51 blocks"),
        ({"text": "t", "blocks": [section("x" * 3001)]}, "text attribute cannot exceed 3000"),
        (
            {
                "text": "t",
                "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            },
            "2001",
        ),
        (
            {"text": "t", "blocks": [{"type": "actions", "elements": [button("a"), button("a")]}]},
            "more than once",
        ),
        ({"text": "t", "blocks": [{"type": "actions", "elements": [button("a", "v" * 2001)]}]}, "value"),
        (
            {"text": "t", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]},
            "150",
        ),
        ({"text": "t", "blocks": [{"type": "no_such_block"}]}, "unknown block"),
        ({"blocks": []}, "neither text nor blocks"),
        ({"text": "t" * 40_001}, "40001"),
    ],
)
def test_checker_refuses_what_slack_would(payload: dict[str, Any], problem: str) -> None:
    with pytest.raises(blockkit.BlockKitError, match=problem):
        blockkit.check_api_call("chat.postMessage", payload)


@pytest.mark.parametrize(
    ("view", "problem"),
    [
        (
            {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": [section("x")]},
            "title",
        ),
        ({"type": "home", "blocks": [section("x")] * 101}, "100"),
        ({"type": "home", "blocks": []}, "between 1 and 100"),
        (
            {
                "type": "modal",
                "title": {"type": "plain_text", "text": "t"},
                "private_metadata": "m" * 3001,
                "blocks": [section("x")],
            },
            "private_metadata cannot exceed 3000",
        ),
    ],
)
def test_checker_refuses_broken_views(view: dict[str, Any], problem: str) -> None:
    with pytest.raises(blockkit.BlockKitError, match=problem):
        blockkit.check_api_call("views.publish", {"view": view})


def test_checker_reads_acknowledgement_bodies() -> None:
    blockkit.check_ack({"response_action": "errors", "errors": {"summary": "required"}})
    with pytest.raises(blockkit.BlockKitError):
        blockkit.check_ack({"response_action": "update", "view": {"type": "modal", "blocks": []}})
    with pytest.raises(blockkit.BlockKitError):
        blockkit.check_ack({"response_action": "errors"})
