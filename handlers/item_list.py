"""Lists whose items each carry Done / Snooze buttons (follow-ups, milestones), paged 10 at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from bot.core.paging import paginate
from bot.types import Actions, Block, Button, Context, Header, Reply, Request, Text

T = TypeVar("T")


def item_list_reply(
    request: Request,
    title: str,
    rows: Sequence[T],
    *,
    line: Callable[[T], str],
    buttons: Callable[[T], tuple[Button, ...]],
) -> Reply:
    if not rows:
        return Reply(summary=f"{title}: none.", blocks=(Text(f"{title}: none. 🎉"),), shared=request.share)
    page = paginate(rows, request)
    blocks: list[Block] = [Header(title)]
    for row in page.items:
        blocks.append(Text(line(row)))
        blocks.append(Actions(buttons(row)))
    blocks.append(Context((page.caption,)))
    if page.more:
        blocks.append(Actions((page.more,)))
    return Reply(
        summary=f"{title}: {page.caption}",
        blocks=tuple(blocks),
        shared=request.share,
        replace=page.offset > 0,
    )
