"""Replies and forms as terminal output: rich on a terminal, plain text when piped.

Buttons are numbered across a reply so typing ``2`` clicks the second one. Every text of a reply is
printed through :func:`~storage.text.terminal_safe`: a name stored with ESC or BEL in it shows as
``\x1b`` and never moves the cursor, changes colours or rings the bell.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rich.console import Console
from rich.table import Table
from rich.text import Text as RichText

from bot.types import Actions, Block, Context, Divider, Fields, Form, Header, Image, Reply, Text
from storage.text import terminal_safe

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<!\w)_(.+?)_(?!\w)")
_CODE = re.compile(r"`([^`]+)`")
BAND_STYLES = {"🔴": "bold red", "🟡": "bold yellow", "🟢": "bold green", "⚪": "dim"}
LIST_SEPARATOR = " · "


def plain(text: str) -> str:
    """Markup removed: what a script reading our output should see."""
    return _CODE.sub(r"\1", _ITALIC.sub(r"\1", _BOLD.sub(r"\1", text)))


def to_rich_markup(text: str) -> str:
    from rich.markup import escape

    escaped = escape(text)
    escaped = _BOLD.sub(r"[bold]\1[/bold]", escaped)
    escaped = _CODE.sub(r"[cyan]\1[/cyan]", escaped)
    return _ITALIC.sub(r"[italic]\1[/italic]", escaped)


def safe_block(block: Block) -> Block:
    """``block`` with its texts escaped for a terminal."""
    if isinstance(block, Header | Text):
        return replace(block, text=terminal_safe(block.text))
    if isinstance(block, Fields):
        return replace(block, items=tuple((terminal_safe(k), terminal_safe(v)) for k, v in block.items))
    if isinstance(block, Context):
        return replace(block, lines=tuple(terminal_safe(line) for line in block.lines))
    if isinstance(block, Image):
        return replace(block, alt=terminal_safe(block.alt), url=terminal_safe(block.url))
    if isinstance(block, Actions):
        return replace(block, buttons=tuple(replace(b, label=terminal_safe(b.label)) for b in block.buttons))
    return block


def safe_reply(reply: Reply) -> Reply:
    """``reply`` with every text escaped for a terminal (see the module docstring)."""
    return replace(
        reply, summary=terminal_safe(reply.summary), blocks=tuple(safe_block(b) for b in reply.blocks)
    )


def render_plain(response: Reply | Form) -> str:
    if isinstance(response, Form):
        return terminal_safe(plain_form_intro(response))
    response = safe_reply(response)
    lines: list[str] = []
    number = 0
    for block in response.blocks:
        if isinstance(block, Header):
            lines.append(f"== {block.text} ==")
        elif isinstance(block, Text):
            lines.append(plain(block.text))
        elif isinstance(block, Fields):
            lines.extend(f"{label}: {value}" for label, value in block.items)
        elif isinstance(block, Context):
            lines.append("  " + " | ".join(plain(line) for line in block.lines))
        elif isinstance(block, Image):
            lines.append(f"[image: {block.alt}] {block.url}")
        elif isinstance(block, Divider):
            lines.append("-" * 40)
        elif isinstance(block, Actions):
            labels = []
            for button in block.buttons:
                number += 1
                labels.append(f"[{number}] {button.label}")
            lines.append("  ".join(labels))
    if not response.blocks:
        lines.append(response.summary)
    return "\n".join(lines)


def plain_form_intro(form: Form) -> str:
    """The form's title; the session asks the fields (and shows each field's problem as it asks)."""
    return f"== {form.title} ==" + ("" if form.errors else "  (type `cancel` at any field to stop)")


def _styled_line(line: str) -> RichText:
    text = RichText.from_markup(to_rich_markup(line))
    for mark, style in BAND_STYLES.items():
        if line.startswith(mark):
            text.stylize(style, 0, len(line.split(LIST_SEPARATOR)[0]))
    return text


def _is_list(block: Text) -> bool:
    lines = block.text.splitlines()
    return len(lines) > 1 and all(LIST_SEPARATOR in line for line in lines)


def render_rich(response: Reply, console: Console) -> None:
    response = safe_reply(response)
    number = 0
    for block in response.blocks:
        number = _render_block(block, console, number)
    if not response.blocks:
        console.print(response.summary)


def _render_block(block: Block, console: Console, number: int) -> int:
    if isinstance(block, Header):
        console.rule(RichText(block.text, style="bold"))
    elif isinstance(block, Text) and _is_list(block):
        table = Table(show_header=False, box=None, pad_edge=False)
        rows = [line.split(LIST_SEPARATOR) for line in block.text.splitlines()]
        for _ in range(max(len(r) for r in rows)):
            table.add_column()
        for row in rows:
            table.add_row(*(_styled_line(cell) for cell in row))
        console.print(table)
    elif isinstance(block, Text):
        for line in block.text.splitlines():
            console.print(_styled_line(line))
    elif isinstance(block, Fields):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        for label, value in block.items:
            grid.add_row(RichText(label), RichText(value))  # data, not markup: "[beta]" stays
        console.print(grid)
    elif isinstance(block, Context):
        console.print(RichText(" | ".join(plain(line) for line in block.lines), style="dim"))
    elif isinstance(block, Image):
        console.print(RichText(f"[image: {block.alt}] {block.url}", style="dim"))
    elif isinstance(block, Divider):
        console.rule(style="dim")
    elif isinstance(block, Actions):
        labels = []
        for button in block.buttons:
            number += 1
            style = {"primary": "bold cyan", "danger": "bold red"}.get(button.style or "", "cyan")
            labels.append(f"[{style}][{number}][/{style}] {to_rich_markup(button.label)}")
        console.print("  ".join(labels))
    return number
