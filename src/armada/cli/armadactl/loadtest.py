"""``armadactl loadtest``: Armada's load tester. Submits N jobs across Q queues and J job sets
per queue at a given rate, creating missing queues; reports the submission throughput and,
with ``--watch``, how long until every job finished (watching every job set).
"""

from __future__ import annotations

import queue as queues
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click
from armada_client.armada import submit_pb2
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core
from armada_client.k8s.io.apimachinery.pkg.api.resource import generated_pb2 as resource

from armada.cli.armadactl.app import EXIT_REFUSED, App, pass_app
from armada.cli.armadactl.options import Duration, output_option
from armada.cli.armadactl.output import dump
from armada.client import Client, ClientError, JobSetFollower, JobSetState, load_job_file


def sleep_job(seconds: float) -> Any:
    """The built-in job: a small container that sleeps (the simulated executor honours it)."""
    size = {"cpu": resource.Quantity(string="100m"), "memory": resource.Quantity(string="64Mi")}
    container = core.Container(
        name="sleep",
        image="busybox:latest",
        args=["sleep", f"{seconds:g}s"],
        resources=core.ResourceRequirements(requests=size, limits=size),
    )
    spec = core.PodSpec(restartPolicy="Never", containers=[container])
    return submit_pb2.JobSubmitRequestItem(priority=0, namespace="default", pod_spec=spec)


@dataclass
class Plan:
    jobs: int
    streams: list[tuple[str, str]]
    """(queue, job set) pairs; job number k goes to stream k mod len(streams)."""
    templates: list[Any]
    batch_size: int
    rate: float
    """Jobs per second; 0 for as fast as the server takes them."""

    def batches(self) -> list[tuple[str, str, list[Any]]]:
        """Batches in submission order: round-robin over the streams."""
        per_stream = [
            self.jobs // len(self.streams) + (1 if i < self.jobs % len(self.streams) else 0)
            for i in range(len(self.streams))
        ]
        result: list[tuple[str, str, list[Any]]] = []
        taken = [0] * len(self.streams)
        number = 0
        while any(t < n for t, n in zip(taken, per_stream, strict=True)):
            for i, (queue, job_set) in enumerate(self.streams):
                size = min(self.batch_size, per_stream[i] - taken[i])
                if size <= 0:
                    continue
                items = [self.templates[(number + k) % len(self.templates)] for k in range(size)]
                number += size
                taken[i] += size
                result.append((queue, job_set, items))
        return result


@dataclass
class Outcome:
    submitted: int = 0
    submit_seconds: float = 0.0
    finished_seconds: float | None = None
    states: Counter[str] = field(default_factory=Counter)


def submit_plan(
    submit: Callable[[str, str, list[Any]], object],
    plan: Plan,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int], None] = lambda n: None,
) -> Outcome:
    """Submit every batch with ``submit(queue, job_set, items)``, never faster than
    ``plan.rate`` on average."""
    outcome = Outcome()
    start = clock()
    for queue, job_set, items in plan.batches():
        if plan.rate > 0:
            due = start + outcome.submitted / plan.rate
            if due > clock():
                sleep(due - clock())
        submit(queue, job_set, items)
        outcome.submitted += len(items)
        progress(outcome.submitted)
    outcome.submit_seconds = clock() - start
    return outcome


class Watcher:
    """Follows every job set of the test on threads and counts finished jobs."""

    def __init__(self, client: Client, streams: list[tuple[str, str]]) -> None:
        self.inbox: queues.Queue[Any] = queues.Queue()
        self.followers = [JobSetFollower(client, q, s) for q, s in streams]
        self.state = JobSetState()
        self.readers: list[threading.Thread] = []

    def start(self) -> None:
        for follower in self.followers:
            reader = threading.Thread(target=self._pump, args=(follower,), daemon=True)
            reader.start()
            self.readers.append(reader)

    def _pump(self, follower: JobSetFollower) -> None:
        try:
            for event in follower:
                self.inbox.put(event)
        except ClientError as exc:
            self.inbox.put(exc)

    def wait(self, jobs: int, deadline: float, clock: Callable[[], float]) -> bool:
        """Until ``jobs`` jobs are seen and all finished (True), or the deadline (False)."""
        while clock() < deadline:
            try:
                item = self.inbox.get(timeout=min(0.2, max(deadline - clock(), 0.001)))
            except queues.Empty:
                continue
            if isinstance(item, ClientError):
                raise item
            self.state.apply(item)
            if len(self.state.jobs) >= jobs and self.state.finished:
                return True
        return False

    def stop(self) -> None:
        """Cancel every stream and wait for the readers to leave the channel (it is closed
        next; a call made on a closing channel from another thread can crash the process)."""
        for follower in self.followers:
            follower.cancel()
        for reader in self.readers:
            reader.join(timeout=5)


def _create_missing_queues(client: Client, names: list[str], factor: float) -> list[str]:
    existing = {q.name for q in client.get_queues()}
    created = [name for name in names if name not in existing]
    for name in created:
        client.create_queue(submit_pb2.Queue(name=name, priority_factor=factor))
    return created


