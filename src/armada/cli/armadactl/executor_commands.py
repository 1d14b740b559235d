"""Executor and node commands: cordon, uncordon, and cancel or preempt what runs there
(Armada's ``cordon executor``, ``preempt executor``, ``cancel node``...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from armada.cli.armadactl.app import App, pass_app
from armada.cli.armadactl.options import (
    chosen_priority_classes,
    flatten,
    list_option,
    output_option,
    priority_class_options,
)
from armada.cli.armadactl.output import done
from armada.client.admin import ExecutorAdmin


def _admin(app: App) -> ExecutorAdmin:
    return ExecutorAdmin(app.client.connection)


@click.command("executor")
@click.argument("name")
@click.argument("reason", required=False, default="")
@output_option
@pass_app
def cordon_executor(app: App, name: str, reason: str) -> None:
    """Send no new jobs to an executor (its running jobs go on).

    \b
    Example:
      armadactl cordon executor cluster-1 "kernel upgrade"
    """
    _admin(app).cordon(name, reason)
    data = {"executor": name, "cordoned": True, "reason": reason}
    done(data, app.output(), f"Cordoned executor {name}")


@click.command("executor")
@click.argument("name")
@output_option
@pass_app
def uncordon_executor(app: App, name: str) -> None:
    """Send new jobs to an executor again.

    \b
    Example:
      armadactl uncordon executor cluster-1
    """
    _admin(app).uncordon(name)
    done({"executor": name, "cordoned": False}, app.output(), f"Uncordoned executor {name}")


@click.command("executor")
@click.argument("name")
@output_option
@pass_app
def delete_executor(app: App, name: str) -> None:
    """Forget an executor's settings (it is uncordoned).

    \b
    Example:
      armadactl delete executor cluster-1
    """
    _admin(app).delete_settings(name)
    data = {"executor": name, "settingsDeleted": True}
    done(data, app.output(), f"Deleted the settings of executor {name}")


def _selection(verb: str, *, pools: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """-q/--queues, -p/--priority-classes or -a/--all-priority-classes, --pools (executors
    only) and -o: the flags of the commands that cancel or preempt what runs somewhere."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        f = output_option(f)
        if pools:
            f = list_option("--pools", help=f"{verb} only jobs running in these pools.")(f)
        f = priority_class_options(verb)(f)
        return list_option("-q", "--queues", help=f"{verb} only jobs of these queues.")(f)

    return decorate


def _request(flags: dict[str, Any]) -> dict[str, list[str]]:
    """The selection flags as the server reads them: an empty list means all."""
    selection = {
        "queues": flatten(flags["queues"]),
        "priorityClasses": chosen_priority_classes(
            flags["priority_classes"], flags["all_priority_classes"]
        ),
    }
    if "pools" in flags:
        selection["pools"] = flatten(flags["pools"])
    return selection


def _requested(
    app: App, action: str, place: str, where: dict[str, str], selection: dict[str, list[str]]
) -> None:
    narrowed = "; ".join(f"{key}: {','.join(vals)}" for key, vals in selection.items() if vals)
    message = f"Asked to {action} the jobs running on {place}"
    data = {**where, **selection, f"{action}Requested": True}
    done(data, app.output(), message + (f" ({narrowed})" if narrowed else ""))


def _on_executor(action: str) -> click.Command:
    @click.command("executor")
    @click.argument("name")
    @_selection(action.capitalize(), pools=True)
    @pass_app
    def command(app: App, name: str, **flags: Any) -> None:
        selection = _request(flags)
        admin = _admin(app)
        run = admin.preempt_on_executor if action == "preempt" else admin.cancel_on_executor
        run(name, selection["queues"], selection["priorityClasses"], selection["pools"])
        _requested(app, action, f"executor {name}", {"executor": name}, selection)

    command.help = (
        f"{action.capitalize()} the jobs running on an executor: those of some priority classes "
        f"(-p), or of all of them (-a); -q and --pools narrow it further.\n\n\b\nExample:\n"
        f"  armadactl {action} executor cluster-1 -q team-a -p armada-preemptible\n"
        f"  armadactl {action} executor cluster-1 -a"
    )
    return command


def _on_node(action: str) -> click.Command:
    @click.command("node")
    @click.argument("name")
    @click.option("-e", "--executor", required=True, help="The executor the node belongs to.")
    @_selection(action.capitalize(), pools=False)
    @pass_app
    def command(app: App, name: str, executor: str, **flags: Any) -> None:
        selection = _request(flags)
        admin = _admin(app)
        run = admin.preempt_on_node if action == "preempt" else admin.cancel_on_node
        run(name, executor, selection["queues"], selection["priorityClasses"])
        where = {"node": name, "executor": executor}
        _requested(app, action, f"node {name} of executor {executor}", where, selection)

    command.help = (
        f"{action.capitalize()} the jobs running on one node of an executor: those of some "
        f"priority classes (-p), or of all of them (-a); -q narrows it further.\n\n\b\nExample:\n"
        f"  armadactl {action} node cluster-1-node-3 -e cluster-1 -a"
    )
    return command


preempt_executor = _on_executor("preempt")
cancel_executor = _on_executor("cancel")
preempt_node = _on_node("preempt")
cancel_node = _on_node("cancel")
