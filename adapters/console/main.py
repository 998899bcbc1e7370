"""``touchpoint console``: wiring the session to the terminal or to piped stdin."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from adapters.console.render import render_plain, render_rich
from adapters.console.session import ConsoleSession
from bot.core.identity import find_by_email
from bot.settings import Settings
from bot.types import Form, Platform, Reply
from handlers import build_bot
from storage.db import Database
from storage.text import terminal_safe

WELCOME = "Touchpoint console. Type `help` for commands, a number to click a button, `quit` to leave."


def _stdin_reader(echo: bool) -> Callable[[str], str | None]:
    def read(prompt: str) -> str | None:
        line = sys.stdin.readline()
        if not line:
            return None
        line = line.rstrip("\n")
        if echo:
            print(f"{prompt}{line}")
        return line

    return read


def _keyboard_reader(console: Console) -> Callable[[str], str | None]:
    with contextlib.suppress(ImportError):  # line editing and history, where the platform has it
        import readline  # noqa: F401

    def read(prompt: str) -> str | None:
        # Escaped: a field's prompt shows its default as "[call]", which is not markup.
        shown = escape(prompt)
        try:
            return console.input(f"[bold cyan]{shown}[/bold cyan]" if prompt.endswith("> ") else shown)
        except EOFError:
            return None
        except KeyboardInterrupt:
            return None

    return read


async def run_console(
    db: Database, settings: Settings, email: str, *, interactive: bool | None = None
) -> int:
    """Run the console as the person with ``email``; returns the process exit code."""
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    console = Console(highlight=False)
    actor = await find_by_email(db, Platform.CONSOLE, email)
    if actor is None:
        print(
            f"No person with email {email!r} is registered with Touchpoint. Import people first.",
            file=sys.stderr,
        )
        return 1
    bot = build_bot(db, settings)

    if interactive:

        def show(response: Reply | Form) -> None:
            if isinstance(response, Reply):
                render_rich(response, console)
            else:
                console.print(f"[bold]{escape(terminal_safe(response.title))}[/bold]")

        def say(text: str) -> None:
            console.print(terminal_safe(text), markup=False)

        console.print(f"{WELCOME}\nSigned in as {actor.name} <{actor.email}> ({actor.role}).", markup=False)
        reader = _keyboard_reader(console)
    else:

        def show(response: Reply | Form) -> None:
            print(render_plain(response), flush=True)

        def say(text: str) -> None:
            print(terminal_safe(text), flush=True)

        reader = _stdin_reader(echo=True)

    session = ConsoleSession(bot=bot, actor=actor, read_line=reader, show=show, say=say)
    await session.run()
    return 0
