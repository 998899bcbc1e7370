"""The patterns for everything but time (see :mod:`bot.ask.periods`): totals, top N, flags, health
score, ARR, bands, stages, order and owner.

Each family is a list of (pattern, handler) run in the order :mod:`bot.ask.reader` gives; inside a
family the longer phrase comes first ("by ARR ascending" before "by ARR"). Patterns are written over
the plain tokens (:mod:`bot.ask.tokens`) and compiled once, at import. A handler returns False to leave
its words for later patterns (an amount too small to be money, a limit out of range).
"""

from __future__ import annotations

import re

from bot.ask.draft import Draft, Handler, rx
from bot.ask.filter import BANDS, MAX_LIMIT
from bot.ask.numbers import INT, MONEY, NUM, money, scale_of

Rule = tuple[re.Pattern[str], Handler]

ARR_WORD = (
    r"(?:arr|revenue|annual recurring revenue|recurring revenue|annual revenue|contract value|acv"
    r"|dollars)"
)
GT = (
    r"(?:over|above|more than|greater than|higher than|at least|>|>=|exceeding|north of|upwards of"
    r"|no less than|not less than|in excess of|bigger than|larger than|min|minimum|minimum of|better than)"
)
LT = (
    r"(?:under|below|less than|lower than|at most|<|<=|beneath|no more than|not more than|up to|max"
    r"|maximum|maximum of|smaller than|south of|worse than)"
)
OR_MORE = r"(?:\+|or more|or above|or higher|or greater|or over|or better|and up|and above|and over|plus)"
OR_LESS = r"(?:or less|or below|or lower|or under|or worse|and under|and below|and less)"
_GT_WORDS = re.compile(GT)
_SUPERLATIVE = (
    r"(?:most |least )?(?:biggest|largest|worst|healthiest|best|smallest|sickest|riskiest|lowest|highest"
    r"|unhealthiest|weakest|strongest|soonest|most valuable|least healthy|least valuable)"
)


def _set(name: str, value: object) -> Handler:
    def handler(draft: Draft, match: re.Match[str]) -> bool:
        return draft.put(name, value)

    return handler


def _add(name: str, *values: str) -> Handler:
    def handler(draft: Draft, match: re.Match[str]) -> bool:
        return draft.add(name, *values)

    return handler


def _refuse(reason: str) -> Handler:
    def handler(draft: Draft, match: re.Match[str]) -> bool:
        return draft.refuse(reason)

    return handler


# Totals and top N ----------------------------------------------------------------------------------------

AGGREGATES: list[Rule] = [
    (
        rx(
            rf"how much(?: (?:total|combined|in))?(?: {ARR_WORD})?"
            rf"|(?:the )?(?:total|combined|overall|aggregate|cumulative|summed)(?: amount of)? {ARR_WORD}"
            rf"|(?:the )?(?:sum|amount|total|value) of (?:the |all )?{ARR_WORD}"
            rf"|{ARR_WORD} (?:total|sum|in total|combined)"
            rf"|(?:what|whats)(?: is| 's| are)? (?:the )?{ARR_WORD}"
        ),
        _set("aggregate", "arr"),
    ),
    (
        rx(r"how many(?: of)?|(?:the )?(?:total )?(?:number|count|tally) of|counts?"),
        _set("aggregate", "count"),
    ),
]


def _limit(draft: Draft, match: re.Match[str]) -> bool:
    count = int(match["n"])
    if not 1 <= count <= MAX_LIMIT:
        return draft.refuse("a limit out of range")
    if match.group(0).startswith("top"):
        draft.top_said = True
    return draft.put("limit", count)


def _limit_number(draft: Draft, match: re.Match[str]) -> bool:
    """Only the number is used: the words around it are read by other patterns."""
    count = int(match["n"])
    if not 1 <= count <= MAX_LIMIT:
        return False
    draft.put("limit", count)
    _text, starts = draft.text()
    index = starts.index(match.start("n"))
    draft.use(index, index + 1)
    return False


_NOT_AMOUNT = r"(?! (?:k|m|mm|thousand|million|%|days?|weeks?|months?|years?|points?|pts?|\$))"
LIMITS: list[Rule] = [
    (rx(rf"(?:top|first|bottom) (?P<n>{INT}){_NOT_AMOUNT}"), _limit),
    (rx(rf"(?:the )?(?P<n>{INT})(?= {_SUPERLATIVE}(?![^ ]))"), _limit),
    (
        rx(
            rf"(?:show|list|give|find|get|display|pull|fetch|name)(?: me| us)?(?: the| my| our)? (?P<n>{INT})"
            r"(?= (?:[^ ]+ ){0,3}?(?:accounts|customers|clients|companies|logos)(?![^ ]))"
        ),
        _limit_number,
    ),
    (rx(r"top"), lambda draft, match: _top(draft)),
]


