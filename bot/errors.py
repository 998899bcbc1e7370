"""Errors a person may see, kept apart from crashes.

A :class:`UserError` carries a message written for the person who asked ("No account matches 'acme'").
Anything else is a bug: the person sees "Something went wrong (reference ABC123)" and the log holds the
same reference with the traceback, so support can find it without anything internal reaching the chat.
"""

from __future__ import annotations

import secrets

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class UserError(Exception):
    """A problem with the request, explained to the person who made it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadArguments(UserError):
    """The command was understood but its arguments were not."""


class NotFound(UserError):
    """What was asked for does not exist (or the person may not know it exists)."""


class NotAllowed(UserError):
    """The person is known but may not do this."""


class NotRegistered(UserError):
    """The platform identity matches no person in Touchpoint."""

    def __init__(self) -> None:
        super().__init__("You are not registered with Touchpoint yet. Ask a Touchpoint admin to add you.")


def new_reference() -> str:
    """A short code that is easy to read aloud and to search for in logs (no 0/O, 1/I)."""
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def crash_message(reference: str) -> str:
    return f"Something went wrong (reference {reference}). The team has been told; please try again later."
