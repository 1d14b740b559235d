"""Pod logs through Armada's Binoculars service (``binoculars.Binoculars.Logs``).

Binoculars answers one request with the lines logged so far. Following a log is polling, and
goes by position: each poll shows the lines past the ones already shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from armada_client.armada import binoculars_pb2, binoculars_pb2_grpc
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.client.connection import Connection
from armada.client.errors import Unimplemented


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    line: str


_FRACTION = re.compile(r"\.(\d+)")


def timestamp_key(text: str) -> tuple[datetime, int] | None:
    """An orderable key for an RFC 3339 timestamp with up to nanosecond precision."""
    if not text:
        return None
    body = text.strip().replace("Z", "+00:00")
    fraction = _FRACTION.search(body)
    nanos = 0
    if fraction is not None:
        nanos = int(fraction.group(1)[:9].ljust(9, "0"))
        body = body[: fraction.start()] + body[fraction.end() :]
    try:
        moment = datetime.fromisoformat(body)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, nanos


class Binoculars:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._stub = binoculars_pb2_grpc.BinocularsStub(connection.channel)

    def logs(
        self,
        job_id: str,
        *,
        namespace: str,
        pod_number: int = 0,
        since_time: str = "",
        container: str = "",
        tail_lines: int | None = None,
    ) -> list[LogLine]:
        """The lines the job's pod has logged (since ``since_time``, if given)."""
        options = core.PodLogOptions(container=container) if container else core.PodLogOptions()
        if tail_lines is not None:
            options.tailLines = tail_lines
        request = binoculars_pb2.LogRequest(
            job_id=job_id,
            pod_number=pod_number,
            pod_namespace=namespace,
            since_time=since_time,
            log_options=options,
        )
        try:
            response = self.connection.unary(self._stub.Logs, request)
        except Unimplemented:
            raise Unimplemented(
                f"logs are not available from this server ({self.connection.target})"
            ) from None
        return [LogLine(timestamp=line.timestamp, line=line.line) for line in response.log]

    def follow(
        self,
        job_id: str,
        *,
        namespace: str,
        finished: Callable[[], bool],
        wait: Callable[[float], object],
        interval: float = 1.0,
        pod_number: int = 0,
        container: str = "",
        tail_lines: int | None = None,
        since_time: str = "",
    ) -> Iterator[LogLine]:
        """New lines as they are logged, until ``finished()`` was true before a final fetch.

        ``wait(seconds)`` pauses between polls (injected so that tests need not sleep).
        Following goes by position: each poll reads the log (since ``since_time``, if given)
        and shows the lines past those already shown. Timestamps cannot say which lines are
        new: a backend may stamp to the second, or not at all, and two lines may share one.
        A log found shorter than what was shown is a new one (the job's next pod): it is
        shown from its start."""
        shown: int | None = None
        while True:
            done = finished()
            lines = self.logs(
                job_id,
                namespace=namespace,
                pod_number=pod_number,
                since_time=since_time,
                container=container,
            )
            if shown is None:
                tail = len(lines) if tail_lines is None else max(0, tail_lines)
                shown = max(0, len(lines) - tail)
            elif len(lines) < shown:
                shown = 0
            yield from lines[shown:]
            shown = len(lines)
            if done:
                return
            wait(interval)
