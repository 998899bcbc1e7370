"""NPS, CSAT and CES answers of a demo account over the 90 days before ``today``, scored by its trajectory.

Declining accounts turn detractor in the last 30 days (and always have one recent detractor with a
comment, the case the CS/CX feedback loop is built for); recovering accounts were detractors during
their dip; healthy accounts are mostly promoters and find things easy (low customer effort). Comments
fit the answer's tone: see :mod:`storage.demo.vocabulary`. CES answers come from a generator of their
own, so adding them left the NPS and CSAT answers of every seed as they were.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from storage.demo import vocabulary as words
from storage.demo.portfolio import DemoAccount, Trajectory, rng_for
from storage.demo.usage import DECLINE_DAYS, DIP_BOTTOM, DIP_START, USAGE_DAYS
from storage.models import SurveyKind

_COUNTS = {  # answers per 90 days: (NPS low, high), (CSAT low, high)
    "enterprise": ((5, 9), (6, 12)),
    "mid-market": ((3, 6), (3, 8)),
    "smb": ((1, 4), (1, 5)),
}
_CES_COUNTS = {"enterprise": (2, 5), "mid-market": (1, 4), "smb": (0, 3)}  # CES answers per 90 days


@dataclass(frozen=True, slots=True)
class DemoSurvey:
    kind: SurveyKind
    score: int
    comment: str | None
    respondent_email: str
    submitted_at: datetime


def _unhappy(account: DemoAccount, days_ago: int) -> bool:
    """Whether the account's customers were having a bad time that day."""
    match account.trajectory:
        case Trajectory.DECLINING:
            return days_ago < DECLINE_DAYS
        case Trajectory.RECOVERING:
            return DIP_BOTTOM[1] <= days_ago < DIP_START
        case Trajectory.CHURNED:
            return True
        case _:
            return False


def _nps_score(rng: random.Random, account: DemoAccount, days_ago: int) -> int:
    draw = rng.random()
    if _unhappy(account, days_ago):
        return rng.randint(1, 6) if draw < 0.85 else 7
    if account.trajectory is Trajectory.DECLINING:  # before the decline: lukewarm
        return rng.randint(5, 6) if draw < 0.4 else rng.randint(7, 8)
    promoters = {Trajectory.HEALTHY: 0.65, Trajectory.RECOVERING: 0.35, Trajectory.ONBOARDING: 0.45}
    share = promoters.get(account.trajectory, 0.3)
    if draw < share:
        return rng.randint(9, 10)
    return rng.randint(7, 8) if draw < 0.92 else rng.randint(5, 6)


def _csat_score(rng: random.Random, account: DemoAccount, days_ago: int) -> int:
    draw = rng.random()
    if _unhappy(account, days_ago):
        return rng.randint(1, 3) if draw < 0.8 else 4
    if account.trajectory is Trajectory.ONBOARDING:
        return rng.randint(4, 5) if draw < 0.75 else 3
    return rng.randint(4, 5) if draw < 0.85 else rng.randint(2, 3)


def _nps_comment(rng: random.Random, account: DemoAccount, score: int, days_ago: int) -> str | None:
    if score <= 6:
        return rng.choice(words.NPS_DETRACTOR_COMMENTS) if rng.random() < 0.9 else None
    if rng.random() >= (0.5 if score <= 8 else 0.6):
        return None
    if score <= 8:
        return rng.choice(words.NPS_PASSIVE_COMMENTS)
    if account.trajectory is Trajectory.ONBOARDING:
        return rng.choice(words.NPS_ONBOARDING_COMMENTS)
    if account.trajectory is Trajectory.RECOVERING and days_ago < DIP_BOTTOM[1]:
        return rng.choice(words.NPS_RECOVERED_COMMENTS)
    return rng.choice(words.NPS_PROMOTER_COMMENTS)