def _top(draft: Draft) -> bool:
    draft.top_said = True
    return True


# Flags ---------------------------------------------------------------------------------------------------

_OUTCOME = r"(?:(?:success )?plan outcomes?|success plans?|(?:success )?outcomes?|plans?|goals?|objectives?)"
_BEHIND = (
    r"(?:at risk|behind|off track|behind schedule|slipping|lagging|in danger|falling behind|not on track)"
)
_FOLLOW_UPS = r"(?:follow ups?|followups?|follow up tasks?|tasks?|next steps?|to dos?|todos?|action items?)"
_OVERDUE = r"(?:overdue|late|missed|past due|delayed|behind schedule)"
_IS = r"(?: (?:that are|which are|are|is|that is|that 's|being|still))*"
_RECENT = (
    r"(?: (?:in|over|during|within) (?:the )?(?:last|past) (?:\d+ )?(?:days?|weeks?|months?|quarters?))?"
)

FLAGS: list[Rule] = [
    (
        rx(
            rf"{_OUTCOME}{_IS} {_BEHIND}|(?:at risk|behind|off track|lagging|slipping) {_OUTCOME}"
            rf"|behind on (?:their |its )?{_OUTCOME}"
        ),
        _set("outcomes_at_risk", True),
    ),
    (
        rx(
            r"(?:an? |any )?(?:nps )?detractors?(?: nps)?(?: (?:scores?|responses?|answers?|ratings?))?"
            r"|(?:low|unhappy|bad|negative|poor|terrible|weak|lousy) nps(?: (?:scores?|responses?|answers?"
            r"|ratings?))?|nps(?: scores?)?(?: (?:is|of))? (?:(?:below|under|less than|lower than|<) 7"
            rf"|(?:at most|<=) 6|6 or (?:less|lower|below)){_RECENT}"
        ),
        _set("detractor", True),
    ),
    (
        rx(
            r"(?:open|unresolved|pending|outstanding|unaddressed|unanswered|active) (?:customer )?feedback"
            r"(?: (?:items?|tickets?|requests?|entries))?"
            rf"|feedback(?: (?:items?|tickets?|requests?))?{_IS}(?: (?:still|yet))?"
            r" (?:open|unresolved|pending|outstanding|not resolved|not yet resolved)"
        ),
        _set("open_feedback", True),
    ),
    (
        rx(rf"{_OVERDUE} milestones?|milestones?{_IS} {_OVERDUE}"),
        _set("overdue_milestones", True),
    ),
    (
        rx(rf"{_OVERDUE} {_FOLLOW_UPS}|{_FOLLOW_UPS}{_IS} {_OVERDUE}"),
        _set("overdue_followups", True),
    ),
]

# Stages that need a word before the renewal words are read ("lost customers" before "lost 10 points").
_STAGE_WORDS = {
    "onboarding": "onboarding",
    "adopting": "adopting",
    "adoption": "adopting",
    "mature": "mature",
    "maturity": "mature",
}
CHURNED: list[Rule] = [
    (
        rx(
            r"(?:lost|churned|former|ex) (?:customers?|accounts?|clients?|logos?)"
            r"|(?:already )?churned"
        ),
        _add("stages", "churned"),
    ),
    (
        rx(
            r"(?:in |at )?(?:the )?(?P<s>onboarding|adopting|adoption|mature|maturity) (?:lifecycle )?"
            r"(?:stage|phase)s?|(?:lifecycle )?(?:stage|phase) (?:is |of |= )?(?P<t>onboarding|adopting"
            r"|adoption|mature|maturity)"
        ),
        lambda draft, match: draft.add("stages", _STAGE_WORDS[match["s"] or match["t"]]),
    ),
]

# Health score and ARR ------------------------------------------------------------------------------------

_SCORE_WORD = r"(?:health scores?|health rating|health|scores?|scored|scoring|rated)"
_SCORE_IS = r"(?:(?:is|are|of|that is|that 's|at|still|currently|sits|sitting|was|a) )*"
_OPTIONAL_POINTS = r"(?: (?:points?|pts?|%))?"


def _score_bound(draft: Draft, op: str, value: float) -> bool:
    if not 0 <= value <= 100:
        return False
    if _GT_WORDS.fullmatch(op) or re.fullmatch(OR_MORE, op):
        return draft.at_least("score_min", value)
    return draft.at_most("score_max", value)


def _score_op(draft: Draft, match: re.Match[str]) -> bool:
    return _score_bound(draft, match["op"], float(match["n"]))


