"""How ``armadactl watch`` shows a job set's events.

* :class:`LiveView` (a terminal): a two-line summary (jobs per state, latest event) rewritten in
  place as events arrive; failures and other notable events are printed above it for good.
* :class:`SummaryLines` (output piped): one summary line per event, as Armada's watch prints.
* :class:`RawLines` (``--raw``): one line per event, ``<time> <type> <job id> <details>``, or one
  JSON object per line with ``-o json``.
"""

from __future__ import annotations

import json
from typing import Protocol

import click
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from armada.client import JobSetEvent, JobSetState
from armada.client.watching import STATES

NOTABLE = {"failed", "lease_returned", "lease_expired", "preempted"}
_STATE_STYLES = {
    "Queued": "cyan",
    "Leased": "blue",
    "Pending": "blue",
    "Running": "bold blue",
    "Succeeded": "green",
    "Failed": "bold red",
    "Cancelled": "yellow",
    "Preempted": "magenta",
}


class WatchView(Protocol):
    def start(self, queue: str, job_set: str) -> None: ...
    def event(self, event: JobSetEvent, state: JobSetState) -> None: ...
    def notice(self, message: str) -> None: ...
    def refresh(self, state: JobSetState) -> None: ...
    def close(self) -> None: ...


def armada_time(event: JobSetEvent) -> str:
    """Go's ``time.Stamp`` layout (``Jan  2 15:04:05``), as Armada's watch prints times."""
    if event.created is None:
        return "-"
    moment = event.created.astimezone()
    return f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S}"


class _Lines:
    """Views that only append lines: nothing to redraw."""

    def notice(self, message: str) -> None:
        click.echo(message, err=True)

    def refresh(self, state: JobSetState) -> None:
        pass

    def close(self) -> None:
        pass


class RawLines(_Lines):
    def __init__(self, json_lines: bool) -> None:
        self.json_lines = json_lines

    def start(self, queue: str, job_set: str) -> None:
        click.echo(f"Watching job set {job_set}", err=self.json_lines)

    def event(self, event: JobSetEvent, state: JobSetState) -> None:
        if self.json_lines:
            click.echo(json.dumps(event.to_dict(), default=str))
        else:
            click.echo(event.line())


class SummaryLines(_Lines):
    """Armada's watch output: ``<time> | <counts> | <event type>, job id: <id>``."""

    def start(self, queue: str, job_set: str) -> None:
        click.echo(f"Watching job set {job_set}")

    def event(self, event: JobSetEvent, state: JobSetState) -> None:
        if event.kind == "utilisation":
            return
        kind = f"Job{event.title}Event"
        click.echo(f"{armada_time(event)} | {state.summary()} | {kind}, job id: {event.job_id}")
        if event.kind == "failed":
            click.echo(f"Job failed: {event.event.reason}")


class LiveView:
    """The summary rewritten in place on a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.latest: JobSetEvent | None = None
        self.live = Live(
            console=console,
            auto_refresh=False,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def start(self, queue: str, job_set: str) -> None:
        self.console.print(f"Watching job set {job_set} of queue {queue}", markup=False)
        self.live.start()
        self.live.update(self.render(JobSetState()), refresh=True)

    def event(self, event: JobSetEvent, state: JobSetState) -> None:
        self.latest = event
        if event.kind in NOTABLE:
            self.live.console.print(Text(event.line(), style=_STATE_STYLES["Failed"]))

    def notice(self, message: str) -> None:
        self.live.console.print(Text(message, style="yellow"))

    def render(self, state: JobSetState) -> Group:
        counts = Text()
        for number, name in enumerate(STATES):
            if number:
                counts.append("  ")
            count = state.counts[name]
            counts.append(f"{name}: ", style="dim" if not count else "")
            counts.append(f"{count}", style=_STATE_STYLES[name] if count else "dim")
        counts.append(f"  (jobs: {len(state.jobs)})", style="dim")
        latest = Text("latest: ", style="dim")
        if self.latest is None:
            latest.append("waiting for events...", style="dim")
        else:
            latest.append(self.latest.line())
        latest.truncate(max(self.console.width - 1, 20), overflow="ellipsis")
        counts.truncate(max(self.console.width - 1, 20), overflow="ellipsis")
        return Group(counts, latest)

    def refresh(self, state: JobSetState) -> None:
        self.live.update(self.render(state), refresh=True)

    def close(self) -> None:
        self.live.stop()