def _csat_comment(rng: random.Random, score: int) -> str | None:
    if score >= 4:
        return rng.choice(words.CSAT_POSITIVE_COMMENTS) if rng.random() < 0.35 else None
    chance = 0.7 if score <= 2 else 0.3
    return rng.choice(words.CSAT_NEGATIVE_COMMENTS) if rng.random() < chance else None


def _ces_score(rng: random.Random, account: DemoAccount, days_ago: int) -> int:
    """1 (very easy) .. 7 (very hard)."""
    draw = rng.random()
    if _unhappy(account, days_ago):
        return rng.randint(5, 7) if draw < 0.8 else 4
    if account.trajectory is Trajectory.ONBOARDING:
        return rng.randint(2, 4) if draw < 0.8 else 5
    return rng.randint(1, 3) if draw < 0.85 else rng.randint(4, 5)


def _ces_comment(rng: random.Random, score: int) -> str | None:
    if score >= 5:
        return rng.choice(words.CES_HARD_COMMENTS) if rng.random() < 0.5 else None
    if score <= 2:
        return rng.choice(words.CES_EASY_COMMENTS) if rng.random() < 0.3 else None
    return None


def _moment(rng: random.Random, today: date, days_ago: int) -> datetime:
    """A working-hours moment ``days_ago`` days before ``today`` (never today, so never in the future)."""
    clock = time(rng.randint(7, 20), rng.randint(0, 59), rng.randint(0, 59))
    return datetime.combine(today - timedelta(days=days_ago), clock, tzinfo=UTC)


def survey_responses(account: DemoAccount, *, today: date, seed: int) -> list[DemoSurvey]:
    """The account's NPS, CSAT and CES answers, oldest first."""
    rng = rng_for(seed, account.external_id, "surveys")
    first_day = (today - account.churned_on).days if account.churned_on else 1
    nps_range, csat_range = _COUNTS[account.segment]
    answers: list[DemoSurvey] = []
    for kind, (low, high) in ((SurveyKind.NPS, nps_range), (SurveyKind.CSAT, csat_range)):
        for _ in range(rng.randint(low, high)):
            days_ago = rng.randint(first_day, USAGE_DAYS - 1)
            if kind is SurveyKind.NPS:
                score = _nps_score(rng, account, days_ago)
                comment = _nps_comment(rng, account, score, days_ago)
            else:
                score = _csat_score(rng, account, days_ago)
                comment = _csat_comment(rng, score)
            answers.append(
                DemoSurvey(
                    kind, score, comment, rng.choice(account.contacts).email, _moment(rng, today, days_ago)
                )
            )
    if account.trajectory is Trajectory.DECLINING:
        answers.append(_recent_detractor(rng, account, today))
    answers += _ces_answers(account, today=today, seed=seed, first_day=first_day)
    return sorted(answers, key=lambda a: (a.submitted_at, a.kind.value, a.respondent_email))


def _ces_answers(account: DemoAccount, *, today: date, seed: int, first_day: int) -> list[DemoSurvey]:
    rng = rng_for(seed, account.external_id, "ces")
    answers: list[DemoSurvey] = []
    for _ in range(rng.randint(*_CES_COUNTS[account.segment])):
        days_ago = rng.randint(first_day, USAGE_DAYS - 1)
        score = _ces_score(rng, account, days_ago)
        answers.append(
            DemoSurvey(
                SurveyKind.CES,
                score,
                _ces_comment(rng, score),
                rng.choice(account.contacts).email,
                _moment(rng, today, days_ago),
            )
        )
    return answers


def _recent_detractor(rng: random.Random, account: DemoAccount, today: date) -> DemoSurvey:
    """The detractor a declining account always has in its last two weeks, with a comment."""
    comment = words.NPS_DETRACTOR_COMMENTS[account.index % len(words.NPS_DETRACTOR_COMMENTS)]
    return DemoSurvey(
        SurveyKind.NPS,
        rng.randint(2, 5),
        comment,
        account.contacts[0].email,
        _moment(rng, today, rng.randint(2, 14)),
    )
