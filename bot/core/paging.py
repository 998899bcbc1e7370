"""Long lists are shown 10 at a time with a More button, so no reply outgrows a platform's limits.

The More button carries the command and its arguments plus the next offset; clicking it runs the
command again for the next page (and the permission checks with it). The offset comes back from the
client, so it is checked: a whole number from 0 to :data:`MAX_OFFSET`, or the click is refused with a
message (an offset of 10^19 would otherwise reach the database, which cannot hold it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot import actions
from bot.errors import BadArguments
from bot.types import Button, Request

PAGE_SIZE = 10
# Far beyond any list (20,000 accounts are 2,000 pages), far below what SQL's OFFSET can hold.
MAX_OFFSET = 1_000_000
STALE_PAGE = "That list can no longer be continued. Run the command again."
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
    """The offset a More button asked for (0 without one); :class:`BadArguments` for one that is not a
    whole number from 0 to :data:`MAX_OFFSET`."""
    raw = request.payload.get("offset", 0)
    if raw is None or raw == "":
        return 0
    if isinstance(raw, float) and raw.is_integer():  # a client may send 10 back as 10.0
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise BadArguments(STALE_PAGE)
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_OFFSET)):
        raise BadArguments(STALE_PAGE)
    offset = int(text)
    if offset > MAX_OFFSET:
        raise BadArguments(STALE_PAGE)
    return offset


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
