"""Feedback from survey answers: a detractor (NPS 0-6) or CSAT 1-2 answer with a comment becomes a
feedback item to the account's CSM, once per answer (``FeedbackItem.survey_response_id`` is unique).
Imports, the ingest API and the scheduler all call :func:`feedback_from_surveys`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from bot.feedback.items import submit_feedback
from bot.feedback.routing import Routing
from bot.log import get_logger
from storage.db import Database
from storage.models import (
    FeedbackItem,
    SurveyKind,
    SurveyResponse,
)

log = get_logger("touchpoint.feedback.surveys")

DETRACTOR_MAX = {SurveyKind.NPS.value: 6, SurveyKind.CSAT.value: 2}


SURVEY_FRESH_DAYS = 30  # an imported answer older than this is history, not news


def _survey_is_detractor() -> Any:
    return or_(
        *(
            and_(SurveyResponse.kind == kind, SurveyResponse.score <= high)
            for kind, high in DETRACTOR_MAX.items()
        )
    )


async def feedback_from_surveys(
    db: Database, *, since: datetime | None, now: datetime, routing: Routing
) -> int:
    """Make a feedback item to the owner CSM of every detractor answer (NPS 0-6, CSAT 1-2) with a
    comment submitted since ``since`` (None: any time) that has none yet. Returns how many were made."""
    clauses = [
        _survey_is_detractor(),
        SurveyResponse.comment.is_not(None),
        func.length(func.trim(SurveyResponse.comment)) > 0,
        SurveyResponse.submitted_at <= now,
        ~select(FeedbackItem.id).where(FeedbackItem.survey_response_id == SurveyResponse.id).exists(),
    ]
    if since is not None:
        clauses.append(SurveyResponse.submitted_at >= since)
    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(
                    SurveyResponse.id,
                    SurveyResponse.account_id,
                    SurveyResponse.kind,
                    SurveyResponse.comment,
                )
                .where(*clauses)
                .order_by(SurveyResponse.submitted_at, SurveyResponse.id)
            )
        ).all()
    made = 0
    for response_id, account_id, kind, comment in rows:
        item = await submit_feedback(
            db,
            originator_id=None,
            originator_team="cx",
            account_id=account_id,
            text=(comment or "").strip(),
            tags=[kind],
            urgent=False,
            source="survey",
            now=now,
            routing=routing,
            survey_response_id=response_id,
        )
        made += item is not None
    log.info("feedback_from_surveys", candidates=len(rows), made=made)
    return made
