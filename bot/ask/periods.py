"""Time in a question: the renewal window, the trend of the health score, and the last touch.

The same words can belong to any of the three ("in 30 days", "this month"), so the order decides, and
adjacency: a period right after a fall ("dropped 10 points this month") or a missing touch ("not
contacted in 30 days") belongs to it; any other date phrase is the renewal window. A backward period
("in the last two weeks") can only be a trend's; a period like "this month" standing alone goes to a
trend read without one only when the question says nothing about renewing.

The spec's day counts: a week 7, a month 30, a quarter 90, a year 365; a trend without a period is over
30 days, and one without a number is 5 points.
"""

from __future__ import annotations

import re
from datetime import date

from bot.ask import dates
from bot.ask.dates import DATE, MONTH, PERIOD, YEAR
from bot.ask.draft import Draft, Handler, rx
from bot.ask.numbers import DURATION, INT, NUM, UNIT, duration_days, unit_days

Rule = tuple[re.Pattern[str], Handler]

_UNIT_WORD = re.compile(rf"{UNIT}|{PERIOD}")
_INT = re.compile(INT)

# A trend's period: "in the last 30 days", "over a week", "this month", "since last quarter".
TREND_PERIOD = (
    rf"(?:(?:in|over|during|within|across|for) )?(?:the )?(?:last|past|previous|prior|recent)"
    rf"(?: {INT})? {UNIT}"
    rf"|(?:in|over|during|within|across|for) (?:the (?:span|course) of )?(?:{INT}|an?|one) {UNIT}"
    rf"|(?:since )?(?:this|last) {PERIOD}"
    rf"|since the (?:start|beginning) of (?:the|this) {PERIOD}"
)


def period_days(text: str) -> int:
    """Days in a period phrase: the last unit word it names, times the first count in it (default 1)."""
    words = text.split()
    unit = next(word for word in reversed(words) if _UNIT_WORD.fullmatch(word))
    count = next((int(word) for word in words if _INT.fullmatch(word)), 1)
    return count * unit_days(unit)


# Last touch -------------------------------------------------------------------------------------------

_TOUCH = (
    r"(?:contacted|contact|touched|touch|touches|touchpoints?|talked(?: to| with)?|spoken(?: to| with)?"
    r"|spoke(?: to| with)?|reached(?: out)?(?: to)?|heard(?: from)?|follow ups?|followups?|notes?"
    r"|activity|activities|engagement|interactions?|outreach|calls?|meetings?|check ins?|checkins?"
    r"|updates?|conversations?)"
)
_GAP = r"(?:(?:been|had|any|a|one|anyone|we|i|us|they|has|have|yet|recent|recently|logged|received|got|made)"
_GAP += r" )*"
_SINCE = (
    r"(?: (?:to|with|from|by anyone|by us|by me|by them|logged|recorded))?"
    r"(?: (?:in|for|within|over|during|since|the|last|past|at least|more than|longer than|than|a while))*"
)
_AGO = r"(?: (?:ago|or more|or longer|\+|plus|old))?"


def _untouched(draft: Draft, match: re.Match[str]) -> bool:
    days = duration_days(match["d"])
    return 1 <= days <= 3650 and draft.put("untouched_days", days)


UNTOUCHED: list[Rule] = [
    (
        rx(rf"(?:not|never|no|without|nobody|noone|no one) {_GAP}{_TOUCH}{_SINCE} (?P<d>{DURATION}){_AGO}"),
        _untouched,
    ),
    (
        rx(
            rf"(?:gone |been |went )?(?:untouched|quiet|silent|dark|dormant|inactive|idle|neglected|ignored)"
            rf"{_SINCE} (?P<d>{DURATION}){_AGO}"
        ),
        _untouched,
    ),
    (
        rx(
            rf"(?:last|latest|most recent|previous) {_TOUCH}(?: (?:date|was|is|logged|happened))*"
            rf"(?: (?:older than|more than|over|before|at least|longer than|>|>=))* (?P<d>{DURATION}){_AGO}"
        ),
        _untouched,
    ),
    (
        rx(
            rf"(?P<d>{DURATION})(?: or more| \+| plus)? (?:with no|without|since (?:the )?last|since any"
            rf"|of no|no) (?:a |any )?{_TOUCH}"
        ),
        _untouched,
    ),
]

# Renewal words -----------------------------------------------------------------------------------------

_RENEW = r"(?:renewals?|renewing|renews|renew|renewal dates?)"
_NOT_A_PERIOD = r"(?! (?:\d+|week|month|quarter|year|weeks|months|days|quarters|years|few|couple))"


def _renewal_sort(draft: Draft, match: re.Match[str]) -> bool:
    return draft.put("sort", "renewal_asc")