def _score_range(draft: Draft, match: re.Match[str]) -> bool:
    low, high = sorted((float(match["a"]), float(match["b"])))
    if not 0 <= low <= high <= 100:
        return False
    return draft.at_least("score_min", low) and draft.at_most("score_max", high)


SCORES: list[Rule] = [
    (
        rx(
            rf"{_SCORE_WORD} {_SCORE_IS}(?:between|from) (?P<a>{NUM}) (?:and|to|-) "
            rf"(?P<b>{NUM}){_OPTIONAL_POINTS}"
        ),
        _score_range,
    ),
    (
        rx(rf"{_SCORE_WORD} {_SCORE_IS}(?P<op>{GT}|{LT}) (?P<n>{NUM}){_OPTIONAL_POINTS}"),
        _score_op,
    ),
    (
        rx(rf"{_SCORE_WORD} {_SCORE_IS}(?P<n>{NUM}) (?P<op>{OR_MORE}|{OR_LESS})"),
        _score_op,
    ),
    (
        rx(rf"(?P<op>{GT}|{LT}) (?P<n>{NUM}) (?:on |in |for )?(?:health score|health|score)"),
        _score_op,
    ),
    (
        rx(
            rf"(?:between|from) (?P<a>{NUM}) (?:and|to|-) (?P<b>{NUM}) "
            rf"(?:on |in |for )?(?:health score|health|score)"
        ),
        _score_range,
    ),
]

_MONEY_IS = r"(?:(?:is|are|of|that is|that 's|worth|valued at|with|at|paying|pays|totaling|totalling|a|an) )*"
_ARR_BEFORE = rf"(?:(?P<w1>{ARR_WORD}) )?{_MONEY_IS}"
_ARR_AFTER = rf"(?: (?:in |of )?(?:annual )?(?P<w2>{ARR_WORD}))?"


def _money_sure(match: re.Match[str], amount: float, sure: bool) -> bool:
    return sure or bool(match["w1"] or match["w2"]) or amount >= 1000


def _arr_op(draft: Draft, match: re.Match[str]) -> bool:
    amount, sure = money(match["a"])
    if not _money_sure(match, amount, sure):
        return False
    if _GT_WORDS.fullmatch(match["op"]) or re.fullmatch(OR_MORE, match["op"]):
        return draft.at_least("arr_min", amount)
    return draft.at_most("arr_max", amount)


def _arr_range(draft: Draft, match: re.Match[str]) -> bool:
    low, low_sure = money(match["a"])
    high, high_sure = money(match["b"])
    if scale_of(match["a"]) == 1.0 and scale_of(match["b"]) > 1.0 and low * scale_of(match["b"]) <= high:
        low, low_sure = low * scale_of(match["b"]), True
    if not _money_sure(match, max(low, high), low_sure or high_sure):
        return False
    low, high = sorted((low, high))
    return draft.at_least("arr_min", low) and draft.at_most("arr_max", high)


MONEY_RULES: list[Rule] = [
    (
        rx(rf"{_ARR_BEFORE}(?:between|from) (?P<a>{MONEY}) (?:and|to|-) (?P<b>{MONEY}){_ARR_AFTER}"),
        _arr_range,
    ),
    (rx(rf"{_ARR_BEFORE}(?P<op>{GT}|{LT}) (?P<a>{MONEY}){_ARR_AFTER}"), _arr_op),
    (rx(rf"{_ARR_BEFORE}(?P<a>{MONEY}) (?P<op>{OR_MORE}|{OR_LESS}){_ARR_AFTER}"), _arr_op),
]

# Bands and stages ----------------------------------------------------------------------------------------

_COLOUR = r"(?:red|reds|yellow|yellows|green|greens|amber|orange|healthy|in good health)"
_COLOURS = {
    "red": "red",
    "reds": "red",
    "yellow": "yellow",
    "yellows": "yellow",
    "amber": "yellow",
    "orange": "yellow",
    "green": "green",
    "greens": "green",
    "healthy": "green",
    "in good health": "green",
}
_BAND_TAIL = r"(?: (?:band|health|status|zone|bands))?"


def _not_bands(draft: Draft, match: re.Match[str]) -> bool:
    left = set(BANDS) - {_COLOURS[match["c"]]} - ({_COLOURS[match["c2"]]} if match["c2"] else set())
    return bool(left) and draft.add("bands", *left)


