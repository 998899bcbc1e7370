"""``surveys``: NPS, CSAT and CES answers.

Re-imports upsert on ``natural_key``: ``ext:<external_id>`` when the source gave an id, otherwise
``auto:<sha1>`` of account external id, kind, respondent email and the UTC submission time, so the same
answer exported twice is recognised even without an id.

Each comment's tone (the caller's :data:`~storage.importer.rules.ToneScorer`) is stored with it in
``sentiment`` when the batch is written (not while the file is checked, so each comment is scored
once), in a worker thread so a large import through the ingest API does not hold up the server's
other requests. Scoring costs a fraction of a millisecond a comment, so a re-import keeps the stored tone of
every comment that did not change instead of scoring it again. An input without a comment column
leaves the stored comments and their tone alone. Without a scorer (no rules given) comments are
stored with no tone.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer import fields as f
from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.errors import FieldProblem
from storage.importer.lookups import account_field
from storage.importer.rules import ToneScorer
from storage.importer.write import Tally, table_of, upsert_rows
from storage.models import SurveyKind, SurveyResponse

TABLE = table_of(SurveyResponse)
KEY = ("natural_key",)
UPDATABLE = (
    "account_id",
    "kind",
    "score",
    "comment",
    "sentiment",
    "respondent_email",
    "submitted_at",
    "external_id",
)
AUTO_KEY_COLUMNS = "account_external_id, kind, respondent_email, submitted_at"
KEYS_PER_QUERY = 5_000

# The scale of each survey kind, inclusive.
SCALES: dict[str, tuple[int, int]] = {
    SurveyKind.NPS.value: (0, 10),
    SurveyKind.CSAT.value: (1, 5),
    SurveyKind.CES.value: (1, 7),
}


StoredTones = Mapping[str, tuple[str | None, float | None]]  # natural key -> (comment, sentiment)


def unscored(text: str | None) -> float | None:
    """The tone when no scorer was given: none."""
    return None


def with_sentiment(
    records: Sequence[Record], score: ToneScorer, stored: StoredTones | None = None
) -> list[Record]:
    """``records`` with the tone of their comment: the stored one when the comment is the stored comment
    and was scored, else scored now. Records without a comment field are left as they are."""
    rows: list[Record] = []
    for record in records:
        if "comment" not in record:
            rows.append(record)
            continue
        comment = record["comment"]
        known = stored.get(record["natural_key"]) if stored else None
        if known is not None and known[0] == comment and (known[1] is not None or score(comment) is None):
            tone = known[1]
        else:
            tone = score(comment)
        rows.append({**record, "sentiment": tone})
    return rows


async def stored_tones(
    session: AsyncSession, records: Sequence[Record]
) -> dict[str, tuple[str | None, float | None]]:
    """The stored comment and tone of the answers among ``records`` that already exist."""
    keys = [record["natural_key"] for record in records]
    found: dict[str, tuple[str | None, float | None]] = {}
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start : start + KEYS_PER_QUERY]
        statement = select(TABLE.c.natural_key, TABLE.c.comment, TABLE.c.sentiment).where(
            TABLE.c.natural_key.in_(chunk)
        )
        found.update({key: (comment, tone) for key, comment, tone in await session.execute(statement)})
    return found


def natural_key(account_external_id: str, record: Mapping[str, Any]) -> str:
    """The key a survey answer is upserted on (see the module docstring)."""
    external_id = record.get("external_id")
    if external_id:
        return f"ext:{external_id}"
    parts = (
        account_external_id,
        record["kind"],
        record.get("respondent_email") or "",
        record["submitted_at"].isoformat(),
    )
    return "auto:" + hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()


class SurveysKind(Kind):
    name = "surveys"
    required = ("account_external_id", "kind", "score", "submitted_at")
    optional = ("comment", "respondent_email", "external_id")

    def __init__(self, fields: tuple[f.Field, ...], *, tone: ToneScorer) -> None:
        super().__init__(fields)
        self.tone = tone

    @classmethod
    async def load(cls, session: AsyncSession, options: ImportOptions) -> Self:
        account = await account_field(session)
        return cls(
            (
                account,
                f.Field("kind", f.choice(list(SCALES), "survey kind")),
                f.Field("score", f.whole_number),
                f.Field("comment", f.text(f.MAX_COMMENT, multiline=True), required=False),
                f.Field("respondent_email", f.email, required=False),
                f.Field("submitted_at", f.iso_datetime),
                f.Field("external_id", f.text(128), required=False),
            ),
            tone=options.rules.tone if options.rules is not None else unscored,
        )

    def validate(self, row: Mapping[str, object]) -> Record | list[FieldProblem]:
        result = super().validate(row)
        if isinstance(result, dict):
            result["natural_key"] = natural_key(str(row["account_external_id"]).strip(), result)
        return result

    def complete(self, values: Record) -> Record | list[FieldProblem]:
        low, high = SCALES[values["kind"]]
        if not low <= values["score"] <= high:
            return [("score", f"{values['kind']} score must be {low} to {high}, not {values['score']}")]
        return values

    def keys(self, record: Record) -> list[tuple[str, str]]:
        key: str = record["natural_key"]
        return [("external_id" if key.startswith("ext:") else AUTO_KEY_COLUMNS, key)]

    async def write(self, session: AsyncSession, records: Sequence[Record], present: frozenset[str]) -> Tally:
        rows: Sequence[Record] = records
        if "comment" in present:
            stored = await stored_tones(session, records)
            rows = await asyncio.to_thread(with_sentiment, records, self.tone, stored)
        tally, _ = await upsert_rows(session, TABLE, rows, key=KEY, update=UPDATABLE)
        return tally
