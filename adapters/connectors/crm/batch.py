"""What a CRM's batch update answers, whichever CRM: the ids written, and each refused one with the
CRM's reason (one refused record never stops the others)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BatchResult:
    updated: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]  # (record id, the CRM's reason)