BANDS_RULES: list[Rule] = [
    (
        rx(
            rf"(?:not|non|other than|except|excluding|anything but|everything but|but not)"
            rf" (?:in (?:the )?)?(?P<c>{_COLOUR})(?: (?:or|and|nor) (?:in )?(?P<c2>{_COLOUR}))?{_BAND_TAIL}"
        ),
        _not_bands,
    ),
    (rx(r"unhealthy"), _add("bands", "red", "yellow")),
    (
        rx(
            r"(?:red|reds|at risk(?: of (?:churn|churning|leaving|cancell?ing|cancellation|being lost))?"
            r"|risky|critical|churning|churn risks?|(?:likely|about|going|expected) to (?:churn|leave|cancel)"
            r"|(?:might|could|may|will) (?:churn|leave)|in trouble|high risk|risk of (?:churn|churning)"
            rf"|flagged(?: as)? red|in the red|red flag(?:ged)?|in danger|danger zone){_BAND_TAIL}"
        ),
        _add("bands", "red"),
    ),
    (
        rx(
            r"(?:yellow|yellows|amber|orange|warning|(?:needs?|needing|requiring|requires?) (?:some )?"
            rf"attention|on watch|on the watch ?list|watchlist){_BAND_TAIL}"
        ),
        _add("bands", "yellow"),
    ),
    (
        rx(
            r"(?:green|greens|healthy|in good health|(?:in )?good health|in (?:good|great) shape|doing well"
            rf"|thriving){_BAND_TAIL}"
        ),
        _add("bands", "green"),
    ),
]

STAGES: list[Rule] = [
    (rx(r"(?:still |currently )?(?:onboarding|being onboarded|in onboarding)"), _add("stages", "onboarding")),
    (rx(r"adopting|in adoption"), _add("stages", "adopting")),
    (rx(r"mature|matured"), _add("stages", "mature")),
]

# Order ---------------------------------------------------------------------------------------------------

_ORDER_BY = r"(?:(?:sorted|ordered|ranked|sort|order|rank|arranged) )?by"
_HEALTH = r"(?:health score|health|score)"

SORTS: list[Rule] = [
    (
        rx(
            rf"(?:the )?(?:smallest|least valuable|lowest value|least (?:arr|revenue)|lowest {ARR_WORD}"
            rf"|smallest {ARR_WORD})|{_ORDER_BY} (?:arr|revenue|size|value) (?:ascending|asc|low to high"
            rf"|lowest first|smallest first)|{ARR_WORD} (?:ascending|asc|low to high)"
        ),
        _set("sort", "arr_asc"),
    ),
    (
        rx(
            rf"(?:the )?(?:biggest|largest|most valuable|highest value|most (?:arr|revenue)"
            rf"|highest {ARR_WORD}"
            rf"|largest {ARR_WORD}|biggest {ARR_WORD}|top {ARR_WORD})|{_ORDER_BY} (?:arr|revenue|size|value"
            rf"|annual recurring revenue|contract value)(?: (?:descending|desc|high to low|highest first"
            rf"|biggest first))?|{ARR_WORD} (?:descending|desc|high to low)"
        ),
        _set("sort", "arr_desc"),
    ),
    (
        rx(
            rf"(?:the )?(?:worst|sickest|least healthy|unhealthiest|weakest|riskiest|lowest {_HEALTH}s?"
            rf"|worst {_HEALTH}s?)(?: (?:first|on top))?|{_ORDER_BY} {_HEALTH} (?:ascending|asc|low to high"
            rf"|lowest first|worst first)"
        ),
        _set("sort", "score_asc"),
    ),
    (
        rx(
            rf"(?:the )?(?:healthiest|best|strongest|most healthy|highest {_HEALTH}s?|best {_HEALTH}s?)"
            rf"(?: first)?|{_ORDER_BY} {_HEALTH} (?:descending|desc|high to low|highest first|best first)"
        ),
        _set("sort", "score_desc"),
    ),
]

# Owner ---------------------------------------------------------------------------------------------------


def _owner(kind: str) -> Handler:
    def handler(draft: Draft, match: re.Match[str]) -> bool:
        draft.owner_words.append(kind)
        return True

    return handler


OWNERS: list[Rule] = [
    (rx(r"@person(?: 's)? (?:team|teams|reports|direct reports|group|org)"), _refuse("someone else's team")),
    (
        rx(
            r"(?:my|our|mine)(?: (?:whole|entire|own|direct))? (?:team|teams|reports|direct reports|directs"
            r"|reportees|group|org|organization|organisation|squad|staff|team members|people)(?: 's)?"
            r"|(?:the )?team 's|(?:people |those |folks )?(?:who |that )?(?:report|reports|reporting)"
            r" (?:directly )?to me"
        ),
        _owner("team"),
    ),
    (
        rx(
            r"i (?:own|manage|handle|cover|run|look after|am responsible for|am the owner of|have|oversee)"
            r"|(?:for|assigned to|owned by|managed by|belong(?:ing|s)? to|handled by|covered by) me"
            r"|(?:my|mine)(?: own)?(?: (?:book of business|book|portfolio|accounts))?|of mine"
        ),
        _owner("me"),
    ),
]
