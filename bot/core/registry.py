"""Where handlers declare the commands and button actions they answer.

Each handlers module has a ``register(registry)`` function; the core looks commands and actions up here,
so adding a command never means editing a dispatcher.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.context import BotContext
from bot.types import Request, Response

Handler = Callable[[BotContext, Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    usage: str
    summary: str
    handler: Handler


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    handler: Handler


class Registry:
    def __init__(self) -> None:
        self.commands: dict[str, CommandSpec] = {}
        self.actions: dict[str, ActionSpec] = {}

    def command(self, name: str, *, usage: str, summary: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            if name in self.commands:
                raise ValueError(f"command {name!r} registered twice")
            self.commands[name] = CommandSpec(name=name, usage=usage, summary=summary, handler=handler)
            return handler

        return decorate

    def action(self, name: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            if name in self.actions:
                raise ValueError(f"action {name!r} registered twice")
            self.actions[name] = ActionSpec(name=name, handler=handler)
            return handler

        return decorate
