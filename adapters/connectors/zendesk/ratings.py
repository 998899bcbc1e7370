"""Zendesk satisfaction ratings to CSAT answers.

A rating is a customer's answer to "How would you rate the support you received?": good or bad, with an
optional comment. Touchpoint's CSAT scale is 1 to 5, so good is stored as 5 and bad as 1: a bad rating
is a detractor answer (1 to 2) and its comment goes to the account's CSM like any survey comment, with
its tone scored. Each rating is stored under its Zendesk id (``zendesk-rating:<id>``), so a rating the
customer changes later is updated, not added. The account is the one of the rated ticket's organization.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.connectors.runs import SyncTally
from adapters.connectors.zendesk.client import Rating

SCORES = {"good": 5, "bad": 1}


def survey_records(
    ratings: Sequence[Rating],
    ticket_accounts: Mapping[str, str],
    tally: SyncTally,
) -> list[dict[str, Any]]:
    """The ``surveys`` import records of ``ratings``; ``ticket_accounts`` maps a ticket id to its
    account's external id. A rating whose ticket has no known account is reported and left out."""
    records: list[dict[str, Any]] = []
    for rating in ratings:
        score = SCORES.get(rating.score)
        if score is None:
            continue
        account = ticket_accounts.get(rating.ticket_id)
        if account is None:
            tally.add("skipped")
            tally.problem(
                f"rating {rating.id}",
                "ticket_id",
                f"ticket {rating.ticket_id} belongs to no linked organization; the rating is not counted",
            )
            continue
        record: dict[str, Any] = {
            "account_external_id": account,
            "kind": "csat",
            "score": score,
            "submitted_at": rating.created_at.isoformat(),
            "external_id": f"zendesk-rating:{rating.id}",
        }
        if rating.comment and rating.comment.strip():
            record["comment"] = rating.comment.strip()
        records.append(record)
    return records
