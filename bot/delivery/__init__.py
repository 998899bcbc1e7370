"""Delivering the outbox: the worker (:mod:`.worker`), what it asks of each platform's sender
(:mod:`.senders`) and the pacing every replica shares (:mod:`.pacing`).

The guarantee, per platform, after a worker dies or loses its lease mid-send:

- Slack: every post carries its outbox key as message metadata; a row whose send was in doubt is
  looked up (``conversations.history``/``conversations.replies``) before it is posted again, so each
  message is posted once. A look-up that cannot be made (a channel whose history the app may not read)
  falls back to posting again.
- Teams: the Bot Connector offers no look-up and no idempotent send, so a message whose send was in
  doubt is posted again: at least once, with a repeat only for the one message in flight at a crash.

Edits (rows with ``edit_of``: a living message showing its subject's new state, :mod:`storage.living`)
are sent with the platform's update call once the post they rewrite is out; an edit is idempotent, so
one in doubt is simply sent again.
"""

from bot.delivery.pacing import HOLD_WHOLE_PLATFORM, MAX_SLOT_WAIT, PACING_SECONDS, RATE_PER_MINUTE, Pacer
from bot.delivery.senders import DeliveryError, Editable, Findable, Sender, backoff_seconds
from bot.delivery.worker import LEASE, MAX_ATTEMPTS, DeliveryWorker

__all__ = [
    "HOLD_WHOLE_PLATFORM",
    "LEASE",
    "MAX_ATTEMPTS",
    "MAX_SLOT_WAIT",
    "PACING_SECONDS",
    "RATE_PER_MINUTE",
    "DeliveryError",
    "DeliveryWorker",
    "Editable",
    "Findable",
    "Pacer",
    "Sender",
    "backoff_seconds",
]
