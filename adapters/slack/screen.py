"""What a Slack HTTP request must look like before Bolt reads it.

Bolt parses a body before it checks the signature, and reads the timestamp header with ``int()``: a
forged request with a timestamp such as ``yesterday`` ends in a ValueError logged as a crash, and a
body nested a hundred thousand levels deep in a RecursionError. :func:`screen` refuses both first,
without parsing anything: the timestamp must be a whole number of seconds in ASCII digits and a
signature must be present (401 otherwise; Bolt still checks the signature and the 5-minute window),
and the JSON (the body of an Events API request, or the ``payload`` field of an interactivity form)
must nest no deeper than :data:`MAX_DEPTH` (400 otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from adapters.payloads import nesting_exceeds

# Slack's payloads nest about 15 deep (a rich-text block inside a message inside an event).
MAX_DEPTH = 64
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-fA-F]{64}")
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused: the HTTP status and a short reason (logged, and sent back)."""

    status: int
    reason: str


def screen(headers: Mapping[str, str], body: str) -> Refusal | None:
    """None when the request may go on to Bolt; else why not."""
    if not _TIMESTAMP.fullmatch(headers.get(TIMESTAMP_HEADER, "")):
        return Refusal(401, "missing or malformed request timestamp")
    if not _SIGNATURE.fullmatch(headers.get(SIGNATURE_HEADER, "")):
        return Refusal(401, "missing or malformed signature")
    for document in _json_documents(body):
        if nesting_exceeds(document, MAX_DEPTH):
            return Refusal(400, f"JSON nested deeper than {MAX_DEPTH} levels")
    return None


def _json_documents(body: str) -> list[str]:
    """Every text Bolt may parse as JSON: the body itself (Bolt goes by its first character as much as
    by the content type) and each ``payload`` field of a form."""
    documents = [body]
    if "payload" in body:
        documents += parse_qs(body).get("payload", [])
    return documents
