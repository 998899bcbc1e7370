"""How feedback reads: an item's card (with Acknowledge, Resolve, Reassign and Log follow-up for its
recipient), the note that closes the loop back to the originator, and the report to the admins about
anyone a message could not reach (nothing is dropped silently).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import actions
from bot.feedback.routing import CX_TEAM, MAX_TEXT
from bot.feedback.sentiment import STRONGLY_NEGATIVE, strongly_negative_marker
from bot.format import truncate
from bot.log import get_logger
from bot.serialize import outbox_message, reply_to_dict
from bot.types import Actions, Address, Block, Button, Context, Fields, Reply, Text
from storage import outbox
from storage.models import FeedbackItem, FeedbackState, Person

log = get_logger("touchpoint.feedback")

PURPOSE = "feedback"
ADMIN_PURPOSE = "admin"

STATE_LABELS = {
    FeedbackState.NEW.value: "🆕 New",
    FeedbackState.ACKNOWLEDGED.value: "👀 Acknowledged",
    FeedbackState.RESOLVED.value: "✅ Resolved",
}


def item_reply(
    item: FeedbackItem,
    account_name: str | None,
    originator_name: str | None,
    *,
    for_recipient: bool,
    strongly_negative: float = STRONGLY_NEGATIVE,
) -> Reply:
    """One item as a card; the recipient's copy carries Acknowledge, Resolve, Reassign and Log follow-up.
    A strongly negative text is marked above it, with its score."""
    urgent = "🚨 Urgent " if item.urgent else ""
    source = "CX" if item.originator_team == CX_TEAM else "CS"
    about = f" about **{account_name}**" if account_name else ""
    sender = originator_name or ("a survey" if item.survey_response_id is not None else "someone")
    marker = strongly_negative_marker(item.sentiment, threshold=strongly_negative)
    blocks: list[Block] = [Text(f"{urgent}**Feedback #{item.id}** from {sender} ({source}){about}")]
    if marker:
        blocks.append(Text(f"**{marker}**"))
    blocks.append(Text(truncate(item.text, MAX_TEXT)))
    fields: list[tuple[str, str]] = [("State", STATE_LABELS.get(item.state, item.state))]
    if item.tags:
        fields.append(("Tags", " ".join(f"#{t}" for t in item.tags)))
    blocks.append(Fields(tuple(fields)))
    small: list[str] = []
    if item.resolution:
        small.append(f"Resolution: {truncate(item.resolution, 300)}")
    if item.source_link:
        small.append(f"Source: {item.source_link}")
    if small:
        blocks.append(Context(tuple(small)))
    if for_recipient and item.state != FeedbackState.RESOLVED.value:
        blocks.append(Actions(item_buttons(item)))
    summary = f"{urgent}Feedback #{item.id} from {sender}" + (
        f" about {account_name}" if account_name else ""
    )
    if marker:
        summary += f" {marker}"
    return Reply(summary=summary + f": {truncate(item.text, 120)}", blocks=tuple(blocks))


def item_buttons(item: FeedbackItem) -> tuple[Button, ...]:
    payload: dict[str, int | str | float | bool | None] = {"item_id": item.id}
    buttons: list[Button] = []
    if item.state == FeedbackState.NEW.value:
        buttons.append(
            Button(label="Acknowledge", action=actions.FEEDBACK_ACK, payload=payload, style="primary")
        )
    buttons.append(Button(label="Resolve", action=actions.FEEDBACK_RESOLVE, payload=payload))
    buttons.append(Button(label="Reassign", action=actions.FEEDBACK_REASSIGN, payload=payload))
    if item.account_id is not None:
        buttons.append(
            Button(
                label="Log follow-up",
                action=actions.FOLLOWUP_OPEN_FORM,
                payload={"account_id": item.account_id},
            )
        )
    return tuple(buttons)


def person_label(person: Person | None, person_id: int) -> str:
    return f"{person.name} ({person.email})" if person is not None else f"person #{person_id}"


def admin_reports(
    item: FeedbackItem,
    account_name: str | None,
    problems: Sequence[str],
    admins: dict[int, Address],
    *,
    key: str,
) -> list[outbox.NewMessage]:
    """A note to every reachable admin about feedback that could not reach someone."""
    if not problems:
        return []
    about = f" about **{account_name}**" if account_name else ""
    reply = Reply(
        summary=f"Feedback #{item.id} could not reach everyone",
        blocks=(
            Text(f"⚠️ **Feedback #{item.id}**{about} could not reach everyone:"),
            Text("\n".join(f"• {p}" for p in problems)),
            Context(
                ("Add their Slack or Teams identity (or set the feedback channels) so it reaches them.",)
            ),
        ),
    )
    if not admins:
        log.warning("feedback_unreachable_no_admin", item_id=item.id, problems=list(problems))
        return []
    log.warning("feedback_unreachable", item_id=item.id, problems=list(problems))
    payload = reply_to_dict(reply)
    return [
        outbox_message(f"{key}:admin:{admin_id}", ADMIN_PURPOSE, address, payload)
        for admin_id, address in admins.items()
    ]


def originator_note(
    item: FeedbackItem, who: str, verb: str, note: str | None, account_name: str | None
) -> Reply:
    """What the originator hears when ``who`` changed their item: the loop closing back to them."""
    about = f" about **{account_name}**" if account_name else ""
    icon = "✅" if verb == "resolved" else "👀" if verb == "acknowledged" else "↪️"
    lines = [f"{icon} {who} {verb} your feedback{about} (#{item.id}):", f"> {truncate(item.text, 300)}"]
    if note:
        lines.append(f"**Resolution:** {truncate(note, 500)}")
    return Reply(summary=f"{who} {verb} your feedback #{item.id}", blocks=(Text("\n".join(lines)),))
