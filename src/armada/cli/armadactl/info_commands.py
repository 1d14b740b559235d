"""Finding out about jobs: ``get job`` (state, runs, errors), ``logs``, and the scheduling
reports that answer "why is my job not scheduled?"."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from google.protobuf import json_format

from armada.cli.armadactl.app import App, pass_app
from armada.cli.armadactl.options import Duration, output_option
from armada.cli.armadactl.output import dump, emit, styled_state, table
from armada.client import NotFound, PermissionDenied, job_state_name
from armada.client.audit import AuditEntry, audit_by_job
from armada.client.usage import RunUsage, usage_by_run

if TYPE_CHECKING:
    from rich.console import Console


def _time(stamp: Any, present: bool) -> str:
    if not present:
        return ""
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _run_state(run: Any) -> str:
    """``FAILED`` for ``RUN_STATE_FAILED``: the words a person reads, as for job states."""
    name = run.DESCRIPTOR.fields_by_name["state"].enum_type.values_by_number[run.state].name
    return str(name).removeprefix("RUN_STATE_")


def _job_data(
    details: Any, error: str, usage: dict[str, RunUsage], audit: list[AuditEntry]
) -> dict[str, Any]:
    data = json_format.MessageToDict(details)
    data["audit"] = [entry.to_dict() for entry in audit]
    data["state"] = job_state_name(details.state)
    for run, run_data in zip(details.job_runs, data.get("jobRuns", []), strict=True):
        run_data["state"] = _run_state(run)
        if run.run_id in usage:
            run_data["usage"] = usage[run.run_id].to_dict()
    if error:
        data["error"] = error
    return data


def _print_job(
    console: Console,
    details: Any,
    error: str,
    usage: dict[str, RunUsage],
    audit: list[AuditEntry],
) -> None:
    state = job_state_name(details.state)
    console.print("Job ", details.job_id, "  ", styled_state(state), sep="")
    fields = [
        ("queue", details.queue),
        ("job set", details.jobset),
        ("namespace", details.namespace),
        ("submitted", _time(details.submitted_ts, details.HasField("submitted_ts"))),
        ("last change", _time(details.last_transition_ts, details.HasField("last_transition_ts"))),
    ]
    if details.HasField("cancel_ts"):
        who = f" by {details.cancel_user}" if details.cancel_user else ""
        why = f": {details.cancel_reason}" if details.cancel_reason else ""
        fields.append(("cancelled", _time(details.cancel_ts, True) + who + why))
    for entry in audit:
        fields.append(
            (f"{entry.action} by", f"{entry.user} at {entry.at}" if entry.at else entry.user)
        )
    if error:
        fields.append(("error", error))
    for name, value in fields:
        console.print(f"  {name + ':':<13}{value}", markup=False)
    for entry in audit:
        when = f" at {entry.at}" if entry.at else ""
        console.print(f"  {entry.action} by {entry.user}{when}", markup=False)
    if details.job_runs:
        rows = [
            [
                run.run_id,
                styled_state(_run_state(run)),
                run.cluster,
                run.node,
                _time(run.leased_ts, run.HasField("leased_ts")),
                _time(run.pending_ts, run.HasField("pending_ts")),
                _time(run.started_ts, run.HasField("started_ts")),
                _time(run.finished_ts, run.HasField("finished_ts")),
            ]
            for run in details.job_runs
        ]
        columns = ("RUN", "STATE", "CLUSTER", "NODE", "LEASED", "PENDING", "STARTED", "FINISHED")
        console.print(table(columns, rows, title="Runs"))
        for run in details.job_runs:
            if run.run_id in usage:
                console.print(f"  usage of {run.run_id}: {usage[run.run_id].describe()}")
    else:
        console.print("  (no runs yet)")


@click.command("job")
@click.argument("job_ids", nargs=-1, required=True)
@output_option
@pass_app
def get_job(app: App, job_ids: tuple[str, ...]) -> None:
    """Show jobs: state, times, runs (cluster, node, timestamps, resource usage) and errors.

    \b
    Example:
      armadactl get job 01hw5d4x3e2c1b0a9z8y7x6w5v
    """
    details = app.client.job_details(list(job_ids), runs=True)
    missing = [job_id for job_id in job_ids if job_id not in details]
    if missing:
        raise NotFound(f"job {missing[0]!r} not found")
    errors = app.client.job_errors(list(job_ids))
    found = [details[job_id] for job_id in job_ids]
    usage, audit = _from_events(app, found)
    data = [_job_data(d, errors.get(d.job_id, ""), usage, audit.get(d.job_id, [])) for d in found]

    def render(console: Console) -> None:
        for number, job in enumerate(found):
            if number:
                console.print()
            _print_job(console, job, errors.get(job.job_id, ""), usage, audit.get(job.job_id, []))

    emit(data if len(data) > 1 else data[0], app.output(), render)


def _from_events(
    app: App, jobs: list[Any]
) -> tuple[dict[str, RunUsage], dict[str, list[AuditEntry]]]:
    """What the jobs' runs used and who acted on the jobs, from their job sets' events (each
    job set read once; one the caller may not watch gives neither)."""
    by_job_set: dict[tuple[str, str], list[str]] = {}
    for job in jobs:
        by_job_set.setdefault((job.queue, job.jobset), []).append(job.job_id)
    usage: dict[str, RunUsage] = {}
    audit: dict[str, list[AuditEntry]] = {}
    for (queue, job_set), job_ids in by_job_set.items():
        try:
            messages = list(app.client.job_set_events(queue, job_set))
        except PermissionDenied:
            continue
        usage.update(usage_by_run(messages, job_ids))
        audit.update(audit_by_job(messages, job_ids))
    return usage, audit


TERMINAL_JOB_STATES = {"SUCCEEDED", "FAILED", "CANCELLED", "PREEMPTED", "REJECTED"}


@click.command()
@click.argument("job_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the job ends.")
@click.option("--namespace", help="The job's namespace (looked up when omitted).")
@click.option("--pod-number", type=int, default=0, show_default=True, help="Pod of the job.")
@click.option("--container", default="", help="Container (default: the pod's only one).")
@click.option("--tail", type=int, help="Only the last N lines.")
@click.option("--since", default="", help="Only lines after this RFC 3339 time.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its timestamp.")
@click.option(
    "--interval", type=Duration(), default="1s", show_default=True, help="Poll period with -f."
)
@click.option("--binoculars-url", help="Binoculars' address, if not the Armada server's.")
@output_option
@pass_app
def logs(
    app: App,
    *,
    job_id: str,
    follow: bool,
    namespace: str | None,
    pod_number: int,
    container: str,
    tail: int | None,
    since: str,
    timestamps: bool,
    interval: float,
    binoculars_url: str | None,
) -> None:
    """Print a job's pod logs (through Binoculars); -f follows them.

    With -o json, one object per line ({"timestamp": ..., "line": ...}); with -o yaml, one list
    item per line.

    \b
    Example:
      armadactl logs 01hw5d4x3e2c1b0a9z8y7x6w5v -f
    """
    if namespace is None:
        details = app.client.job_details([job_id], runs=False)
        if job_id not in details:
            raise NotFound(f"job {job_id!r} not found")
        namespace = details[job_id].namespace
    binoculars = app.binoculars(binoculars_url)

    fmt = app.output()

    def show(timestamp: str, line: str) -> None:
        if fmt == "json":
            click.echo(json.dumps({"timestamp": timestamp, "line": line}))
        elif fmt == "yaml":
            click.echo(dump([{"timestamp": timestamp, "line": line}], "yaml"))
        else:
            click.echo(f"{timestamp} {line}" if timestamps else line)

    if not follow:
        for entry in binoculars.logs(
            job_id,
            namespace=namespace,
            pod_number=pod_number,
            since_time=since,
            container=container,
            tail_lines=tail,
        ):
            show(entry.timestamp, entry.line)
        return

    def finished() -> bool:
        state = app.client.job_status([job_id]).get(job_id, "UNKNOWN")
        return state in TERMINAL_JOB_STATES

    pause = threading.Event()
    for entry in binoculars.follow(
        job_id,
        namespace=namespace,
        finished=finished,
        wait=pause.wait,
        interval=interval,
        pod_number=pod_number,
        container=container,
        tail_lines=tail,
        since_time=since,
    ):
        show(entry.timestamp, entry.line)


def _print_report(app: App, report: str) -> None:
    emit({"report": report}, app.output(), lambda console: console.print(report, markup=False))


@click.command("scheduling-report")
@click.option("-v", "--verbose", count=True, help="More detail; repeat for even more (-vv).")
@click.option("--queue", default="", help="Only as it concerned this queue.")
@click.option("--job-id", "--jobId", "job_id", default="", help="Only as it concerned this job.")
@output_option
@pass_app
def get_scheduling_report(app: App, verbose: int, queue: str, job_id: str) -> None:
    """The latest scheduling round of every pool: what was scheduled, preempted, and why not.

    \b
    Example:
      armadactl get scheduling-report -vv --queue team-a
    """
    if queue and job_id:
        raise click.UsageError("give --queue or --job-id, not both")
    report = app.reports().scheduling_report(queue=queue, job_id=job_id, verbosity=verbose)
    _print_report(app, report)


@click.command("queue-report")
@click.argument("queue", required=False)
@click.option("--queue", "queue_flag", default="", help="The queue (instead of the argument).")
@click.option("-v", "--verbose", count=True, help="More detail; repeat for even more.")
@output_option
@pass_app
def get_queue_report(app: App, queue: str | None, queue_flag: str, verbose: int) -> None:
    """How the latest scheduling round treated one queue.

    \b
    Example:
      armadactl get queue-report team-a -v
    """
    name = (queue or queue_flag).strip()
    if not name:
        raise click.UsageError("give the queue name")
    _print_report(app, app.reports().queue_report(name, verbose))


@click.command("job-report")
@click.argument("job_id", required=False)
@click.option(
    "--job-id", "--jobId", "job_flag", default="", help="The job (instead of the argument)."
)
@output_option
@pass_app
def get_job_report(app: App, job_id: str | None, job_flag: str) -> None:
    """Why one job was or was not scheduled (or was preempted).

    \b
    Example:
      armadactl get job-report 01hw5d4x3e2c1b0a9z8y7x6w5v
    """
    name = (job_id or job_flag).strip()
    if not name:
        raise click.UsageError("give the job id")
    _print_report(app, app.reports().job_report(name))
