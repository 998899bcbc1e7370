"""The More button: runs the listed command again for its next page."""

from __future__ import annotations

from dataclasses import replace

from bot import actions
from bot.core.context import BotContext
from bot.core.grammar import parse
from bot.core.registry import Registry
from bot.errors import BadArguments
from bot.types import Request, RequestKind, Response


def register(registry: Registry) -> None:
    async def more(ctx: BotContext, request: Request) -> Response:
        command = str(request.payload.get("command") or "")
        spec = registry.commands.get(command)
        if spec is None:
            raise BadArguments("That list can no longer be continued. Run the command again.")
        parsed = parse(f"{command} {request.payload.get('args') or ''}")
        again = replace(
            request,
            kind=RequestKind.COMMAND,
            command=parsed.command,
            args=parsed.args,
            text=parsed.text,
            action="",
            payload={"offset": request.payload.get("offset", 0)},
        )
        return await spec.handler(ctx, again)

    registry.action(actions.PAGE_MORE)(more)
