"""Log lines: RFC 3339 timestamps, and the since/tail filters of Kubernetes' log API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from armada.executor.model import PodLogLine


def rfc3339(seconds: float) -> str:
    """``2024-01-02T03:04:05.123456789Z``, as the kubelet stamps log lines."""
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time (nanoseconds are cut to microseconds)."""
    value = text.strip().replace("Z", "+00:00")
    if "." in value:
        head, rest = value.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        value = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time (e.g. 2024-01-02T03:04:05Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def filter_lines(
    lines: Sequence[PodLogLine], since_time: str, tail_lines: int | None
) -> list[PodLogLine]:
    """Lines at or after ``since_time`` (if given), then the last ``tail_lines`` of them."""
    selected = list(lines)
    if since_time:
        since = parse_rfc3339(since_time)
        selected = [
            line
            for line in selected
            if not line.timestamp or parse_rfc3339(line.timestamp) >= since
        ]
    if tail_lines is not None and tail_lines >= 0:
        selected = selected[len(selected) - tail_lines :] if tail_lines else []
    return selected


def split_timestamped(text: str) -> list[PodLogLine]:
    """Lines as Kubernetes returns them with ``timestamps=true``: ``<time> <text>``."""
    lines = []
    for raw in text.splitlines():
        stamp, _, rest = raw.partition(" ")
        if stamp[:1].isdigit() and "T" in stamp:
            lines.append(PodLogLine(stamp, rest))
        else:
            lines.append(PodLogLine("", raw))
    return lines