def _setting(*names: str, kind: Any, default: Any, help: str) -> Callable[[Any], Any]:
    return click.option(*names, type=kind, default=default, show_default=True, help=help)


@click.command()
@_setting("--jobs", kind=click.IntRange(min=1), default=100, help="Jobs to submit.")
@_setting(
    "--queues",
    "queue_count",
    kind=click.IntRange(min=1),
    default=1,
    help="Queues to spread them over.",
)
@_setting("--job-sets", kind=click.IntRange(min=1), default=1, help="Job sets in each queue.")
@_setting(
    "--rate",
    kind=click.FloatRange(min=0),
    default=0,
    help="Jobs per second; 0: as fast as possible.",
)
@_setting("--batch-size", kind=click.IntRange(min=1), default=100, help="Jobs per request.")
@click.option(
    "--template",
    type=click.Path(dir_okay=False),
    help="A job file whose jobs are used in turn (queue and jobSetId not needed).",
)
@_setting("--sleep", kind=Duration(), default="10s", help="How long the built-in job sleeps.")
@_setting(
    "--queue-prefix", kind=str, default="loadtest-", help="Queues are <prefix>0, <prefix>1, ..."
)
@click.option("--job-set-prefix", help="Job sets are <prefix>0, ... [default: loadtest-<time>-]")
@click.option(
    "--watch", is_flag=True, help="Watch every job set and report when all jobs finished."
)
@_setting("--timeout", kind=Duration(), default="10m", help="With --watch, give up after this.")
@output_option
@pass_app
def loadtest(
    app: App,
    *,
    jobs: int,
    queue_count: int,
    job_sets: int,
    rate: float,
    batch_size: int,
    template: str | None,
    sleep: float,
    queue_prefix: str,
    job_set_prefix: str | None,
    watch: bool,
    timeout: float,
) -> None:
    """Submit many jobs and measure: Armada's load tester.

    \b
    Example:
      armadactl loadtest --jobs 10000 --queues 4 --job-sets 2 --rate 2000 --watch
    """
    templates = (
        load_job_file(template, require_target=False).items if template else [sleep_job(sleep)]
    )
    prefix = job_set_prefix or f"loadtest-{time.strftime('%Y%m%d-%H%M%S')}-"
    queue_names = [f"{queue_prefix}{i}" for i in range(queue_count)]
    streams = [(q, f"{prefix}{j}") for q in queue_names for j in range(job_sets)]
    created = _create_missing_queues(app.client, queue_names, 1.0)
    plan = Plan(jobs=jobs, streams=streams, templates=templates, batch_size=batch_size, rate=rate)
    watcher = Watcher(app.client, streams) if watch else None
    if watcher:
        watcher.start()
    try:
        started = time.monotonic()
        client = app.client
        outcome = submit_plan(
            lambda q, s, items: client.submit_jobs(q, s, items, batch_size=batch_size), plan
        )
        finished = True
        if watcher:
            finished = watcher.wait(jobs, time.monotonic() + timeout, time.monotonic)
            outcome.states = +watcher.state.counts
            if finished:
                outcome.finished_seconds = time.monotonic() - started
    finally:
        if watcher:
            watcher.stop()
    _report(app, plan=plan, outcome=outcome, created=created, watch=watch, finished=finished)
    if not finished:
        raise click.exceptions.Exit(EXIT_REFUSED)


def _report(
    app: App, *, plan: Plan, outcome: Outcome, created: list[str], watch: bool, finished: bool
) -> None:
    speed = outcome.submitted / outcome.submit_seconds if outcome.submit_seconds else 0.0
    queues_used = len({q for q, _ in plan.streams})
    data: dict[str, Any] = {
        "jobs": outcome.submitted,
        "queues": queues_used,
        "jobSets": len(plan.streams),
        "queuesCreated": created,
        "submitSeconds": round(outcome.submit_seconds, 3),
        "jobsPerSecond": round(speed, 1),
    }
    if watch:
        data["allFinished"] = finished
        data["finishedSeconds"] = (
            None if outcome.finished_seconds is None else round(outcome.finished_seconds, 3)
        )
        data["states"] = dict(outcome.states)
    fmt = app.output()
    if fmt != "table":
        click.echo(dump(data, fmt))
        return
    if created:
        click.echo(f"Created queues {', '.join(created)}")
    click.echo(
        f"Submitted {outcome.submitted} jobs to {queues_used} queue(s), {len(plan.streams)} "
        f"job set(s) in {outcome.submit_seconds:.2f}s: {speed:.0f} jobs/s"
    )
    if watch:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(outcome.states.items()))
        if finished and outcome.finished_seconds is not None:
            click.echo(
                f"All {outcome.submitted} jobs finished {outcome.finished_seconds:.2f}s after "
                f"the first submission: {counts}"
            )
        else:
            click.echo(f"Not every job finished before the timeout: {counts}")