def _renewing_stage(draft: Draft, match: re.Match[str]) -> bool:
    return draft.add("stages", "renewing")


def _renewal_said(draft: Draft, match: re.Match[str]) -> bool:
    draft.renewal_said = True
    return True


RENEWAL: list[Rule] = [
    (
        rx(
            rf"(?:(?:sorted|ordered|ranked|sort|order|rank) )?(?:by|in order of) (?:the )?"
            rf"(?:next |soonest |upcoming |nearest |earliest )?{_RENEW}(?: dates?)?"
            rf"(?: (?:ascending|first|soonest first|earliest first))?"
        ),
        _renewal_sort,
    ),
    (
        rx(
            rf"(?:the )?(?:soonest|earliest|nearest|closest|next|first) (?:to )?{_RENEW}(?: dates?)?"
            rf"(?: first)?{_NOT_A_PERIOD}"
        ),
        _renewal_sort,
    ),
    (
        rx(
            rf"{_RENEW}(?: dates?)? (?:the )?(?:soonest|earliest|first|next|closest|nearest)"
            rf"(?: first)?{_NOT_A_PERIOD}"
        ),
        _renewal_sort,
    ),
    (rx(r"(?:soonest|earliest)(?: first)?"), _renewal_sort),
    (
        rx(
            r"(?:in |at )?(?:the )?(?:renewing|renewal) (?:lifecycle )?(?:stage|phase)s?"
            r"|(?:lifecycle )?(?:stage|phase) (?:is |of |= )?(?:renewing|renewal)"
        ),
        _renewing_stage,
    ),
    (
        rx(
            rf"(?:(?:(?:coming|come|comes) )?up for (?:a |an |their |its )?|due (?:for (?:a |an )?|to )"
            rf"|set to |scheduled (?:to |for )|slated (?:to |for )|about to |going to |expected to )?"
            rf"{_RENEW}(?: (?:date|dates|coming up|window|period))*"
            r"|(?:contracts? )?(?:expir(?:es|ing|y|ation)|expire)|contracts? (?:end|ends|ending)"
        ),
        _renewal_said,
    ),
]

# Trend -------------------------------------------------------------------------------------------------

_DOWN_VERB = (
    r"dropped|drop|drops|dropping|fell|fallen|falls|falling|declined|declines|declining|decline|lost|loses"
    r"|losing|down|decreased|decreases|decreasing|went down|gone down|go down|slipped|slid|sank|sunk"
    r"|tanked|plunged|plummeted|dipped|dips|dip|worsened|deteriorated"
)
_UP_VERB = (
    r"rose|risen|rises|rising|rise|improved|improves|improving|gained|gains|gaining|up|increased|increases"
    r"|increasing|went up|gone up|go up|climbed|climbs|grew|grown|jumped|jumps|recovered|bounced back"
)
_DOWN_NOUN = r"drop|drops|fall|falls|decline|declines|decrease|dip|slide|loss|down|lower|worse"
_UP_NOUN = r"rise|gain|gains|increase|improvement|jump|up|higher|better"
_SUBJECT = r"(?:(?:health scores?|health|scores?) (?:has |have |had |is |are |was )?)?"
_HEALTH_AFTER = r"(?: (?:in|of|on) (?:health score|health|score))?"
_NOT_MONEY = r"(?! (?:k|m|mm|thousand|million|%|percent|\$|dollars|bn|days?|weeks?|months?|years?))"
_AMOUNT = (
    rf"(?:by )?(?:(?:more than|over|at least|greater than|>|>=|upwards of|in excess of) )?(?P<n>{NUM})"
    rf"{_NOT_MONEY}(?: \+| or more| plus)?(?: (?:health |score )?(?:points?|pts?))?"
)
_PERIOD_AFTER = rf"(?: (?P<p>{TREND_PERIOD}))?"
_DOWN_WORDS = frozenset((_DOWN_VERB + "|" + _DOWN_NOUN).split("|")) | {
    "trending down",
    "going down",
    "getting worse",
    "worsening",
    "deteriorating",
    "slipping",
    "sliding",
    "decreasing",
    "on the decline",
    "in decline",
    "on a downward trend",
    "a downward trend",
    "downward trend",
    "trending downward",
    "trending downwards",
    "trending lower",
    "heading down",
    "tanking",
    "plummeting",
    "sinking",
}
_DOWN_PLAIN = "|".join(sorted(_DOWN_WORDS - {"down", "lower", "worse", "lost", "loses", "losing"}, key=len))
_UP_PLAIN = (
    "improving|trending up|trending upward|trending upwards|trending higher|rising|going up|getting better"
    "|increasing|on the rise|on an upward trend|an upward trend|upward trend|heading up|recovering|improved"
    "|rose|increased|climbing"
)


