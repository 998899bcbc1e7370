"""VADER read the way B2B customers write: one input of the tone model (:mod:`bot.feedback.tone_model`).

VADER's lexicon comes from social media, where "support" is praise and "slow", "times out" or "not
renew" mean little. Here the words are re-weighted for customer feedback about software, and phrases that
no single word carries ("will not renew", "never answers", "no issues since the upgrade") are replaced by
one token of their own before VADER reads the text, so its rules ("but", capitals, "very", negation of a
word) still apply around them.

Requests and questions ("Please add...", "Could we move the QBR?") are not praise, however warmly put: a
text that reads as one scores at most 0 here.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # loaded on first use: reading VADER's lexicon takes a moment
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Word -> valence (-4..4, VADER's scale). 0 removes a word VADER scores that is a noun or a courtesy here.
LEXICON: Final[dict[str, float]] = {
    # nouns and courtesies in B2B feedback, not praise
    "support": 0.0, "help": 0.0, "please": 0.0, "ok": 0.3, "well": 0.0, "like": 0.0, "sync": 0.0,
    "integration": 0.0, "team": 0.0, "feature": 0.0, "features": 0.0, "rock": 0.0, "game": 0.0,
    "again": 0.0,
    # speed and reliability
    "slow": -1.8, "slower": -1.5, "slowly": -1.5, "sluggish": -1.8, "laggy": -1.8, "lagging": -1.5,
    "outage": -2.5, "outages": -2.5, "downtime": -2.3, "down": -1.2, "offline": -1.5,
    "crash": -2.0, "crashes": -2.0, "crashing": -2.2, "crashed": -2.0, "freezes": -1.8, "frozen": -1.2,
    "bug": -1.6, "bugs": -1.8, "buggy": -2.0, "glitch": -1.5, "glitches": -1.6, "glitchy": -1.8,
    "timeout": -1.8, "timeouts": -2.0, "broken": -2.3, "breaks": -1.8, "broke": -1.8,
    "regression": -2.0, "regressions": -2.0, "unstable": -2.0, "unreliable": -2.2, "flaky": -1.8,
    "failing": -2.3, "fails": -2.2, "failure": -2.3, "failures": -2.3, "error": -1.7, "errors": -1.8,
    "workaround": -1.5, "workarounds": -1.6, "blocker": -2.0, "blocking": -1.6,
    "disconnecting": -1.8, "disconnects": -1.8, "disconnected": -1.5, "loses": -1.8, "losing": -1.6,
    "drops": -1.0, "dropping": -1.2, "downhill": -2.2, "silently": -0.8, "blank": -0.8,
    # ease of use and correctness
    "unusable": -2.8, "useless": -2.3, "clunky": -1.8, "cumbersome": -1.8, "confusing": -1.6,
    "unintuitive": -1.8, "complicated": -1.3, "tedious": -1.6, "painful": -2.0, "nightmare": -2.6,
    "incorrect": -1.8, "inaccurate": -2.0, "missing": -1.4, "lost": -1.8, "duplicated": -1.2,
    "wrong": -2.1, "mismatch": -1.5, "discrepancy": -1.6,
    # service
    "waiting": -1.2, "waited": -1.3, "unanswered": -2.0, "ignored": -2.0, "unresponsive": -2.2,
    "delay": -1.5, "delays": -1.6, "delayed": -1.6, "escalate": -1.6, "escalating": -1.8,
    "escalated": -1.5, "overdue": -1.4,
    # money and commitment
    "expensive": -1.6, "overpriced": -2.2, "overcharged": -2.4, "refund": -1.2, "cancel": -2.0,
    "cancelling": -2.4, "canceling": -2.4, "cancellation": -2.2, "churn": -2.2, "competitor": -1.2,
    "competitors": -1.2, "alternatives": -1.2, "unhappy": -2.4, "disappointing": -2.2,
    # good outcomes
    "smooth": 1.8, "smoothly": 1.8, "seamless": 2.2, "seamlessly": 2.2, "intuitive": 1.8,
    "reliable": 1.8, "stable": 1.2, "fast": 1.3, "faster": 1.4, "quick": 1.2, "quickly": 1.3,
    "responsive": 1.5, "resolved": 1.6, "fixed": 1.5, "solved": 1.6, "renew": 1.5, "renewing": 1.6,
    "renewed": 1.6, "expand": 1.4, "expanding": 1.5, "recommend": 2.0, "recommended": 1.8,
    "saved": 1.8, "saves": 1.8, "lifesaver": 2.5, "changer": 1.5, "works": 0.8, "unblocked": 1.8,
    "essential": 1.6, "shoutout": 2.0, "rocks": 1.5, "impressed": 2.0, "trust": 1.2,
}  # fmt: skip

# Phrases (regular expressions, case-insensitive) -> valence. Tried in order, so the positive ones that
# use negative-looking words ("no issues", "never had a problem") come before the negative catch-alls.
PHRASES: Final[tuple[tuple[str, float], ...]] = (
    # positive, in negative-looking words
    (r"\b(?:no|zero|not (?:a|one) single|not any|without any) (?:issues?|problems?|complaints?|outages?"
     r"|bugs?|downtime|hiccups?|incidents?)\b", 2.0),
    (r"\bnever (?:had|have|seen|experienced) (?:a |an |any )?(?:issues?|problems?|outages?|bugs?"
     r"|downtime)\b", 2.0),
    (r"\bnothing (?:to complain about|broke|broken|went wrong)\b", 1.8),
    (r"\bcan'?t complain\b|\bcannot complain\b", 1.5),
    (r"\b(?:is|are|was|were|got|has been|have been) (?:now )?(?:fixed|resolved|solved)\b", 1.8),
    (r"\bwill (?:definitely |happily )?renew\b|\bare renewing\b|\bwe renew(?:ed)?\b", 2.2),
    (r"\b(?:add|adding|buy|buying|bought|added) (?:\d+|more|another|extra) (?:seats|licen[cs]es"
     r"|users)\b", 2.0),
    (r"\bno more (?:missed|manual|errors?|outages?|workarounds?|issues?|problems?|timeouts?|bugs?"
     r"|crashes|complaints?|waiting|spreadsheets?|copy[- ]paste)\b", 2.0),
    (r"\bno longer (?:need|have to|see|get|worry)\b", 1.5),
    (r"\b(?:could ?n[o']t|cannot|can'?t) be (?:happier|more (?:pleased|satisfied|happy))\b", 3.0),
    (r"\bhard to imagine (?:going back|working without|life without)\b", 2.5),
    (r"\b(?:is|are|was|has|have) (?:completely |totally |now |finally |all )?(?:gone|been fixed"
     r"|back to normal)\b", 1.8),
    (r"\b(?:working|firing|syncing|loading|running) (?:again|fine|perfectly|great|smoothly)\b", 2.0),
    (r"\babove and beyond\b", 2.8),
    (r"\bworth (?:the|every) (?:subscription|money|price|penny|cost|investment)\b", 2.5),
    (r"\bexactly what we (?:needed|wanted|asked for)\b", 2.5),
    (r"\b(?:you|y'all|you guys|the team) rocks?\b", 2.5),
    (r"\bhands down\b", 1.5),
    # sarcasm: praise followed by another failure
    (r"\b(?:great|nice|awesome|perfect|wonderful|lovely|fantastic|love it),? (?:another|yet another"
     r"|more)\b", -3.0),
    # commitment at risk
    (r"\b(?:will not|won'?t|wont|not going to|do not plan to|don'?t plan to|may not|might not"
     r"|unlikely to|not|no longer|cannot|can'?t) (?:be )?renew(?:ing|al)?\b", -3.2),
    (r"\bnot renewing\b", -3.2),
    (r"\b(?:switch|switching|move|moving|migrate|migrating) (?:over )?(?:to|away)\b", -2.4),
    (r"\b(?:looking|look) (?:at|for|into) (?:other |an? )?(?:alternatives?|competitors?"
     r"|other (?:vendors?|tools?|options))\b", -2.6),
    (r"\b(?:cancel|cancelling|canceling|terminate|terminating|end|ending) (?:our |the )?(?:contract"
     r"|subscription|account|licen[cs]es?|plan)\b", -3.0),
    # reliability
    (r"\b(?:times?|timing|timed) out\b", -2.2),
    (r"\bkeeps? (?:crashing|failing|breaking|freezing|timing out|logging (?:us|me) out|dropping)\b",
     -2.6),
    (r"\b(?:not|isn'?t|aren'?t|doesn'?t|don'?t|stopped|no longer|still not|never) (?:working|work"
     r"|works|loading|load|syncing|sync|updating|showing)\b", -2.3),
    (r"\b(?:went|goes|go|is|was|were|are) down\b", -2.0),
    (r"\bdata (?:loss|is missing|went missing)\b|\blost (?:our |all |some )?data\b", -3.0),
    (r"\bcharged (?:us )?twice\b|\bdouble[- ]charged\b|\bbilling (?:error|mistake|issue)\b", -2.6),
    (r"\bevery (?:release|update|upgrade|deploy) (?:breaks|broke)\b", -2.8),
    (r"\b(?:down|broken|failing|failed|crashed|stuck|missing) again\b", -2.6),
    (r"\bkeeps? (?:going up|getting in (?:our|the) way|disconnecting|dropping|losing)\b", -2.4),
    # service
    (r"\bstill (?:waiting|no|nothing|not|broken|failing|down)\b", -2.2),
    (r"\bno (?:response|reply|answer|update|one (?:answers|responds|replied|got back))\b", -2.2),
    (r"\bnever (?:actually )?(?!had\b|have\b|seen\b|experienced\b|disappoints?\b|fails?\b|lets?\b"
     r"|been\b|looked back\b)\w+", -2.0),
    (r"\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time\b", -1.8),
    (r"\b(?:raise|raised|open|opened|file|filed) (?:a |another )?ticket again\b", -2.0),
    (r"\bthanks for nothing\b", -2.8),
    (r"\bnot (?:what we (?:were promised|paid for|signed up for)|as (?:advertised|promised))\b", -2.6),
    (r"\bnot (?:keeping up|impressed|happy|satisfied|good enough|great|acceptable|worth)\b", -2.5),
    (r"\b(?:haven'?t|have not|hasn'?t|has not|didn'?t|did not) (?:received|heard|got|gotten|seen)\b",
     -2.0),
    (r"\bdoes nothing\b|\bdid nothing\b", -2.2),
    (r"\bhad better (?:experiences?|luck|service|support)\b", -2.4),
    (r"\bhard to (?:use|find|understand|navigate|set up|configure)\b", -2.0),
    (r"\b(?:too|very|so) expensive\b|\bprice (?:increase|hike)\b", -2.2),
    (r"(?:^|[.!?]\s+)fix (?:the |your |this |it|reliability|performance)", -1.8),
)  # fmt: skip

_REQUEST: Final = re.compile(
    r"^(?:please|pls|can you|could you|can we|could we|would you|is there|are there|any chance|do you"
    r"|does|how (?:do|can|to)|what|when|where|which|who|we'?d (?:like|love)|we would (?:like|love)"
    r"|i'?d (?:like|love)|feature request|request|would (?:be|it be) (?:nice|great|useful|helpful|good)"
    r"|it would be|it'd be|just (?:confirming|checking|a heads up|fyi)|fyi|quick question|heads up)\b",
    re.IGNORECASE,
)
# All phrases in one pattern, tried left to right through the text, the first phrase that matches at a
# place winning (one pass, however many phrases there are).
_PHRASE: Final = re.compile(
    "|".join(f"(?P<tpphrase{number}>{pattern})" for number, (pattern, _) in enumerate(PHRASES)),
    re.IGNORECASE,
)
_PHRASE_VALENCE: Final = {f"tpphrase{number}": valence for number, (_, valence) in enumerate(PHRASES)}

_analyzer: SentimentIntensityAnalyzer | None = None
_lock = threading.Lock()


def _get_analyzer() -> SentimentIntensityAnalyzer:
    """The process's analyzer with the domain lexicon, made on first use (imports score in a thread)."""
    global _analyzer
    if _analyzer is None:
        with _lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                analyzer = SentimentIntensityAnalyzer()
                analyzer.lexicon.update(LEXICON)
                analyzer.lexicon.update(_PHRASE_VALENCE)
                _analyzer = analyzer
    return _analyzer


def domain_compound(text: str) -> float:
    """VADER's compound score (-1..1) of ``text`` with the domain lexicon and phrases."""
    stripped = text.strip()
    request = bool(_REQUEST.match(stripped)) or stripped.endswith("?")
    stripped = _PHRASE.sub(lambda found: f" {found.lastgroup} ", stripped)
    value = float(_get_analyzer().polarity_scores(stripped)["compound"])
    return min(value, 0.0) if request else value  # asking for something is not praise
