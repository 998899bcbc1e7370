"""The core: one entry point that every adapter calls with a Request and renders the Response of.

It checks that the person is registered, finds the command or action (a message in a one-to-one
conversation that reads as a question and names no command goes to ``ask``), runs it, and turns errors into
replies: a :class:`~bot.errors.UserError` is shown as written; anything else is logged with a
reference and the person sees only that reference.
"""

from __future__ import annotations

import time
from dataclasses import replace

from bot.ask.question import reads_as_question
from bot.core.context import BotContext
from bot.core.permissions import require_registered
from bot.core.registry import Registry
from bot.errors import UserError, crash_message, new_reference
from bot.log import get_logger
from bot.metrics import UNKNOWN, Metrics
from bot.types import Context, Reply, Request, RequestKind, Response, Text

log = get_logger("touchpoint.core")
ASK = "ask"  # where a question typed without a command word goes, in a one-to-one conversation


class Bot:
    def __init__(self, context: BotContext, registry: Registry) -> None:
        self.context = context
        self.registry = registry
        self.metrics = Metrics()
        context.registry_actions = frozenset(registry.actions)

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        outcome = "ok"
        try:
            require_registered(request.actor)
            return await self._dispatch(request)
        except UserError as error:
            outcome = "user_error"
            return error_reply(error.message)
        except Exception:
            outcome = "crash"
            reference = new_reference()
            log.exception(
                "request_failed",
                reference=reference,
                kind=request.kind.value,
                command=request.command,
                action=request.action,
                platform=request.actor.platform.value,
                person_id=request.actor.person_id,
            )
            return error_reply(crash_message(reference))
        finally:
            seconds = time.perf_counter() - started
            log.debug(
                "request_handled",
                kind=request.kind.value,
                command=request.command or request.action,
                outcome=outcome,
                ms=round(seconds * 1000, 1),
            )
            self.metrics.observe_command(
                kind=request.kind.value, name=self._metric_name(request), outcome=outcome, seconds=seconds
            )

    def _metric_name(self, request: Request) -> str:
        """The command or action name, or ``unknown`` for one not registered (keeps labels bounded)."""
        if request.kind is RequestKind.COMMAND:
            known = request.command == "help" or request.command in self.registry.commands
            return request.command if known else UNKNOWN
        return request.action if request.action in self.registry.actions else UNKNOWN

    async def _dispatch(self, request: Request) -> Response:
        if request.kind is RequestKind.COMMAND:
            if request.command == "help":
                return self.help_reply(shared=request.share)
            spec = self.registry.commands.get(request.command)
            ask = self.registry.commands.get(ASK)
            if (
                spec is None
                and ask is not None
                and request.conversational
                and reads_as_question(request.text)
            ):
                # "which of my accounts renew next month?" typed in a DM: a question, not a command.
                question = replace(request, command=ASK, args=(request.command, *request.args))
                return await ask.handler(self.context, question)
            if spec is None:
                return self.help_reply(unknown=request.command)
            return await spec.handler(self.context, request)
        action = self.registry.actions.get(request.action)
        if action is None:
            raise UserError("That button no longer works. Run the command again to get a fresh one.")
        return await action.handler(self.context, request)

    def help_reply(self, *, unknown: str | None = None, shared: bool = False) -> Reply:
        lines = ["`help`  this list"]
        lines += [f"`{spec.usage}`  {spec.summary}" for spec in self.registry.commands.values()]
        intro = f"I don't know the command `{unknown}`. " if unknown else ""
        blocks = (
            Text(f"{intro}Here is what I can do:"),
            Text("\n".join(lines)),
            Context(("Add `share` at the end of a command to show the answer to everyone here.",)),
        )
        summary = f"{intro}Commands: " + ", ".join(self.registry.commands)
        return Reply(summary=summary, blocks=blocks, shared=shared)


def error_reply(message: str) -> Reply:
    return Reply(summary=message, blocks=(Text(message),))
