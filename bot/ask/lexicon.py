"""The fixed words of a question: the ones that never count as unknown, the ones a typo may be read as,
and the real words that must never be "corrected" into one of them.

Kept apart from the patterns that use them so that the spelling step can see every word the reader
knows: a word that is known as typed is never respelled, and a typo is only ever read as one of
:data:`TARGETS` (words of five letters or more whose meaning is fixed). :data:`PROTECTED` lists real
words one letter away from a target ("match" from "march", "contract" from "contact", "worse" from
"worst"): they stay as typed and count as unknown when nothing uses them, because reading them as the
near word would change the filter silently.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that carry no condition: question words, verbs of asking, nouns for accounts, function words.
FILLER = _words(
    """
    a an the this that these those there here it its it's they them their theirs we us our ours you your
    i me myself he she his her him one ones someone anyone anybody everyone everybody everything anything
    which what whats who whom whose where when how whether if then than so as also too just only even
    still yet already ever really very quite currently right now presently today at the moment moment
    show shows list lists give gives find finds get gets got see look display pull bring fetch tell
    return returns need want like would could can may might will shall should must do does did done doing
    is are was were be been being am have has had having 's 're 've 'll 'd
    please pls plz thanks thank kindly help know let lets
    account accounts acct accts accs customer customers client clients company companies logo logos
    org orgs organisation organisations organization organizations business's
    of in on at for to from by with within into onto about across per via among around through
    and or but plus both either each every all any some other's whole entire total overall altogether
    currently presently ones kind sort type
    arr revenue annual recurring value worth money
    health healthy's score status state
    portfolio book books owned owns own owner owners managed manages manage handled handles handle
    assigned belonging belong belongs covered covers cover run runs
    everyone's company's team's
    up out over under
    soon upcoming coming ahead due
    currently right
    """
)

NEGATIONS = _words("not no never without except excluding exclude non nor neither other minus nobody noone")

# The first word of a request to do something rather than to find accounts.
ACTIONS = _words(
    """
    email e-mail mail message ping call phone create add schedule remind assign reassign update change
    set delete remove close snooze log write draft notify mark book invite export download escalate
    contact text post share cancel edit rename move archive text reply respond explain
    """
)

MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "dozen": 12,
}
TENS = frozenset({"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"})

# Every word some pattern of the reader uses (besides FILLER, NEGATIONS, MONTHS and NUMBER_WORDS).
CONTENT = _words(
    """
    renew renews renewing renewal renewals renewed expire expires expiring expiry expiration contract
    contracts end ends ending
    next this last past previous prior recent coming following upcoming current rest later
    week weeks month months quarter quarters year years day days fortnight wk wks mo mos yr yrs qtr
    before until till til after between since ahead earlier later
    eoy eom eoq start beginning close
    dropped drop drops dropping fell fall falls falling fallen declined decline declines declining
    lost lose loses losing down decreased decrease decreases decreasing went gone go going slipped
    slipping slid sliding sank sunk tanked plunged plummeted dipped dip dips worsened worsening
    deteriorated deteriorating trending trend downward downwards worse better getting heading
    rose risen rises rising rise improved improves improving improvement gained gain gains gaining
    increased increase increases increasing climbed climbs grew grown jumped jump recovered recovering
    upward upwards bounced
    points point pts pt most fastest quickest steepest sharpest greatest biggest largest fallers
    decliners droppers
    over above more greater higher least exceeding north upwards excess bigger larger under below less
    lower most beneath smaller south max maximum min minimum
    thousand million millions billion mil mn bn dollars usd bucks
    red reds yellow yellows green greens amber orange risk risks risky critical churning churn churned
    trouble danger warning attention needs need needing watch watchlist good great shape thriving
    well unhealthy likely leave leaving cancel cancelling canceling flagged
    onboarding onboarded adopting adoption mature matured renewing stage phase lifecycle
    detractor detractors nps low unhappy bad negative poor terrible weak responses response answer
    answers rating ratings scores
    open unresolved pending outstanding unaddressed unanswered feedback items item tickets ticket
    overdue late missed delayed schedule behind milestone milestones follow follows followup followups
    ups task tasks steps step todo todos action actions
    outcomes outcome plans plan success successplan track goals
    contacted contact touched touch touches touchpoint touchpoints untouched talked talk spoken spoke
    reached reach heard note notes activity activities engagement interaction interactions outreach
    calls meetings meeting check checkin checkins updates logged quiet silent dark dormant inactive idle
    stale neglected ignored older old ago
    smallest lowest highest worst best healthiest sickest unhealthiest strongest weakest riskiest
    soonest earliest nearest closest first valuable sorted ordered order ranked rank descending
    ascending size top bottom
    many much number count tally sum combined aggregate cumulative
    team teams reports report direct directs reportees group squad people staff members member
    mine i'm
    segment segments tier tiers level levels
    why my healthy active acv amount arranged asc desc back balance band bands zone business cancelled
    canceled cancellation climbing come comes conversations counts couple course date dates directly
    dos during entries ex expected farthest furthest few flag folks former fourth second third happened
    hardest high ins jumps k m b mm w d q y qtrs mths longer losers loss lousy made maturity name
    objectives off oversee paying pays percent period plummeting rated received recently recorded
    remainder reporting requests requires requiring responsible scheduled scored scoring sinking sits
    sitting slated slide slides span summed tanking throughout thru tomorrow totaling totalling valued
    while window lagging
    """
)

# Real words near a fixed word: never respelled (see the module docstring).
PROTECTED = _words(
    """
    match matches matching march's worse rest bets test west renewable reviewing reviewed reviews
    contracted contracts contract failing raising adapting adapted latest later order ordered sorted
    lease leased county church risks dripped cropped tending warming fellow mouth match part pack
    parks parked saw say same sum sad sat set let led leg lee lot log team steam stream
    chef chew river roman ramen jones jonah weaver webster olive ola maybe mays
    tired tied tie time times tile tiles
    resolved resolve closed closing complete completed done new old older
    """
)

# Filler words a typo may be read as: the nouns and verbs of asking. Other filler words are not
# targets, so that a word the reader does not know is not swallowed as filler ("small" is not "shall").
_FILLER_TARGETS = _words(
    """
    account accounts customer customers client clients company companies please which where portfolio
    show list find display currently health score revenue portfolio upcoming assigned managed
    belonging
    """
)

# Typo targets: fixed words of five letters or more (shorter words are too close to other words).
TARGETS = tuple(
    sorted(
        word
        for word in (CONTENT | _FILLER_TARGETS | frozenset(MONTHS) | frozenset(NUMBER_WORDS))
        if len(word) >= 5 and word.isalpha()
    )
)

KNOWN = FILLER | CONTENT | NEGATIONS | ACTIONS | PROTECTED | frozenset(MONTHS) | frozenset(NUMBER_WORDS)
