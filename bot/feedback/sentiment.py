"""The tone of survey comments and feedback texts, -1 (very negative) .. 1, from the tone model.

:mod:`bot.feedback.tone_model` reads a comment the way a CSM would: a model trained on B2B customer
feedback, where "support is slow", "times out" and "we will not renew" are complaints (VADER alone, built on
social media, scores those positive). It runs offline, in pure Python, fast enough to score every comment as
it is imported. Scores are rounded to 3 places, so the same text always stores the same number; after the
model changes, ``touchpoint sentiment backfill --all`` scores what is stored again.

Labels: positive from 0.05, negative at -0.05 or below, neutral in between; a comment at or below
:data:`STRONGLY_NEGATIVE` (the model at least 60% sure it is negative) is flagged in the feedback routing
(the threshold can be changed per install, see :mod:`bot.feedback.config`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.feedback.tone_model import shipped_model
from bot.format import truncate
from storage.models import FeedbackItem, SurveyResponse

POSITIVE_FROM: Final = 0.05
NEGATIVE_FROM: Final = -0.05
STRONGLY_NEGATIVE: Final = -0.6  # default threshold of the "strongly negative" flag
MAX_SCORED_CHARS: Final = 5_000  # longer texts are scored on their beginning
QUOTE_CHARS: Final = 160


@lru_cache(maxsize=8192)
def _compound(text: str) -> float:
    """Cached: survey exports repeat short comments ("Great support!") many times."""
    return round(shipped_model().score(text), 3)


def score(text: str | None) -> float | None:
    """The compound score of ``text``, rounded to 3 places; None for a missing or blank text."""
    if text is None:
        return None
    stripped = text.strip()
    if not stripped:
        return None
    return _compound(stripped[:MAX_SCORED_CHARS])


class Tone(enum.StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    STRONGLY_NEGATIVE = "strongly negative"


def tone_of(compound: float, *, strongly_negative: float = STRONGLY_NEGATIVE) -> Tone:
    """The label of a compound score."""
    if compound <= strongly_negative:
        return Tone.STRONGLY_NEGATIVE
    if compound <= NEGATIVE_FROM:
        return Tone.NEGATIVE
    if compound >= POSITIVE_FROM:
        return Tone.POSITIVE
    return Tone.NEUTRAL


def is_strongly_negative(compound: float | None, *, threshold: float = STRONGLY_NEGATIVE) -> bool:
    return compound is not None and compound <= threshold


def strongly_negative_marker(compound: float | None, *, threshold: float = STRONGLY_NEGATIVE) -> str | None:
    """ "⚠️ Strongly negative (-0.82)" for a text at or below ``threshold``; None otherwise."""
    if compound is None or not is_strongly_negative(compound, threshold=threshold):
        return None
    return f"⚠️ Strongly negative ({compound:+.2f})"


# ---------------------------------------------------------------------------------------- recent tone


@dataclass(frozen=True, slots=True)
class ToneSummary:
    """The tone of an account's recent comments: survey comments and feedback texts about it."""

    mean: float
    count: int
    label: Tone
    most_negative: str | None  # the lowest-scoring text, truncated; None when nothing scored below 0
    most_negative_score: float | None

    @property
    def line(self) -> str:
        """ "Recent tone: negative (-0.42 over 6 comments)"."""
        noun = "comment" if self.count == 1 else "comments"
        return f"Recent tone: {self.label.value} ({self.mean:+.2f} over {self.count} {noun})"


async def recent_tone(
    session: AsyncSession, account_id: int, today: date, days: int = 90
) -> ToneSummary | None:
    """The mean tone of the account's survey comments and feedback texts of the ``days`` days up to and
    including ``today``, or None when none was scored. Feedback items made from a survey answer are the
    same words as the answer's comment, so they count once (as the answer). One query."""
    since = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=UTC)
    until = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    surveys = select(SurveyResponse.sentiment.label("sentiment"), SurveyResponse.comment.label("text")).where(
        SurveyResponse.account_id == account_id,
        SurveyResponse.sentiment.is_not(None),
        SurveyResponse.submitted_at >= since,
        SurveyResponse.submitted_at < until,
    )
    feedback = select(FeedbackItem.sentiment.label("sentiment"), FeedbackItem.text.label("text")).where(
        FeedbackItem.account_id == account_id,
        FeedbackItem.sentiment.is_not(None),
        FeedbackItem.survey_response_id.is_(None),
        FeedbackItem.created_at >= since,
        FeedbackItem.created_at < until,
    )
    scored = union_all(surveys, feedback).subquery()
    # Totals on every row (a window), so the most negative text comes with them in one round trip.
    statement = (
        select(
            func.count().over().label("count"),
            func.avg(scored.c.sentiment).over().label("mean"),
            scored.c.sentiment,
            scored.c.text,
        )
        .order_by(scored.c.sentiment, scored.c.text)
        .limit(1)
    )
    row = (await session.execute(statement)).first()
    if row is None:
        return None
    total, average, lowest_score, text = row
    count, mean, lowest = int(total), round(float(average), 3), float(lowest_score)
    negative = lowest < 0 and text is not None
    return ToneSummary(
        mean=mean,
        count=count,
        label=tone_of(mean),
        most_negative=truncate(" ".join(text.split()), QUOTE_CHARS) if negative else None,
        most_negative_score=lowest if negative else None,
    )
