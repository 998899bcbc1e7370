"""Every button and form action id, in one place.

The handler that answers an action and every place that puts it on a button (cards, digests, reminders,
alerts, the adapters' message shortcuts) import the same constant, so a renamed id cannot leave a button
that no longer works. The ids are stored in posted messages (in button values and the outbox): never
change the string of one that has been released.
"""

from __future__ import annotations

from typing import Final

ACCOUNT_OPEN: Final = "account.open"
PAGE_MORE: Final = "page.more"

FOLLOWUP_OPEN_FORM: Final = "followup.open_form"
FOLLOWUP_SAVE: Final = "followup.save"
FOLLOWUP_DONE: Final = "followup.done"
FOLLOWUP_SNOOZE: Final = "followup.snooze"

MILESTONES_OF_ACCOUNT: Final = "milestones.of_account"
TIMELINE_OF_ACCOUNT: Final = "timeline.of_account"
MILESTONE_DONE: Final = "milestone.done"
MILESTONE_SNOOZE: Final = "milestone.snooze"

PLAN_OPEN: Final = "plan.open"
PLAN_OPEN_FORM: Final = "plan.open_form"
PLAN_SAVE: Final = "plan.save"
PLAN_ACHIEVE: Final = "plan.achieve"
PLAN_SHARE: Final = "plan.share"  # on the owner's "achieved" message: opens the "which channel?" form
PLAN_SHARE_SAVE: Final = "plan.share_save"

FEEDBACK_OPEN_FORM: Final = "feedback.open_form"
FEEDBACK_SAVE: Final = "feedback.save"
FEEDBACK_ACK: Final = "feedback.ack"
FEEDBACK_RESOLVE: Final = "feedback.resolve"
FEEDBACK_RESOLVE_SAVE: Final = "feedback.resolve_save"
FEEDBACK_REASSIGN: Final = "feedback.reassign"
FEEDBACK_REASSIGN_SAVE: Final = "feedback.reassign_save"
FEEDBACK_THEME_ACK: Final = "feedback.theme_ack"

# Channels following accounts
CHANNEL_FOLLOW: Final = "channel.follow"
CHANNEL_UNFOLLOW: Final = "channel.unfollow"