def _direction(word: str) -> str:
    return "down" if word in _DOWN_WORDS else "up"


def _timed(match: re.Match[str]) -> int | None:
    return period_days(match["p"]) if match["p"] else None


def _fall_sort(draft: Draft, match: re.Match[str]) -> bool:
    draft.put("sort", "fall_desc")
    if match["p"]:
        draft.fall_days = period_days(match["p"])
    return True


def _trend_amount(draft: Draft, match: re.Match[str]) -> bool:
    return draft.trend(_direction(match["v"]), float(match["n"]), _timed(match))


def _trend_plain(draft: Draft, match: re.Match[str]) -> bool:
    return draft.trend(_direction(match["v"]), 5.0, _timed(match))


def _backward(draft: Draft, match: re.Match[str]) -> bool:
    return draft.time_trend(period_days(match.group(0)))


TREND: list[Rule] = [
    (
        rx(
            r"(?:the )?(?:biggest|largest|greatest|steepest|sharpest|highest|worst|most|fastest|quickest)"
            r" (?:health |score |health score )?(?:drops?|falls?|declines?|decreases?|fallers|decliners"
            rf"|droppers|dips?|slides?|losers){_HEALTH_AFTER}{_PERIOD_AFTER}"
        ),
        _fall_sort,
    ),
    (
        rx(
            rf"{_SUBJECT}(?:dropped|fell|fallen|declined|dropping|falling|declining|decreased|lost|dipped"
            r"|slipped) (?:the )?(?:most|fastest|furthest|farthest|hardest|quickest)"
            rf"(?: points)?{_HEALTH_AFTER}{_PERIOD_AFTER}"
        ),
        _fall_sort,
    ),
    (rx(rf"most (?:declined|dropped|fallen|declining|falling){_PERIOD_AFTER}"), _fall_sort),
    (rx(rf"{_SUBJECT}(?P<v>{_DOWN_VERB}|{_UP_VERB}) {_AMOUNT}{_PERIOD_AFTER}"), _trend_amount),
    (
        rx(
            rf"(?:an? |the )?(?P<n>{NUM}) (?:\+ )?(?:points?|pts?) (?:or more |plus )?(?:health |score )?"
            rf"(?P<v>{_DOWN_NOUN}|{_UP_NOUN}){_HEALTH_AFTER}{_PERIOD_AFTER}"
        ),
        _trend_amount,
    ),
    (
        rx(
            r"(?:an? |the )?(?P<v>drop|fall|decline|decrease|dip|slide|loss|rise|gain|increase|improvement"
            r"|jump) (?:in (?:health score|health|score) )?of (?:more than |at least |over )?"
            rf"(?P<n>{NUM})(?: \+)?(?: (?:points?|pts?))?{_HEALTH_AFTER}{_PERIOD_AFTER}"
        ),
        _trend_amount,
    ),
    (
        rx(
            rf"{_SUBJECT}(?:(?:is|are|been|has|have) )?(?P<v>{_DOWN_PLAIN}|{_UP_PLAIN}){_HEALTH_AFTER}"
            rf"{_PERIOD_AFTER}"
        ),
        _trend_plain,
    ),
    (
        rx(
            rf"(?:(?:in|over|during|within|across|for) )?(?:the )?(?:last|past|previous|prior|recent)"
            rf"(?: {INT})? {UNIT}|since last {PERIOD}"
        ),
        _backward,
    ),
]

# Renewal window ----------------------------------------------------------------------------------------

_EDGE_WORDS = (
    r"before|until|till|til|by|through|thru|after|ahead of|prior to|no later than|not later than"
    r"|on or before|on or after|no earlier than|later than|up to|up until"
)
_CANONICAL = {
    "til": "until",
    "till": "until",
    "thru": "through",
    "no later than": "by",
    "not later than": "by",
    "on or before": "by",
    "up to": "by",
    "up until": "by",
}
_QUARTER_ORDINALS = {"first": 1, "1st": 1, "second": 2, "third": 3, "fourth": 4, "last": 4}


def _edge(draft: Draft, match: re.Match[str]) -> bool:
    try:
        days = dates.span(match["d"], draft.today)
    except ValueError:
        return False
    word = _CANONICAL.get(match["w"], match["w"])
    first, last = dates.window(word, days, draft.today)
    return draft.window(first, last)


def _between(draft: Draft, match: re.Match[str]) -> bool:
    start, end = match["a"] or match["a2"], match["b"] or match["b2"]
    try:
        first, last = dates.span(start, draft.today)[0], dates.span(end, draft.today)[1]
    except ValueError:
        return False
    return draft.window(first, last)


def _day(draft: Draft, match: re.Match[str]) -> bool:
    try:
        first, last = dates.span(match["d"], draft.today)
    except ValueError:
        return False
    return draft.window(first, last)


