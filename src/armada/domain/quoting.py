"""Quoting what a caller sent in an error message, however long it is."""

from __future__ import annotations

SHOWN_CHARS = 80


def shown(value: object) -> str:
    """``repr(value)`` for an error message, its middle cut out if it is long: a message must
    stay readable (and well within gRPC's 8 KiB of trailing metadata) whatever was sent."""
    text = repr(value)
    if len(text) <= SHOWN_CHARS:
        return text
    half = SHOWN_CHARS // 2
    size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} characters"
    return f"{text[:half]}...{text[-half:]} ({size})"
