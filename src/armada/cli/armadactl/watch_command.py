"""``armadactl watch``: follow a job set's events until interrupted (or until every job has
finished, with ``--exit-if-inactive``), surviving server restarts."""

from __future__ import annotations

import queue as queues
import threading
import time
from typing import TYPE_CHECKING, Any

import click

from armada.cli.armadactl.app import App, pass_app
from armada.cli.armadactl.options import output_option
from armada.cli.armadactl.output import make_console
from armada.client import ClientError, JobSetEvent, JobSetFollower, JobSetState

if TYPE_CHECKING:
    from armada.cli.armadactl.watch_views import WatchView

REFRESH_SECONDS = 0.1
"""The live summary is redrawn at most this often (a backlog of events arrives much faster)."""
_END = object()


def _choose_view(app: App, raw: bool) -> WatchView:
    from armada.cli.armadactl.watch_views import LiveView, RawLines, SummaryLines

    if raw:
        return RawLines(json_lines=app.output() == "json")
    console = make_console()
    if console.is_terminal:
        return LiveView(console)
    return SummaryLines()


def _pump(follower: JobSetFollower, inbox: queues.Queue[Any]) -> None:
    """Read the stream on a thread, so that the screen can be redrawn while it is quiet."""
    try:
        for event in follower:
            inbox.put(event)
    except ClientError as exc:
        inbox.put(exc)
    finally:
        inbox.put(_END)


def follow_events(
    follower: JobSetFollower, view: WatchView, state: JobSetState, exit_if_inactive: bool
) -> None:
    inbox: queues.Queue[Any] = queues.Queue()
    reader = threading.Thread(target=_pump, args=(follower, inbox), daemon=True, name="watch")
    last_draw = 0.0
    dirty = False
    try:
        reader.start()  # inside the try: a Ctrl-C right after it must still stop the reader
        while True:
            try:
                item = inbox.get(timeout=REFRESH_SECONDS)
            except queues.Empty:
                if dirty:
                    view.refresh(state)
                    dirty, last_draw = False, time.monotonic()
                continue
            if item is _END:
                break
            if isinstance(item, ClientError):
                raise item
            event: JobSetEvent = item
            state.apply(event)
            view.event(event, state)
            dirty = True
            if time.monotonic() - last_draw >= REFRESH_SECONDS:
                view.refresh(state)
                dirty, last_draw = False, time.monotonic()
            if exit_if_inactive and state.finished:
                break
    finally:
        follower.cancel()
        # The channel is closed once this returns: the reader must be off it by then (a call
        # made on a closing channel from another thread can crash the process).
        if reader.ident is not None:
            reader.join(timeout=5)
        if dirty:
            view.refresh(state)


@click.command()
@click.argument("queue")
@click.argument("job_set")
@click.option("--raw", is_flag=True, help="One line per event: <time> <type> <job id> <details>.")
@click.option("--exit-if-inactive", is_flag=True, help="Exit once every job seen has finished.")
@click.option("--from-message-id", default="", help="Start after this event's message id.")
@click.option("--force-new-events", is_flag=True, hidden=True)
@click.option("--force-legacy-events", is_flag=True, hidden=True)
@output_option
@pass_app
def watch(
    app: App,
    *,
    queue: str,
    job_set: str,
    raw: bool,
    exit_if_inactive: bool,
    from_message_id: str,
    force_new_events: bool,
    force_legacy_events: bool,
) -> None:
    """Watch a job set's events: jobs per state, live (or every event with --raw).

    The summary counts jobs as Queued, Leased, Pending, Running, Succeeded, Failed, Cancelled
    and Preempted. If the connection drops, watch reconnects and resumes after the last event
    it showed. --force-new-events and --force-legacy-events are accepted and ignored.

    \b
    Example:
      armadactl watch my-queue my-job-set --exit-if-inactive
    """
    app.client.get_queue(queue)  # an unknown queue or an unreachable server fails here, at once
    view = _choose_view(app, raw)

    def reconnecting(error: ClientError, delay: float) -> None:
        view.notice(f"{error.message}; reconnecting in {delay:g}s")

    follower = JobSetFollower(
        app.client,
        queue,
        job_set,
        from_message_id=from_message_id,
        on_reconnecting=reconnecting,
    )
    view.start(queue, job_set)
    try:
        follow_events(follower, view, JobSetState(), exit_if_inactive)
    finally:
        view.close()
