"""Touchpoint's cards through Microsoft's own Adaptive Cards parser (the ``adaptivecards`` npm package),
at version 1.5: no parse warnings, no validation failures. Skipped when node or the package is absent."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from typing import Any

import pytest

from adapters.teams.app import WELCOME_CHANNEL, WELCOME_PERSONAL
from adapters.teams.forms import render_form
from adapters.teams.render import notice_card, render_reply
from bot.types import Actions, Button, Context, Divider, Fields, Header, Image, Reply, Text
from handlers.followups import follow_up_form
from tests.adaptivecards import node_package

SCRIPT = r"""
const AC = require(process.argv[1]);
const cards = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = cards.map((json) => {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  card.parse(json, context);
  const problems = [];
  for (let i = 0; i < context.eventCount; i++) {
    const event = context.getEventAt(i);
    problems.push(`parse: ${event.message}`);
  }
  for (const event of card.validateProperties().validationEvents) {
    problems.push(`validate: ${event.message}`);
  }
  return problems;
});
process.stdout.write(JSON.stringify(results));
"""


def sample_cards() -> list[dict[str, Any]]:
    rows: list[Text | Actions] = []
    for i in range(10):
        rows.append(Text(f"**Account {i}**: step {i}"))
        rows.append(
            Actions(
                (
                    Button("Done", "followup.done", {"followup_id": i}, style="primary"),
                    Button("Snooze 1 day", "followup.snooze", {"followup_id": i, "days": 1}),
                    Button("Snooze 1 week", "followup.snooze", {"followup_id": i, "days": 7}),
                )
            )
        )
    card = Reply(
        summary="Acme",
        blocks=(
            Header("Acme Rockets"),
            Text("🔴 **Health 37 (red)**\n_why: usage down_"),
            Fields((("ARR", "$438k"), ("Owner", "Maya"))),
            Context(("Last touch 2 days ago",)),
            Divider(),
            Image("https://example.com/a.png", "chart", title="Trend"),
            Actions((Button("Log follow-up", "followup.open_form", {"account_id": 1}, style="danger"),)),
        ),
    )
    more = Actions((Button("More (3 left)", "page.more", {"command": "followups", "offset": 10}),))
    form = follow_up_form(1, "Acme Rockets")
    failed = follow_up_form(
        1, "Acme Rockets", values={"summary": "", "due_date": "2026-01-01"}, errors={"summary": "Required."}
    )
    return [
        *render_reply(card),
        *render_reply(Reply(summary="list", blocks=(Header("Follow-ups"), *rows, more))),
        render_form(form, today=date(2026, 11, 25)),
        render_form(failed),
        *render_reply(WELCOME_PERSONAL),
        *render_reply(WELCOME_CHANNEL),
        notice_card("Touchpoint is not enabled for your organisation."),
    ]


def test_cards_pass_the_official_parser_at_version_1_5() -> None:
    node = shutil.which("node")
    package = node_package("adaptivecards")
    if node is None or package is None:
        pytest.skip("node and the npm package adaptivecards are needed (npm install adaptivecards)")
    library = package / "dist" / "adaptivecards.js"
    cards = sample_cards()
    result = subprocess.run(
        [node, "-e", SCRIPT, str(library)],
        input=json.dumps(cards),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    problems = json.loads(result.stdout)
    assert len(problems) == len(cards)
    found = {i: p for i, p in enumerate(problems) if p}
    assert not found, json.dumps(found, indent=2)
