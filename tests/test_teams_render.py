"""Neutral replies and forms as Adaptive Cards 1.5, and card data back into requests."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from adapters.teams.card_actions import read_action
from adapters.teams.cards import CHOOSE_ITEM, card_text, plain
from adapters.teams.forms import render_form
from adapters.teams.render import TRUNCATED_NOTE, message_size, render_reply
from bot.types import (
    Actions,
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
from tests.adaptivecards import assert_valid_card, card_problems
from tests.teams_activities import actions_of, choice_for, inputs_of, press


def item_rows(n: int, *, start: int = 1) -> tuple[Text | Actions, ...]:
    """A followups-like list: a line per item, each with Done / Snooze 1 day / Snooze 1 week."""
    blocks: list[Text | Actions] = []
    for i in range(start, start + n):
        blocks.append(Text(f"**Account {i}**: step {i} · due in {i} days"))
        blocks.append(
            Actions(
                (
                    Button("Done", "followup.done", {"followup_id": i}, style="primary"),
                    Button("Snooze 1 day", "followup.snooze", {"followup_id": i, "days": 1}),
                    Button("Snooze 1 week", "followup.snooze", {"followup_id": i, "days": 7}),
                )
            )
        )
    return tuple(blocks)


MORE = Button("More (5 left)", "page.more", {"command": "followups", "args": "", "offset": 10})


def test_blocks_map_to_adaptive_card_elements() -> None:
    reply = Reply(
        summary="Acme",
        blocks=(
            Header("Acme Rockets"),
            Text("🔴 **Health 37 (red)**  ▼ 9 in 7 days\n_3 detractors_"),
            Fields((("ARR", "$438k"), ("Owner", "Maya Chen"))),
            Context(("Last touch: call 2 days ago", "ID ACME-001")),
            Divider(),
            Image("https://example.com/chart.png", "Health chart", title="Trend"),
            Actions((Button("Log follow-up", "followup.open_form", {"account_id": 1}, style="primary"),)),
        ),
    )
    [card] = render_reply(reply)
    assert_valid_card(card)
    body = card["body"]
    assert [e["type"] for e in body] == [
        "TextBlock",
        "TextBlock",
        "TextBlock",
        "FactSet",
        "TextBlock",
        "TextBlock",
        "Image",
        "ActionSet",
    ]
    assert body[0]["style"] == "heading" and body[0]["weight"] == "Bolder"
    assert body[1]["text"] == "🔴 **Health 37 (red)**  ▼ 9 in 7 days"
    assert body[2] == {"type": "TextBlock", "text": "_3 detractors_", "wrap": True, "spacing": "None"}
    assert body[3]["facts"] == [{"title": "ARR", "value": "$438k"}, {"title": "Owner", "value": "Maya Chen"}]
    assert body[4]["isSubtle"] is True and "Last touch: call 2 days ago" in body[4]["text"]
    assert body[5]["separator"] is True, "a Divider draws a line above what follows"
    assert body[6] == {
        "type": "Image",
        "url": "https://example.com/chart.png",
        "altText": "Health chart",
        "size": "Auto",
    }
    [action] = body[7]["actions"]
    assert action["type"] == "Action.Execute"
    assert action["verb"] == "followup.open_form"
    assert action["style"] == "positive"
    assert action["data"] == {"tp": {"a": "followup.open_form", "p": {"account_id": 1}}}
    assert card["fallbackText"] == "Acme"


def test_markup_code_spans_become_bold() -> None:
    assert (
        card_text("`help`  this list, **bold** and _italic_") == "**help**  this list, **bold** and _italic_"
    )


def test_plain_text_drops_markup_but_not_ids() -> None:
    assert (
        plain("**Acme** is _red_: see ACME_001 and `risk`\nsecond line")
        == "Acme is red: see ACME_001 and risk"
    )


def test_a_reply_without_blocks_shows_its_summary() -> None:
    [card] = render_reply(Reply(summary="Nothing to do today."))
    assert card["body"][0]["text"] == "Nothing to do today."


def test_six_buttons_or_fewer_stay_on_their_rows() -> None:
    [card] = render_reply(Reply(summary="x", blocks=(*item_rows(2), Context(("2 in all",)))))
    assert [a["title"] for a in actions_of(card)] == ["Done", "Snooze 1 day", "Snooze 1 week"] * 2
    assert not inputs_of(card)


def test_a_long_list_gets_one_choice_and_its_buttons_once() -> None:
    """Ten items with three buttons each (30) and More: one card, four actions."""
    reply = Reply(
        summary="Open follow-ups",
        blocks=(Header("Open follow-ups"), *item_rows(10), Context(("1-10 of 15",)), Actions((MORE,))),
    )
    [card] = render_reply(reply)
    assert_valid_card(card)
    assert [a["title"] for a in actions_of(card)] == [
        "Done",
        "Snooze 1 day",
        "Snooze 1 week",
        "More (5 left)",
    ]
    [choice] = [i for i in inputs_of(card).values() if i["type"] == "Input.ChoiceSet"]
    assert choice["isRequired"] and choice["errorMessage"] == CHOOSE_ITEM
    assert [c["title"] for c in choice["choices"]][:2] == [
        "1. Account 1: step 1 · due in 1 days",
        "2. Account 2: step 2 · due in 2 days",
    ]
    columns = [e for e in card["body"] if e["type"] == "ColumnSet"]
    assert len(columns) == 10
    assert columns[2]["columns"][0]["items"][0]["text"] == "3."


@pytest.mark.parametrize(
    ("button", "item", "expected"),
    [
        ("Done", "Account 4", {"followup_id": 4}),
        ("Snooze 1 day", "Account 7", {"followup_id": 7, "days": 1}),
        ("Snooze 1 week", "Account 10", {"followup_id": 10, "days": 7}),
    ],
)
def test_the_chosen_item_and_the_button_make_the_original_payload(
    button: str, item: str, expected: dict[str, int]
) -> None:
    [card] = render_reply(Reply(summary="x", blocks=item_rows(10)))
    input_id, value = choice_for(card, item)
    data, verb = press(card, button, **{input_id: value})
    action = read_action(data, verb=verb)
    assert action.problem is None
    assert action.payload == expected
    assert action.action == ("followup.done" if button == "Done" else "followup.snooze")
    assert action.submit is False


def test_two_lists_in_one_reply_go_to_two_cards() -> None:
    reply = Reply(
        summary="x",
        blocks=(
            Header("Follow-ups"),
            *item_rows(4),
            Header("Milestones"),
            *(
                b
                if isinstance(b, Text)
                else Actions(
                    tuple(
                        Button(x.label, x.action.replace("followup", "milestone"), x.payload)
                        for x in b.buttons
                    )
                )
                for b in item_rows(4, start=20)
            ),
        ),
    )
    cards = render_reply(reply)
    assert len(cards) == 2
    for card in cards:
        assert_valid_card(card)
        assert len([i for i in inputs_of(card).values() if i["type"] == "Input.ChoiceSet"]) == 1
    assert "fallbackText" in cards[0] and "fallbackText" not in cards[1]


def test_many_unrelated_buttons_are_split_over_cards_of_six() -> None:
    buttons = tuple(Button(f"Account {i}", "account.open", {"account_id": i}) for i in range(14))
    cards = render_reply(Reply(summary="x", blocks=(Text("Which one?"), Actions(buttons))))
    assert [len(actions_of(c)) for c in cards] == [6, 6, 2]
    for card in cards:
        assert_valid_card(card)
    assert cards[0]["body"][0]["text"] == "Which one?"


def test_a_huge_reply_is_cut_under_80_kb_keeping_more() -> None:
    lines = tuple(Text(f"**Account {i}** " + "x" * 400) for i in range(400))
    reply = Reply(summary="big", blocks=(Header("Everything"), *lines, Actions((MORE,))))
    cards = render_reply(reply)
    assert message_size(cards, reply.summary) < 80_000
    last = cards[-1]["body"]
    assert last[-1]["type"] == "ActionSet" and last[-1]["actions"][0]["title"] == "More (5 left)"
    assert last[-2]["text"] == TRUNCATED_NOTE
    for card in cards:
        assert_valid_card(card)


def test_a_long_line_is_truncated() -> None:
    [card] = render_reply(Reply(summary="x", blocks=(Text("y" * 10_000),)))
    assert len(card["body"][0]["text"]) == 4000
    assert card["body"][0]["text"].endswith("...")


def test_buttons_carry_ids_not_documents() -> None:
    with pytest.raises(ValueError, match="ids only"):
        render_reply(Reply(summary="x", blocks=(Actions((Button("Go", "x", {"blob": "z" * 3000}),)),)))


# ------------------------------------------------------------------------------------------ forms

FORM = Form(
    title="Log follow-up",
    inputs=(
        FormInput(
            id="kind",
            label="Kind",
            kind=InputKind.SELECT,
            initial="email",
            options=(Option("call", "Call"), Option("email", "Email")),
        ),
        FormInput(id="summary", label="What happened?", kind=InputKind.MULTILINE, max_length=3000),
        FormInput(id="next_step", label="Next step", required=False, placeholder="Optional", max_length=500),
        FormInput(
            id="due_date", label="Next step due", kind=InputKind.DATE, required=False, min_date="today"
        ),
    ),
    submit_action="followup.save",
    payload={"account_id": 7},
)


def test_form_inputs_have_labels_required_marks_and_messages() -> None:
    card = render_form(FORM, today=date(2026, 11, 25))
    assert_valid_card(card)
    inputs = inputs_of(card)
    assert inputs["kind"] == {
        "id": "kind",
        "label": "Kind",
        "isRequired": True,
        "errorMessage": "Kind is required.",
        "type": "Input.ChoiceSet",
        "style": "compact",
        "choices": [{"title": "Call", "value": "call"}, {"title": "Email", "value": "email"}],
        "value": "email",
    }
    assert inputs["summary"]["isMultiline"] is True and inputs["summary"]["maxLength"] == 3000
    assert inputs["next_step"]["isRequired"] is False and inputs["next_step"]["placeholder"] == "Optional"
    assert inputs["due_date"]["type"] == "Input.Date" and inputs["due_date"]["min"] == "2026-11-25"
    [save] = card["actions"]
    assert save["title"] == "Save" and save["associatedInputs"] == "auto" and save["style"] == "positive"


def test_form_errors_are_shown_under_their_fields_with_the_values_kept() -> None:
    failed = Form(
        title=FORM.title,
        inputs=tuple(
            replace(spec, initial=v)
            for spec, v in zip(FORM.inputs, ("call", "", "Call back", "2026-11-20"), strict=True)
        ),
        submit_action=FORM.submit_action,
        payload=FORM.payload,
        errors={"summary": "What happened? is required.", "due_date": "Next step due cannot be in the past."},
    )
    card = render_form(failed)
    assert_valid_card(card)
    body = card["body"]
    ids = [e.get("id") for e in body]
    summary_at = ids.index("summary")
    assert body[summary_at]["errorMessage"] == "What happened? is required."
    assert body[summary_at + 1] == {
        "type": "TextBlock",
        "text": "What happened? is required.",
        "wrap": True,
        "color": "Attention",
        "size": "Small",
        "spacing": "None",
    }
    assert body[ids.index("due_date") + 1]["text"] == "Next step due cannot be in the past."
    assert inputs_of(card)["next_step"]["value"] == "Call back"
    assert inputs_of(card)["due_date"]["value"] == "2026-11-20"


def test_submitted_form_values_come_back_as_a_submit() -> None:
    card = render_form(FORM)
    data, verb = press(card, "Save", kind="call", summary="Intro call", next_step="", due_date="2026-12-01")
    action = read_action(data, verb=verb)
    assert action.submit is True
    assert action.action == "followup.save"
    assert action.payload == {"account_id": 7}
    assert action.values == {
        "kind": "call",
        "summary": "Intro call",
        "next_step": "",
        "due_date": "2026-12-01",
    }


def test_form_input_ids_may_not_clash_with_touchpoint_data() -> None:
    bad = Form(title="x", inputs=(FormInput(id="tp", label="x"),), submit_action="x")
    with pytest.raises(ValueError, match="reserved"):
        render_form(bad)


# ------------------------------------------------------------------------------------- reading


def test_action_data_from_elsewhere_is_read_but_not_trusted() -> None:
    flat = read_action({"action": "snooze", "accountId": "001", "nested": {"x": 1}})
    assert (flat.action, flat.payload, flat.submit) == ("snooze", {"accountId": "001"}, False)
    by_verb = read_action({"accountId": "001xx"}, verb="logFollowUp")
    assert (by_verb.action, by_verb.payload) == ("logFollowUp", {"accountId": "001xx"})
    assert read_action("garbage").action == ""
    assert read_action({"tp": {"a": "x", "p": {"ok": 1, "bad": [1, 2]}}}).payload == {"ok": 1}


def test_a_pick_without_a_choice_is_a_problem() -> None:
    data = {"tp": {"a": "followup.done", "p": {}, "pick": "tp_item_1"}, "tp_item_1": ""}
    assert read_action(data).problem == CHOOSE_ITEM
    data["tp_item_1"] = "not json"
    assert read_action(data).problem == CHOOSE_ITEM
    data["tp_item_1"] = json.dumps({"followup_id": 3})
    assert read_action(data).payload == {"followup_id": 3}


# ------------------------------------------------------------------------------ the card checker


def test_the_card_checker_finds_what_teams_would_not_show() -> None:
    nested = {
        "type": "Action.ShowCard",
        "title": "More",
        "card": {
            "type": "AdaptiveCard",
            "body": [],
            "actions": [{"type": "Action.Submit", "title": str(i), "data": {}} for i in range(5)],
        },
    }
    card = {
        "type": "AdaptiveCard",
        "version": "1.6",
        "body": [
            {"type": "TextBlock", "text": "hi", "wieght": "Bolder"},
            {"type": "Carousel"},
            {"type": "Input.Text", "id": "a", "isRequired": True},
            {"type": "Input.Text", "id": "a", "label": "again"},
            {"type": "ActionSet", "actions": [nested, {"type": "Action.Execute", "title": "Go", "data": {}}]},
        ],
    }
    problems = "\n".join(card_problems(card))
    assert "version is '1.6'" in problems
    assert "unknown TextBlock property 'wieght'" in problems
    assert "'Carousel' is not an Adaptive Card 1.5 element" in problems
    assert "a required input needs a label" in problems
    assert "input ids used twice: ['a']" in problems
    assert "Action.Execute needs a verb" in problems
    assert "7 actions, Teams shows at most 6" in problems, "nested actions count"
    big = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x" * 90_000}]}
    assert any("keep cards under 80000" in p for p in card_problems(big))


def test_a_generated_chart_is_shown_inline_and_one_without_bytes_by_its_name() -> None:
    import base64

    from bot.digests.charts import band_chart_png

    png = band_chart_png([date(2026, 11, 25)], [{"red": 1, "green": 3}])
    reply = Reply(
        summary="digest",
        blocks=(
            Image("attachment://health-30d.png", "Bands over 30 days", title="Health, 30 days", data=png),
            Image("attachment://lost.png", "A chart that was not kept"),
        ),
    )
    [card] = render_reply(reply)
    assert_valid_card(card)
    text = json.dumps(card)
    assert "data:image/png;base64," + base64.b64encode(png).decode() in text
    assert "attachment://" not in text
    assert "A chart that was not kept" in text
