"""Structured logging: readable on a terminal, JSON in production, the same fields either way."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

_SECRET_KEYS = ("token", "secret", "password", "authorization", "signature", "comment")


def _redact(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """Never let secrets or survey comments reach a log line, whatever a caller passes."""
    for key in list(event):
        lowered = key.lower()
        if any(marker in lowered for marker in _SECRET_KEYS):
            event[key] = "[redacted]"
    return event


class _StreamLogger:
    """Writes each line to ``stream``, or to whatever ``sys.stderr`` is at that moment (not the one seen
    at set-up), so a test runner or a daemon that swaps the stream never leaves logging pointing at a
    closed file."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        print(message, file=self._stream or sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def configure(*, level: str = "INFO", json: bool | None = None, stream: TextIO | None = None) -> None:
    """Set up structlog and the standard library's logging to share one format."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda *_args: _StreamLogger(stream),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # Alembic announces every connection at INFO; only its warnings matter to an operator.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
