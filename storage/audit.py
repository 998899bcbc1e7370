"""Writing audit events: every change records who did it, to what, and from which platform."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent


def record(
    session: AsyncSession,
    *,
    action: str,
    object_type: str,
    object_id: str | int,
    platform: str,
    actor_id: int | None = None,
    actor_label: str,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an AuditEvent to ``session``; it commits with the change it describes."""
    event = AuditEvent(
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        platform=platform,
        actor_id=actor_id,
        actor_label=actor_label,
        details=details or {},
    )
    session.add(event)
    return event
