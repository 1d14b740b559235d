"""Queues and retry policies: create, update, delete, get, cordon; ``create -f`` documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from armada_client.armada import submit_pb2

from armada.cli.armadactl.app import App, pass_app
from armada.cli.armadactl.options import (
    flatten,
    labels_from,
    list_option,
    output_option,
    queue_query,
    queue_selection_options,
)
from armada.cli.armadactl.output import done, dump, emit, table
from armada.client import (
    QUEUE,
    RETRY_POLICY,
    load_resources,
    resource_document,
)

if TYPE_CHECKING:
    from rich.console import Console


def queue_flags(*, creating: bool) -> Callable[[Any], Any]:
    """The queue settings flags shared by ``create queue`` and ``update queue``."""

    def decorate(function: Any) -> Any:
        keep = "" if creating else " Omitted: unchanged."
        options = [
            click.option(
                "--priority-factor",
                "--priorityFactor",
                "priority_factor",
                type=float,
                default=1.0 if creating else None,
                show_default=creating,
                help="Weight is 1/factor: a lower factor gives the queue a bigger share. "
                "Must be > 0." + keep,
            ),
            list_option("--owners", help="Users who own the queue." + keep),
            list_option(
                "--group-owners",
                "--groupOwners",
                "group_owners",
                help="Groups who own the queue." + keep,
            ),
            list_option("-l", "--labels", help="Queue labels, key=value." + keep),
            list_option("--retry-policies", help="Retry policy names, in precedence order." + keep),
        ]
        if creating:
            options.append(
                click.option("--cordon", is_flag=True, help="Create the queue cordoned.")
            )
        else:
            options.append(
                click.option(
                    "--cordon/--uncordon",
                    default=None,
                    help="Cordon or uncordon the queue." + keep,
                )
            )
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _apply_flags(queue: Any, values: dict[str, Any]) -> None:
    if values.get("priority_factor") is not None:
        queue.priority_factor = values["priority_factor"]
    for flag, field in (("owners", "user_owners"), ("group_owners", "group_owners")):
        if values.get(flag):
            del getattr(queue, field)[:]
            getattr(queue, field).extend(flatten(values[flag]))
    if values.get("labels"):
        queue.labels.clear()
        queue.labels.update(labels_from(values["labels"], "--labels"))
    if values.get("retry_policies"):
        del queue.retry_policies[:]
        queue.retry_policies.extend(flatten(values["retry_policies"]))
    if values.get("cordon") is not None:
        queue.cordoned = values["cordon"]


@click.command("queue")
@click.argument("name")
@queue_flags(creating=True)
@output_option
@pass_app
def create_queue(app: App, name: str, **flags: Any) -> None:
    """Create a queue. Every job is submitted to a queue; queues share the farm fairly.

    \b
    Example:
      armadactl create queue team-a --priority-factor 2 --owners alice -l team=a
    """
    queue = submit_pb2.Queue(name=name)
    _apply_flags(queue, flags)
    app.client.create_queue(queue)
    done({"queue": name, "created": True}, app.output(), f"Created queue {name}")


@click.command("queue")
@click.argument("name")
@queue_flags(creating=False)
@output_option
@pass_app
def update_queue(app: App, name: str, **flags: Any) -> None:
    """Update a queue's settings; settings not given keep their value.

    \b
    Example:
      armadactl update queue team-a --priority-factor 3
    """
    queue = app.client.get_queue(name)
    _apply_flags(queue, flags)
    app.client.update_queue(queue)
    done({"queue": name, "updated": True}, app.output(), f"Updated queue {name}")


@click.command("queue")
@click.argument("name")
@output_option
@pass_app
def delete_queue(app: App, name: str) -> None:
    """Delete a queue (it must have no queued or running jobs).

    \b
    Example:
      armadactl delete queue team-a
    """
    app.client.delete_queue(name)
    done({"queue": name, "deleted": True}, app.output(), f"Deleted queue {name}")


def _queue_row(queue: Any) -> list[Any]:
    labels = ",".join(f"{k}={v}" for k, v in sorted(queue.labels.items()))
    owners = ",".join([*queue.user_owners, *(f"group:{g}" for g in queue.group_owners)])
    return [
        queue.name,
        queue.priority_factor,
        "yes" if queue.cordoned else "no",
        labels,
        owners,
        ",".join(queue.retry_policies),
    ]


QUEUE_COLUMNS = ("NAME", "PRIORITY FACTOR", "CORDONED", "LABELS", "OWNERS", "RETRY POLICIES")


@click.command("queue")
@click.argument("name")
@output_option
@pass_app
def get_queue(app: App, name: str) -> None:
    """Show a queue, as a Queue document (YAML by default; create -f reads it back).

    \b
    Example:
      armadactl get queue team-a
    """
    queue = app.client.get_queue(name)
    emit(
        resource_document(QUEUE, queue),
        app.output("yaml"),
        lambda console: console.print(table(QUEUE_COLUMNS, [_queue_row(queue)])),
    )


@click.command("queues")
@click.argument("names", nargs=-1)
@queue_selection_options()
@output_option
@pass_app
def get_queues(
    app: App, names: tuple[str, ...], labels: tuple[str, ...], inverse: bool, only_cordoned: bool
) -> None:
    """List queues, all of them or those chosen by name, labels or cordon state.

    \b
    Example:
      armadactl get queues -l team=a --only-cordoned
    """
    query = queue_query(names, labels, inverse, only_cordoned)
    queues = query.select(app.client.get_queues())
    fmt = app.output()
    if fmt == "yaml":
        documents = [resource_document(QUEUE, q) for q in queues]
        click.echo("\n---\n".join(dump(d, "yaml") for d in documents) if documents else "[]")
        return
    emit(
        [resource_document(QUEUE, q) for q in queues],
        fmt,
        lambda console: console.print(table(QUEUE_COLUMNS, [_queue_row(q) for q in queues])),
    )


def _cordon_command(cordon: bool) -> click.Command:
    verb = "Cordon" if cordon else "Uncordon"

    @click.command("queues")
    @click.argument("names", nargs=-1)
    @queue_selection_options(cordoned=False)
    @click.option("--dry-run", is_flag=True, help="Show which queues would change; change nothing.")
    @output_option
    @pass_app
    def command(
        app: App, names: tuple[str, ...], labels: tuple[str, ...], inverse: bool, dry_run: bool
    ) -> None:
        if not names and not labels:
            raise click.UsageError("give queue names or -l/--match-labels to choose queues")
        if names and labels:
            raise click.UsageError("choose queues by names or by labels, not both")
        queues = app.client.get_queues() if labels or inverse else []
        if not labels and not inverse:
            queues = [app.client.get_queue(name) for name in names]
        selected = [q.name for q in queue_query(names, labels, inverse).select(queues)]
        people = app.output() == "table"
        if people:
            click.echo(f"{verb}ing the following queues:{' (DRY RUN)' if dry_run else ''}")
        for name in selected:
            if not dry_run:
                (app.client.cordon_queue if cordon else app.client.uncordon_queue)(name)
            if people:
                click.echo(name if dry_run else f"{name} {verb.lower()}ed")
        if not people:
            data = {"queues": selected, "cordoned": cordon, "dryRun": dry_run}
            click.echo(dump(data, app.output()))

    command.help = (
        f"{verb} queues: {'pause' if cordon else 'resume'} scheduling from them"
        f"{' (their jobs still run and new jobs are accepted)' if cordon else ''}.\n\n"
        f"Choose queues by name or by labels.\n\n\b\nExample:\n"
        f"  armadactl {verb.lower()} queues team-a team-b"
    )
    return command


cordon_queues = _cordon_command(True)
uncordon_queues = _cordon_command(False)


def apply_resource_file(
    app: App, path: str, *, update: bool, dry_run: bool, kinds: tuple[str, ...]
) -> None:
    """Create or update every Queue / RetryPolicy document of a file, in order."""
    resources = load_resources(path, kinds=kinds)
    verb, people = "update" if update else "create", app.output() == "table"
    results = []
    for resource in resources:
        label = "queue" if resource.kind == QUEUE else "retry policy"
        if not dry_run:
            if resource.kind == QUEUE:
                (app.client.update_queue if update else app.client.create_queue)(resource.message)
            else:
                call = app.client.update_retry_policy if update else app.client.create_retry_policy
                call(resource.message)
        results.append({"kind": resource.kind, "name": resource.name, f"{verb}d": not dry_run})
        if people:
            done_now = f"{verb.capitalize()}d {label} {resource.name}"
            click.echo(f"Would {verb} {label} {resource.name} (dry run)" if dry_run else done_now)
    if not people:
        click.echo(dump(results, app.output()))


def _file_command(update: bool, kind: str) -> click.Command:
    verb = "update" if update else "create"

    @click.command("retry-policy")
    @click.option(
        "-f",
        "--file",
        "path",
        required=True,
        type=click.Path(dir_okay=False),
        help="A YAML file of kind: RetryPolicy documents.",
    )
    @output_option
    @pass_app
    def command(app: App, path: str) -> None:
        apply_resource_file(app, path, update=update, dry_run=False, kinds=(kind,))

    command.help = (
        f"{verb.capitalize()} retry policies from a file (apiVersion: armadaproject.io/v1beta1, "
        f"kind: RetryPolicy).\n\n\b\nExample:\n  armadactl {verb} retry-policy -f policy.yaml"
    )
    return command


create_retry_policy = _file_command(False, RETRY_POLICY)
update_retry_policy = _file_command(True, RETRY_POLICY)


@click.command("retry-policy")
@click.argument("name")
@output_option
@pass_app
def delete_retry_policy(app: App, name: str) -> None:
    """Delete a retry policy.

    \b
    Example:
      armadactl delete retry-policy oom-retry
    """
    app.client.delete_retry_policy(name)
    data = {"retryPolicy": name, "deleted": True}
    done(data, app.output(), f"Deleted retry policy {name}")


def _policy_rows(policies: list[Any]) -> list[list[Any]]:
    rows = []
    for policy in policies:
        document = resource_document(RETRY_POLICY, policy)
        rules = len(document.get("rules", []))
        rows.append([policy.name, policy.retry_limit, document.get("defaultAction", ""), rules])
    return rows


def _print_policies(console: Console, policies: list[Any]) -> None:
    console.print(table(("NAME", "RETRY LIMIT", "DEFAULT ACTION", "RULES"), _policy_rows(policies)))


@click.command("retry-policy")
@click.argument("name")
@output_option
@pass_app
def get_retry_policy(app: App, name: str) -> None:
    """Show a retry policy as a RetryPolicy document (YAML by default).

    \b
    Example:
      armadactl get retry-policy oom-retry
    """
    policy = app.client.get_retry_policy(name)
    emit(
        resource_document(RETRY_POLICY, policy),
        app.output("yaml"),
        lambda console: _print_policies(console, [policy]),
    )


@click.command("retry-policies")
@output_option
@pass_app
def get_retry_policies(app: App) -> None:
    """List retry policies.

    \b
    Example:
      armadactl get retry-policies
    """
    policies = app.client.get_retry_policies()
    emit(
        [resource_document(RETRY_POLICY, p) for p in policies],
        app.output(),
        lambda console: _print_policies(console, policies),
    )
