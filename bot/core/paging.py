"""Long lists are shown 10 at a time with a More button, so no reply outgrows a platform's limits.

The More button carries the command and its arguments plus the next offset; clicking it runs the
command again for the next page (and the permission checks with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot import actions
from bot.types import Button, Request

PAGE_SIZE = 10
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    offset: int
    total: int
    more: Button | None

    @property
    def caption(self) -> str:
        if self.total <= len(self.items):
            return f"{self.total} in all"
        return f"{self.offset + 1}-{self.offset + len(self.items)} of {self.total}"


def offset_of(request: Request) -> int:
    raw = request.payload.get("offset", 0)
    try:
        return max(0, int(raw or 0))
    except (TypeError, ValueError):
        return 0


def paginate(items: Sequence[T], request: Request, *, size: int = PAGE_SIZE) -> Page[T]:
    offset = offset_of(request)
    if offset >= len(items):
        offset = 0
    return page_of(items[offset : offset + size], request, offset=offset, total=len(items), size=size)


def page_of(
    chunk: Sequence[T], request: Request, *, offset: int, total: int, size: int = PAGE_SIZE
) -> Page[T]:
    """A page that was read on its own (``LIMIT``/``OFFSET`` in SQL) out of ``total`` items."""
    more = None
    if offset + size < total:
        more = Button(
            label=f"More ({total - offset - size} left)",
            action=actions.PAGE_MORE,
            payload={"command": request.command, "args": request.arg_text, "offset": offset + size},
        )
    return Page(items=chunk, offset=offset, total=total, more=more)
