"""Structured logging: readable on a terminal, JSON in production, the same fields either way."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_KEYS = ("token", "secret", "password", "authorization", "signature", "comment")
REDACTED = "[redacted]"
# Token-like values inside any string: Slack tokens (bot, app, user and the rest of the xox family),
# HTTP bearer credentials, and Touchpoint API tokens (``tp_`` and a long random part).
_SECRET_VALUES = re.compile(
    r"\b(?:xox[abposr]|xapp)-[A-Za-z0-9-]+"
    r"|\bBearer\s+[A-Za-z0-9._~+/=-]+"
    r"|\btp_[A-Za-z0-9_-]{16,}",
    re.IGNORECASE,
)


def scrub(text: str) -> str:
    """``text`` with every token-like value replaced."""
    return _SECRET_VALUES.sub(REDACTED, text)


def _is_secret_key(key: object) -> bool:
    lowered = str(key).lower()
    return any(marker in lowered for marker in _SECRET_KEYS)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: REDACTED if _is_secret_key(k) else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return scrub(str(value))  # rendered as text anyway: exceptions, paths, URLs


def _redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Never let secrets or survey comments reach a log line, whatever a caller passes: values under a
    secret-sounding key are dropped, and token-like values are scrubbed from every other field."""
    for key in list(event):
        event[key] = REDACTED if _is_secret_key(key) else _clean(event[key])
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
    """Set up structlog and the standard library's logging to share one format.

    ``json`` None: JSON unless the stream is a terminal. Readable lines are coloured only on a terminal,
    so a readable log piped into a file or a script holds no escape codes."""
    terminal = _is_terminal(stream or sys.stderr)
    if json is None:
        json = not terminal
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=terminal)
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,  # before redaction, so a traceback is scrubbed too
        _redact,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda *_args: _StreamLogger(stream),
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(level=level, renderer=renderer, stream=stream)
    numeric: int = logging.getLevelName(level.upper())
    # Alembic announces every connection at INFO; only its warnings matter to an operator.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, numeric))
    # The SQLite driver logs every call at DEBUG; that drowns Touchpoint's own debug lines.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, numeric))
    # APScheduler says "Adding job tentatively", "Added job" and "Running job" at INFO for every job and
    # run: only its warnings, unless the whole log is at DEBUG.
    logging.getLogger("apscheduler").setLevel(numeric if numeric <= logging.DEBUG else logging.WARNING)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to ``stream``, or to whatever ``sys.stderr`` is when a record is emitted."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream or sys.stderr)
        self._fixed = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._fixed or sys.stderr
        super().emit(record)


def _route_standard_logging(*, level: str, renderer: Any, stream: TextIO | None) -> None:
    """Lines from libraries (aiohttp, apscheduler, botbuilder) get the same format, the request or job
    reference, and the same redaction as Touchpoint's own."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact,
            renderer,
        ],
    )
    handler = _CurrentStderrHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _CurrentStderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
