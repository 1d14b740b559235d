"""How every process writes its log: ``--log-format text`` (for people) or ``json`` (one
object per line, for collectors), with the ids of what a line is about.

Ids come from two places: ``extra={"job_id": ..., "run_id": ...}`` on a logging call, and the
fields bound for the current request with :func:`bound` (the API binds a request id, the
method and the caller's user name). A last filter blanks credentials (``Basic``/``Bearer``
values, ``password=...``) from every message, whatever a caller put in a request: no secret
reaches a log.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

ID_FIELDS = ("request_id", "method", "user", "queue", "job_set", "job_id", "run_id", "executor")

_bound: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "armada_log_fields", default=None
)

_SECRETS = re.compile(
    r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]+"
    r"|\b(password|passwd|secret|token|client_secret)\b(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
)


def redact(text: str) -> str:
    """``text`` with credentials replaced by ``***``."""

    def blank(match: re.Match[str]) -> str:
        if match.group(1):
            return f"{match.group(1)} ***"
        return f"{match.group(2)}{match.group(3)}***"

    return _SECRETS.sub(blank, text)


@contextlib.contextmanager
def bound(**fields: str) -> Iterator[None]:
    """Add ``fields`` to every log line written in this context (and threads it starts with
    ``asyncio.to_thread``, which copies the context)."""
    token = _bound.set({**(_bound.get() or {}), **fields})
    try:
        yield
    finally:
        # A stream handler's generator may be closed later from another context (asyncio's
        # finaliser): its fields then die with the context they were set in.
        with contextlib.suppress(ValueError):
            _bound.reset(token)


def annotate(**fields: str) -> None:
    """Add ``fields`` to the log lines of the rest of the current context (inside a
    :func:`bound` block: until it ends), e.g. the caller's user name once it is known."""
    _bound.set({**(_bound.get() or {}), **fields})


class _Fields(logging.Filter):
    """Puts the bound ids on each record and blanks credentials in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_bound.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ID_FIELDS:
            value = getattr(record, key, None)
            if value:
                data[key] = value
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = " ".join(
            f"{key}={value}" for key in ID_FIELDS if (value := getattr(record, key, None))
        )
        return f"{text} [{ids}]" if ids else text


def configure_logging(
    log_format: str, level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger's records to ``stream`` (standard error) in ``log_format`` (text
    or json), in place of its handlers; return the handler."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(_Fields())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
