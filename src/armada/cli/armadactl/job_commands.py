"""Acting on jobs: submit, cancel, reprioritize, preempt (jobs, job sets, whole queues)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from armada.cli.armadactl.app import EXIT_REFUSED, App, CommandFailed, pass_app
from armada.cli.armadactl.options import (
    chosen_priority_classes,
    flatten,
    list_option,
    output_option,
    priority_class_options,
    queue_query,
    queue_selection_options,
)
from armada.cli.armadactl.output import done, dump, emit
from armada.client import (
    NotFound,
    PartialSubmission,
    PermissionDenied,
    load_job_file,
)

F = TypeVar("F", bound=Callable[..., Any])


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--dry-run", is_flag=True, help="Check the file and print what would be submitted.")
@output_option
@pass_app
def submit(app: App, file: str, dry_run: bool) -> None:
    """Submit the jobs of a job file (YAML: queue, jobSetId, jobs).

    Each job is an Armada JobSubmitRequestItem: priority, namespace (default: default),
    clientId, labels, annotations, podSpec or podSpecs, ingress, services, scheduler.
    Prints the id of every job submitted.

    \b
    Example:
      armadactl submit jobs.yaml
    """
    jobs = load_job_file(file)
    if dry_run:
        fmt = app.output("yaml")
        if fmt == "table":
            fmt = "yaml"
        header = f"# {len(jobs.items)} job(s) for queue {jobs.queue}, job set {jobs.job_set_id}"
        if fmt == "yaml":
            click.echo(f"{header} (dry run: nothing submitted)")
        click.echo(dump(jobs.to_document(), fmt))
        return
    try:
        ids = app.client.submit_jobs(jobs.queue, jobs.job_set_id, jobs.items)
    except PartialSubmission as exc:
        _print_submitted(app, exc.submitted, jobs.job_set_id, jobs.queue)
        raise exc.cause from None
    except PermissionDenied:
        _check_queue_exists(app, jobs.queue)
        raise
    _print_submitted(app, ids, jobs.job_set_id, jobs.queue)


def _print_submitted(app: App, ids: list[str], job_set: str, queue: str) -> None:
    fmt = app.output()
    if fmt != "table":
        data = [{"jobId": i, "jobSetId": job_set, "queue": queue} for i in ids]
        click.echo(dump(data, fmt))
        return
    if ids:  # one write: ten thousand echoes (each flushed) cost a tenth of a second or more
        click.echo("\n".join(f"Submitted job with id {i} to job set {job_set}" for i in ids))


def _check_queue_exists(app: App, queue: str) -> None:
    try:
        app.client.get_queue(queue)
    except NotFound:
        raise CommandFailed(
            f"queue {queue!r} does not exist (create it with: armadactl create queue {queue})"
        ) from None


@click.group()
def cancel() -> None:
    """Cancel jobs: one or more jobs, a job set, or the jobs of whole queues."""


@cancel.command("job")
@click.argument("queue")
@click.argument("job_set")
@click.argument("job_ids", nargs=-1, required=True)
@click.option("--reason", default="", help="Why, recorded with the cancellation.")
@output_option
@pass_app
def cancel_job(app: App, queue: str, job_set: str, job_ids: tuple[str, ...], reason: str) -> None:
    """Cancel jobs of a job set by id.

    \b
    Example:
      armadactl cancel job my-queue my-job-set 01hw5d4x3e2c1b0a9z8y7x6w5v
    """
    ids = ", ".join(job_ids)
    if app.output() == "table":
        click.echo(
            f"Requesting cancellation of jobs matching queue: {queue}, job set: {job_set}, "
            f"and job ID: {ids}"
        )
    cancelled = app.client.cancel_jobs(queue, job_set, job_ids, reason)
    unmatched = [job_id for job_id in dict.fromkeys(job_ids) if job_id not in cancelled]
    if not cancelled:
        if app.output() != "table":
            click.echo(dump({"cancelledIds": cancelled}, app.output()))
        raise CommandFailed(_nothing_matched(unmatched, queue, job_set))
    emit(
        {"cancelledIds": cancelled},
        app.output(),
        lambda console: console.print(
            f"Requested cancellation for jobs {', '.join(cancelled)}"
            + (f"\n{_nothing_matched(unmatched, queue, job_set)}" if unmatched else "")
        ),
    )


def _nothing_matched(job_ids: list[str], queue: str, job_set: str) -> str:
    which = "job " if len(job_ids) == 1 else "jobs "
    return (
        f"nothing matched {which}{', '.join(job_ids)}: no such active job in job set "
        f"{job_set} of queue {queue} (unknown id, another job set, or already finished)"
    )


JOB_SET_STATES = click.Choice(["queued", "pending", "running"], case_sensitive=False)


@cancel.command("job-set")
@click.argument("queue")
@click.argument("job_set")
@click.option(
    "-s",
    "--job-states",
    type=JOB_SET_STATES,
    multiple=True,
    help="Cancel only jobs in these states (pending and running go together). Repeatable.",
)
@click.option("--reason", default="", help="Why, recorded with the cancellation.")
@output_option
@pass_app
def cancel_job_set(
    app: App, queue: str, job_set: str, job_states: tuple[str, ...], reason: str
) -> None:
    """Cancel every job of a job set (or those in the given states).

    \b
    Example:
      armadactl cancel job-set my-queue my-job-set --job-states queued
    """
    app.client.cancel_job_set(queue, job_set, job_states, reason)
    states = [state.lower() for state in job_states]
    which = f"{'/'.join(states)} jobs" if job_states else "jobs"
    done(
        {"queue": queue, "jobSetId": job_set, "jobStates": states, "cancelRequested": True},
        app.output(),
        f"Requested cancellation of {which} in job set {job_set} of queue {queue}",
    )


QUEUE_JOB_STATES = click.Choice(["queued", "leased", "pending", "running"], case_sensitive=False)


def _selected_queue_names(
    app: App, names: tuple[str, ...], labels: tuple[str, ...], inverse: bool, only_cordoned: bool
) -> list[str]:
    if not names and not labels:
        raise click.UsageError("give queue names or -l/--selector labels to choose queues")
    query = queue_query(names, labels, inverse, only_cordoned)
    queues = app.client.get_queues()
    known = {q.name for q in queues}
    missing = [n for n in names if n not in known]
    if missing:
        raise NotFound(f"queue {missing[0]!r} does not exist")
    return [q.name for q in query.select(queues)]


def queue_action_options(verb: str) -> Callable[[F], F]:
    """What cancel queues and preempt queues share: priority classes, pools, queue selection
    (names or -l labels, --inverse, --only-cordoned) and --dry-run."""

    def decorate(function: F) -> F:
        for option in reversed(
            [
                priority_class_options(verb),
                list_option("--pools", help=f"{verb} only jobs in these pools."),
                queue_selection_options(selector_names=("-l", "--selector", "--selectors")),
                click.option(
                    "--dry-run",
                    is_flag=True,
                    help="Show which queues would be affected; change nothing.",
                ),
                output_option,
            ]
        ):
            function = option(function)
        return function

    return decorate


def _act_on_queues(
    app: App,
    verb: str,
    names: tuple[str, ...],
    selection: dict[str, Any],
    act: Callable[[str, list[str], list[str]], None],
    *,
    result: dict[str, Any],
) -> None:
    """Choose queues (the flags of :func:`queue_action_options`) and ``act(queue, priority
    classes, pools)`` on each, printing its name once done (only list them with --dry-run).
    With -o json|yaml, print ``result`` with the queues and the filters at the end instead."""
    classes = chosen_priority_classes(
        selection["priority_classes"], selection["all_priority_classes"]
    )
    selected = _selected_queue_names(
        app, names, selection["labels"], selection["inverse"], selection["only_cordoned"]
    )
    pools, dry_run = flatten(selection["pools"]), selection["dry_run"]
    people = app.output() == "table"
    if people:
        click.echo(f"{verb} the following queues:{' (DRY RUN)' if dry_run else ''}")
    for name in selected:
        if not dry_run:
            act(name, classes, pools)
        if people:
            click.echo(name)
    if not people:
        data = {"queues": selected, **result, "priorityClasses": classes, "pools": pools}
        click.echo(dump({**data, "dryRun": dry_run}, app.output()))


@cancel.command("queues")
@click.argument("queues", nargs=-1)
@list_option(
    "-s",
    "--job-states",
    required=True,
    help="Cancel jobs in these states: queued, leased, pending, running.",
)
@queue_action_options("Cancel")
@pass_app
def cancel_queues(
    app: App, *, queues: tuple[str, ...], job_states: tuple[str, ...], **selection: Any
) -> None:
    """Cancel the jobs of whole queues, chosen by name or by labels.

    \b
    Example:
      armadactl cancel queues team-a team-b -s queued,running -a
    """
    states = flatten(job_states)
    unknown = [s for s in states if s.lower() not in QUEUE_JOB_STATES.choices]
    if unknown:
        choices = ", ".join(QUEUE_JOB_STATES.choices)
        raise click.BadParameter(f"{unknown[0]!r} is not one of {choices}", param_hint="-s")
    _act_on_queues(
        app,
        "Cancelling jobs on",
        queues,
        selection,
        lambda name, classes, pools: app.client.cancel_on_queue(
            name, job_states=states, priority_classes=classes, pools=pools
        ),
        result={"jobStates": [state.lower() for state in states]},
    )


@click.group()
def reprioritize() -> None:
    """Change the priority of jobs (lower values are scheduled first within a queue)."""


def _print_results(app: App, results: dict[str, str], done: str, not_done: str) -> int:
    failed = {k: v for k, v in results.items() if v}
    fmt = app.output()
    if fmt != "table":
        click.echo(dump({"results": results}, fmt))
    else:
        for job_id, why in sorted(results.items()):
            click.echo(f"{not_done} {job_id}: {why}" if why else f"{done} {job_id}")
    return len(failed)


@reprioritize.command("job")
@click.argument("queue")
@click.argument("job_set")
@click.argument("job_id")
@click.argument("priority", type=float)
@output_option
@pass_app
def reprioritize_job(app: App, queue: str, job_set: str, job_id: str, priority: float) -> None:
    """Set a new priority for one job.

    \b
    Example:
      armadactl reprioritize job my-queue my-job-set 01hw5d4x3e2c1b0a9z8y7x6w5v 2
    """
    results = app.client.reprioritize_jobs(queue, job_set, priority, [job_id])
    if _print_results(app, results, f"Reprioritized to {priority:g}:", "Not reprioritized"):
        raise click.exceptions.Exit(EXIT_REFUSED)


@reprioritize.command("job-set")
@click.argument("queue")
@click.argument("job_set")
@click.argument("priority", type=float)
@output_option
@pass_app
def reprioritize_job_set(app: App, queue: str, job_set: str, priority: float) -> None:
    """Set a new priority for every job of a job set.

    \b
    Example:
      armadactl reprioritize job-set my-queue my-job-set 2
    """
    results = app.client.reprioritize_jobs(queue, job_set, priority)
    if app.output() != "table":
        click.echo(dump({"results": results}, app.output()))
    if not results:
        raise CommandFailed(
            f"nothing matched: job set {job_set} of queue {queue} has no active job"
        )
    if app.output() != "table":
        return
    changed = sum(1 for why in results.values() if not why)
    click.echo(f"Reprioritized {changed} job(s) of job set {job_set} to priority {priority:g}")
    for job_id, why in sorted(results.items()):
        if why:
            click.echo(f"Not reprioritized {job_id}: {why}")


@click.group()
def preempt() -> None:
    """Preempt running jobs: the scheduler stops them and frees their resources."""


@preempt.command("job")
@click.argument("queue")
@click.argument("job_set")
@click.argument("job_id")
@click.argument("reason", required=False, default="")
@output_option
@pass_app
def preempt_job(app: App, queue: str, job_set: str, job_id: str, reason: str) -> None:
    """Ask the scheduler to preempt a running job.

    \b
    Example:
      armadactl preempt job my-queue my-job-set 01hw5d4x3e2c1b0a9z8y7x6w5v "node maintenance"
    """
    results = app.client.preempt_jobs(queue, job_set, [job_id], reason)
    if _print_results(app, results, "Requested preemption of job", "Not preempted"):
        raise click.exceptions.Exit(EXIT_REFUSED)


@preempt.command("queues")
@click.argument("queues", nargs=-1)
@queue_action_options("Preempt")
@pass_app
def preempt_queues(app: App, *, queues: tuple[str, ...], **selection: Any) -> None:
    """Preempt the running jobs of whole queues, chosen by name or by labels.

    \b
    Example:
      armadactl preempt queues team-a -p armada-preemptible
    """
    _act_on_queues(
        app,
        "Preempting jobs on",
        queues,
        selection,
        lambda name, classes, pools: app.client.preempt_on_queue(
            name, priority_classes=classes, pools=pools
        ),
        result={},
    )
