"""Executor and node commands: cordon, uncordon, and cancel or preempt what runs there
(Armada's ``cordon executor``, ``preempt executor``, ``cancel node``...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from armada.cli.armadactl.app import App, pass_app
from armada.client.admin import ExecutorAdmin


def _admin(app: App) -> ExecutorAdmin:
    return ExecutorAdmin(app.client.connection)


def _selection(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("-q", "--queues", multiple=True, help="Only jobs of these queues.")(f)
    return click.option(
        "-p",
        "--priority-classes",
        "priority_classes",
        multiple=True,
        help="Only jobs of these priority classes.",
    )(f)


@click.command("executor")
@click.argument("name")
@click.argument("reason", required=False, default="")
@pass_app
def cordon_executor(app: App, name: str, reason: str) -> None:
    """Send no new jobs to an executor (its running jobs go on).

    \b
    Example:
      armadactl cordon executor cluster-1 "kernel upgrade"
    """
    _admin(app).cordon(name, reason)
    click.echo(f"Cordoned executor {name}")


@click.command("executor")
@click.argument("name")
@pass_app
def uncordon_executor(app: App, name: str) -> None:
    """Send new jobs to an executor again.

    \b
    Example:
      armadactl uncordon executor cluster-1
    """
    _admin(app).uncordon(name)
    click.echo(f"Uncordoned executor {name}")


@click.command("executor")
@click.argument("name")
@pass_app
def delete_executor(app: App, name: str) -> None:
    """Forget an executor's settings (it is uncordoned).

    \b
    Example:
      armadactl delete executor cluster-1
    """
    _admin(app).delete_settings(name)
    click.echo(f"Deleted the settings of executor {name}")


def _on_executor(action: str) -> click.Command:
    @click.command("executor")
    @click.argument("name")
    @_selection
    @pass_app
    def command(
        app: App, name: str, queues: tuple[str, ...], priority_classes: tuple[str, ...]
    ) -> None:
        admin = _admin(app)
        run = admin.preempt_on_executor if action == "preempt" else admin.cancel_on_executor
        run(name, queues, priority_classes)
        click.echo(f"Asked to {action} the jobs running on executor {name}")

    command.help = (
        f"{action.capitalize()} the jobs running on an executor (all of them, or only those of "
        f"some queues or priority classes).\n\n\b\nExample:\n"
        f"  armadactl {action} executor cluster-1 -q team-a -p armada-preemptible"
    )
    return command


def _on_node(action: str) -> click.Command:
    @click.command("node")
    @click.argument("name")
    @click.option("-e", "--executor", required=True, help="The executor the node belongs to.")
    @_selection
    @pass_app
    def command(
        app: App,
        name: str,
        executor: str,
        queues: tuple[str, ...],
        priority_classes: tuple[str, ...],
    ) -> None:
        admin = _admin(app)
        run = admin.preempt_on_node if action == "preempt" else admin.cancel_on_node
        run(name, executor, queues, priority_classes)
        click.echo(f"Asked to {action} the jobs running on node {name} of executor {executor}")

    command.help = (
        f"{action.capitalize()} the jobs running on one node of an executor.\n\n\b\nExample:\n"
        f"  armadactl {action} node cluster-1-node-3 -e cluster-1"
    )
    return command


preempt_executor = _on_executor("preempt")
cancel_executor = _on_executor("cancel")
preempt_node = _on_node("preempt")
cancel_node = _on_node("cancel")
