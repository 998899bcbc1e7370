"""The console's read-eval-print loop.

It reads lines from any source (the keyboard, or piped stdin for scripts and tests), so the same loop
serves both: a command, a number to click a button of the last reply, or ``quit``. Forms ask field by
field; a field with a problem is asked again with the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.dispatch import Bot
from bot.core.grammar import parse
from bot.types import (
    Actor,
    Address,
    Button,
    Form,
    FormInput,
    InputKind,
    Platform,
    Reply,
    Request,
    RequestKind,
)

ReadLine = Callable[[str], "str | None"]
Show = Callable[["Reply | Form"], None]
Say = Callable[[str], None]

PROMPT = "touchpoint> "
EXIT_WORDS = frozenset({"quit", "exit", "bye", ":q"})
CANCEL_WORDS = frozenset({"cancel", "quit", "exit"})


@dataclass
class ConsoleSession:
    bot: Bot
    actor: Actor
    read_line: ReadLine
    show: Show
    say: Say
    buttons: list[Button] = field(default_factory=list)

    @property
    def address(self) -> Address:
        return Address(platform=Platform.CONSOLE, target="terminal", user=self.actor.platform_user_id)

    async def run(self) -> None:
        while True:
            line = self.read_line(PROMPT)
            if line is None:
                return
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.lower() in EXIT_WORDS:
                return
            await self.handle_line(line)

    async def handle_line(self, line: str) -> None:
        if line.isdecimal():  # not isdigit: "²" is a digit that int() refuses
            index = int(line) - 1
            if not 0 <= index < len(self.buttons):
                self.say(f"There is no button {line}." if self.buttons else "There are no buttons to click.")
                return
            button = self.buttons[index]
            request = Request(
                kind=RequestKind.ACTION,
                actor=self.actor,
                address=self.address,
                action=button.action,
                payload=dict(button.payload),
            )
        else:
            parsed = parse(line)
            request = Request(
                kind=RequestKind.COMMAND,
                actor=self.actor,
                address=self.address,
                command=parsed.command,
                args=parsed.args,
                text=parsed.text,
                share=parsed.share,
                conversational=True,
            )
        await self.respond(await self.bot.handle(request))

    async def respond(self, response: Reply | Form) -> None:
        while isinstance(response, Form):
            self.show(response)
            values = self.fill(response)
            if values is None:
                self.say("Cancelled.")
                return
            request = Request(
                kind=RequestKind.SUBMIT,
                actor=self.actor,
                address=self.address,
                action=response.submit_action,
                payload=dict(response.payload),
                values=values,
            )
            response = await self.bot.handle(request)
        self.buttons = list(response.buttons)
        self.show(response)

    def fill(self, form: Form) -> dict[str, str] | None:
        """Ask each field (only those with problems when the form came back with errors)."""
        values = {spec.id: spec.initial or "" for spec in form.inputs}
        for spec in form.inputs:
            if form.errors and spec.id not in form.errors:
                continue
            if spec.id in form.errors:
                self.say(f"! {form.errors[spec.id]}")
            answer = self.ask(spec, keep_initial=spec.id not in form.errors)
            if answer is None:
                return None
            values[spec.id] = answer
        return values

    def ask(self, spec: FormInput, *, keep_initial: bool = True) -> str | None:
        """One field's answer; None when the person cancels or input ends."""
        initial = spec.initial if keep_initial else None
        hint = ""
        if _has_choices(spec):
            self.say("  " + "  ".join(f"[{i}] {o.label}" for i, o in enumerate(spec.options, start=1)))
            hint = " (number or name"
        elif spec.kind is InputKind.CONVERSATION:
            hint = " (a channel"
        elif spec.kind is InputKind.DATE:
            hint = " (YYYY-MM-DD"
        if hint:
            hint += ", optional)" if not spec.required else ")"
        elif not spec.required:
            hint = " (optional)"
        default = f" [{initial}]" if initial else ""
        answer = self.read_line(f"{spec.label}{hint}{default}: ")
        if answer is None or answer.strip().lower() in CANCEL_WORDS:
            return None
        answer = answer.strip() or (initial or "")
        if _has_choices(spec):
            answer = _choice(spec, answer)
        return answer


def _has_choices(spec: FormInput) -> bool:
    """A select, or a conversation to pick from a list (without one it is typed, as plain text)."""
    return spec.kind is InputKind.SELECT or (spec.kind is InputKind.CONVERSATION and bool(spec.options))


def _choice(spec: FormInput, answer: str) -> str:
    """A select answered by number, value or label (case-insensitive)."""
    if answer.isdecimal() and 1 <= int(answer) <= len(spec.options):
        return spec.options[int(answer) - 1].value
    for option in spec.options:
        if answer.casefold() in (option.value.casefold(), option.label.casefold()):
            return option.value
    return answer
