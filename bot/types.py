"""The platform-neutral vocabulary between adapters and the core.

Adapters turn a Slack payload, a Teams activity or a terminal line into a :class:`Request`; handlers answer
with a :class:`Reply` (something to show) or a :class:`Form` (something to fill in); adapters render those
as Block Kit, Adaptive Cards or terminal output. Nothing here knows about any platform.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from storage import text as texts

JSONScalar = str | int | float | bool | None
Payload = dict[str, JSONScalar]


class Platform(enum.StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sent a request: a registered person, or an unknown platform identity (person_id None)."""

    platform: Platform
    platform_user_id: str
    person_id: int | None = None
    email: str | None = None
    name: str | None = None
    role: str | None = None
    manager_id: int | None = None
    timezone: str = "UTC"

    @property
    def is_registered(self) -> bool:
        return self.person_id is not None


@dataclass(frozen=True, slots=True)
class Address:
    """Where to answer or post. ``target`` is opaque to the core (a channel id, a DM, a conversation ref).

    ``thread`` is set when the answer belongs in a thread (a mention in a channel); ``private`` marks a
    place only the person sees (an ephemeral reply, a personal chat).
    """

    platform: Platform
    target: str
    thread: str | None = None
    user: str | None = None
    private: bool = True


class RequestKind(enum.StrEnum):
    COMMAND = "command"
    ACTION = "action"
    SUBMIT = "submit"


@dataclass(frozen=True, slots=True)
class Request:
    """A command typed by someone, a button they clicked, or a form they submitted."""

    kind: RequestKind
    actor: Actor
    address: Address
    command: str = ""
    args: tuple[str, ...] = ()
    text: str = ""
    action: str = ""
    payload: Payload = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    share: bool = False
    # Typed in a one-to-one conversation with Touchpoint (a Slack DM, a Teams personal chat, the
    # console): there a question needs no command word (it goes to ``ask``).
    conversational: bool = False

    @property
    def arg_text(self) -> str:
        return " ".join(self.args)


# ---------------------------------------------------------------------------------------------- replies

ButtonStyle = Literal["primary", "danger"] | None


@dataclass(frozen=True, slots=True)
class Button:
    """A button: ``action`` names the core action; ``payload`` carries ids only, never trust."""

    label: str
    action: str
    payload: Payload = field(default_factory=dict)
    style: ButtonStyle = None


@dataclass(frozen=True, slots=True)
class Header:
    text: str


@dataclass(frozen=True, slots=True)
class Text:
    """A paragraph. ``**bold**`` and ``_italic_`` are the only markup; adapters translate them."""

    text: str


@dataclass(frozen=True, slots=True)
class Fields:
    """Label/value pairs shown side by side (Slack section fields, a Teams FactSet)."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Context:
    """Small print: secondary lines such as "last touch 3 days ago"."""

    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Image:
    """An image by URL, or generated here (a digest's chart): then ``url`` is ``attachment://NAME`` and
    ``data`` holds the PNG bytes, which Slack uploads as a file and Teams shows inline."""

    url: str
    alt: str
    title: str | None = None
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class Divider:
    pass


@dataclass(frozen=True, slots=True)
class Actions:
    buttons: tuple[Button, ...]


Block = Header | Text | Fields | Context | Image | Divider | Actions


@dataclass(frozen=True, slots=True)
class Reply:
    """Something to show. ``summary`` is the one-line plain text used for notifications and fallbacks.

    ``replace`` asks the adapter to update the message a button was clicked on instead of adding a new one.
    ``shared`` is True when the answer may be seen by everyone in the place it was asked.
    """

    summary: str
    blocks: tuple[Block, ...] = ()
    replace: bool = False
    shared: bool = False

    @property
    def buttons(self) -> tuple[Button, ...]:
        return tuple(b for block in self.blocks if isinstance(block, Actions) for b in block.buttons)


# ------------------------------------------------------------------------------------------------ forms


class InputKind(enum.StrEnum):
    TEXT = "text"
    MULTILINE = "multiline"
    SELECT = "select"
    DATE = "date"
    # A place to post: Slack draws its channel picker; with ``options`` (Teams: the channels Touchpoint
    # is installed in) it is a choice among them; the console asks for it as text.
    CONVERSATION = "conversation"


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FormInput:
    """One field of a form and the rules its value must meet."""

    id: str
    label: str
    kind: InputKind = InputKind.TEXT
    required: bool = True
    initial: str | None = None
    placeholder: str | None = None
    options: tuple[Option, ...] = ()
    max_length: int = 2000
    min_date: Literal["today"] | None = None


@dataclass(frozen=True, slots=True)
class Form:
    """A form to open. On submit the adapter sends a SUBMIT request with ``submit_action`` and ``payload``."""

    title: str
    inputs: tuple[FormInput, ...]
    submit_action: str
    submit_label: str = "Save"
    payload: Payload = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # A button that opens this form again, for places that cannot open a form directly (a mention in
    # a channel has no trigger to open a Slack modal with): the adapter posts the button instead.
    opener: Button | None = None


Response = Reply | Form


def validate_form(form: Form, values: dict[str, str], *, today: date) -> dict[str, str]:
    """Check submitted ``values`` against the form's rules; returns field id -> message for each problem."""
    errors: dict[str, str] = {}
    for spec in form.inputs:
        raw = (values.get(spec.id) or "").strip()
        unstorable = texts.problem(raw)
        if unstorable is not None:  # a NUL or a lone surrogate: refused here, before any look-up or write
            errors[spec.id] = f"{spec.label} {unstorable}: remove it and try again."
            continue
        if not raw:
            if spec.required:
                errors[spec.id] = f"{spec.label} is required."
            continue
        if len(raw) > spec.max_length:
            errors[spec.id] = f"{spec.label} is too long ({len(raw)} characters, at most {spec.max_length})."
        elif _is_choice(spec) and raw not in {o.value for o in spec.options}:
            choices = ", ".join(o.label for o in spec.options)
            errors[spec.id] = f"Choose one of: {choices}."
        elif spec.kind is InputKind.DATE:
            try:
                chosen = date.fromisoformat(raw)
            except ValueError:
                errors[spec.id] = f"{spec.label} must be a date like {today.isoformat()}."
                continue
            if spec.min_date == "today" and chosen < today:
                errors[spec.id] = f"{spec.label} cannot be in the past."
    return errors


def _is_choice(spec: FormInput) -> bool:
    """A select, or a conversation picked from a given list: the value must be one of the options."""
    return spec.kind is InputKind.SELECT or (spec.kind is InputKind.CONVERSATION and bool(spec.options))
