"""Teams and Bot Framework limits (from Microsoft's documentation); the adapter keeps inside them."""

from __future__ import annotations

CARD_VERSION = "1.5"  # the newest Adaptive Card version Teams renders
MAX_ACTIONS = 6  # per card, nested ones included: Teams' host config
MAX_MESSAGE_BYTES = 80_000  # a bot message may be ~100 KB (413 beyond); keep a margin
TEXT_CHARS = 4_000  # per TextBlock: long enough for any line, short enough to keep cards small
FACT_CHARS = 1_000
CHOICE_TITLE_CHARS = 120
BUTTON_TITLE_CHARS = 80
ACTION_DATA_CHARS = 2_000  # buttons carry ids, not documents
SUMMARY_CHARS = 1_000

# What Teams sends: ids (conversation, user, activity) are well under this; a message is at most about
# 28 KB. An activity beyond either was made by hand, and is refused.
ID_CHARS = 1_024
INBOUND_TEXT_CHARS = 30_000

# Per bot and conversation: 7 messages a second and 60 in 30 seconds (the stricter of Teams' windows
# that matter for one process; 8 in 2 s and 1,800 an hour follow from these for bursts we make).
RATE_WINDOWS: tuple[tuple[float, int], ...] = ((1.0, 7), (2.0, 8), (30.0, 60))

# Bot Connector answers worth another try, after Retry-After or a backoff.
RETRY_STATUSES = frozenset({412, 429, 502, 503, 504})