def _month(draft: Draft, match: re.Match[str]) -> bool:
    name, pre, year_text = match["m"], match["pre"], match["y"]
    if name == "may" and not pre and not year_text:
        return False  # "may" is a month only after "in" or with a year: "accounts that may churn"
    month = dates.MONTHS_BY_NAME[name]
    year: int | None = None
    if year_text == "this year":
        year = draft.today.year
    elif year_text == "next year":
        year = draft.today.year + 1
    elif year_text:
        year = int(year_text.split()[-1])
    first, last = dates.named_month(draft.today, month, year, skip_current=match["next"] is not None)
    return draft.window(first, last)


def _quarter(draft: Draft, match: re.Match[str]) -> bool:
    number = int(match["q"]) if match["q"] else _QUARTER_ORDINALS[match["o"]]
    year = int(match["y"]) if match["y"] else None
    today = draft.today
    if year is None:
        year = today.year if number >= (today.month - 1) // 3 + 1 else today.year + 1
    first = date(year, 3 * number - 2, 1)
    return draft.window(*dates.period_span(first, "quarter"))


def _calendar(draft: Draft, match: re.Match[str]) -> bool:
    ahead = 0 if match["rel"] in ("this", "current") else 1
    period = match["p"]
    if ahead == 0 and draft.trend_open and not draft.renewal_said:
        return draft.time_trend(unit_days(period))
    return draft.window(*dates.period_span(draft.today, period, ahead))


def _ahead(draft: Draft, match: re.Match[str]) -> bool:
    groups = match.groupdict()
    text = groups.get("d") or f"{groups['n']} {groups['u']}"
    days = duration_days(text)
    if groups.get("d") and draft.trend_open and not draft.renewal_said:
        return draft.time_trend(days)
    words = text.split()
    count = int(words[0]) if words[0].isdigit() else (2 if "couple" in words or "fortnight" in words else 1)
    unit = 7 if words[-1] in ("fortnight",) else unit_days(words[-1])
    return draft.window(*dates.ahead_of(draft.today, count, unit))


def _rest_of(draft: Draft, match: re.Match[str]) -> bool:
    period = match["p"] or match["p2"]
    return draft.window(draft.today, dates.period_span(draft.today, period)[1])


def _within_current(draft: Draft, match: re.Match[str]) -> bool:
    return draft.window(*dates.period_span(draft.today, match["p"]))


WINDOWS: list[Rule] = [
    (
        rx(
            rf"between (?P<a>{DATE}) and (?P<b>{DATE})|from (?P<a2>{DATE}) (?:to|until|till|through|thru)"
            rf" (?P<b2>{DATE})"
        ),
        _between,
    ),
    (rx(rf"(?P<w>{_EDGE_WORDS}) (?P<d>{DATE})"), _edge),
    (
        rx(
            rf"(?:(?:in|within|over|during|for) )?(?:the )?(?:next|coming|following|upcoming)"
            rf" (?P<n>{INT}) (?P<u>{UNIT})(?: (?:from (?:now|today)))?"
        ),
        _ahead,
    ),
    (
        rx(rf"(?:in|within) (?:the )?(?:next )?(?P<d>{DURATION})(?: (?:from (?:now|today)|time))?"),
        _ahead,
    ),
    (rx(rf"(?P<d>{DURATION}) (?:from (?:now|today)|out)"), _ahead),
    (
        rx(
            rf"(?:(?:for|in|during|over) )?(?:the )?(?:rest|remainder|balance) of "
            rf"(?:the |this )?(?P<p>{PERIOD})"
            rf"|later this (?P<p2>{PERIOD})"
        ),
        _rest_of,
    ),
    (rx(rf"within (?:the|this) (?P<p>{PERIOD})"), _within_current),
    (
        rx(
            rf"(?:(?:in|during|for|within|over|throughout) )?(?:the )?(?P<rel>this|current|next|coming"
            rf"|following|upcoming) (?P<p>{PERIOD})"
        ),
        _calendar,
    ),
    (
        rx(
            rf"(?:(?:in|during|for|within) )?(?:the )?(?:q (?P<q>[1-4])|(?P<o>first|second|third|fourth)"
            rf" quarter)(?: (?:of )?(?P<y>{YEAR}))?"
        ),
        _quarter,
    ),
    (rx(rf"(?:on |at )?(?P<d>{dates.DAY_DATE})"), _day),
    (
        rx(
            rf"(?:(?P<pre>in|during|for|within|throughout|over|across|of) )?(?:the month of )?"
            rf"(?P<next>next )?(?P<m>{MONTH})(?: (?:of )?(?P<y>{YEAR}|this year|next year))?"
        ),
        _month,
    ),
]
