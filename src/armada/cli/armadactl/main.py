"""The ``armadactl`` command: its command tree, global flags, and the one place where failures
become one line on standard error and an exit code (never a traceback)."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from armada import __version__
from armada.cli.armadactl import (
    config_commands,
    executor_commands,
    info_commands,
    job_commands,
    loadtest,
    queue_commands,
    watch_command,
)
from armada.cli.armadactl.app import (
    EXIT_INTERRUPTED,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    App,
    CommandFailed,
)
from armada.cli.armadactl.options import Duration, output_option
from armada.client import ClientError, FileError, ServerUnreachable

__all__ = ["cli", "main"]

_BROKEN_PIPE = 141


class AliasedGroup(click.Group):
    """A group whose commands may also be called by other names (Armada's spellings)."""

    def __init__(self, *args: Any, aliases: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases = aliases or {}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        return (command.name if command else name), command, rest


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)


def run(group: click.Group, args: Any, prog_name: Any, complete_var: Any, extra: Any) -> int:
    """Run the command line; every failure is reported here as one line, with its exit code."""
    try:
        result = click.Group.main(
            group, args, prog_name, complete_var, standalone_mode=False, **extra
        )
        return result if isinstance(result, int) else 0
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _fail(exc.format_message() + where)
        return EXIT_USAGE
    except click.ClickException as exc:
        _fail(exc.format_message())
        return exc.exit_code
    except click.Abort:
        return EXIT_INTERRUPTED
    except FileError as exc:
        _fail(str(exc))
        return EXIT_USAGE
    except CommandFailed as exc:
        _fail(exc.message)
        return exc.exit_code
    except ServerUnreachable as exc:
        _fail(exc.message)
        return EXIT_UNREACHABLE
    except ClientError as exc:
        _fail(exc.message)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more may reach the pipe
        return _BROKEN_PIPE
    except Exception as exc:
        if os.environ.get("ARMADACTL_DEBUG"):
            traceback.print_exc()
        _fail(f"internal error ({type(exc).__name__}: {exc}); set ARMADACTL_DEBUG=1 for details")
        return EXIT_REFUSED


class Armadactl(AliasedGroup):
    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        code = run(self, args, prog_name or "armadactl", complete_var, extra)
        if standalone_mode:
            sys.exit(code)
        return code


def _resource_group(name: str, verb: str, *, update: bool) -> click.Group:
    @click.group(name, cls=AliasedGroup, invoke_without_command=True)
    @click.option(
        "-f",
        "--file",
        "path",
        type=click.Path(dir_okay=False),
        help="A YAML file of Queue and RetryPolicy documents "
        "(apiVersion: armadaproject.io/v1beta1).",
    )
    @click.option("--dry-run", is_flag=True, help="With -f: check the file; change nothing.")
    @output_option
    @click.pass_context
    def group(ctx: click.Context, path: str | None, dry_run: bool) -> None:
        if ctx.invoked_subcommand is not None:
            if path:
                raise click.UsageError("-f goes without a subcommand")
            return
        if not path:
            raise click.UsageError(f"give -f FILE, or a resource to {verb} (queue, retry-policy)")
        queue_commands.apply_resource_file(
            ctx.ensure_object(App),
            path,
            update=update,
            dry_run=dry_run,
            kinds=("Queue", "RetryPolicy"),
        )

    group.help = (
        f"{verb.capitalize()} queues and retry policies, from flags or from a file (-f).\n\n"
        f"\b\nExamples:\n  armadactl {verb} -f queues.yaml\n  armadactl {verb} queue team-a"
    )
    return group


create = _resource_group("create", "create", update=False)
create.add_command(queue_commands.create_queue)
create.add_command(queue_commands.create_retry_policy)

update = _resource_group("update", "update", update=True)
update.add_command(queue_commands.update_queue)
update.add_command(queue_commands.update_retry_policy)


@click.group(cls=AliasedGroup)
def delete() -> None:
    """Delete a queue, a retry policy, or an executor's settings."""


delete.add_command(queue_commands.delete_queue)
delete.add_command(queue_commands.delete_retry_policy)


@click.group(cls=AliasedGroup, aliases={"retrypolicies": "retry-policies"})
def get() -> None:
    """Show queues, retry policies, jobs, and scheduling reports."""


for command in (
    queue_commands.get_queue,
    queue_commands.get_queues,
    queue_commands.get_retry_policy,
    queue_commands.get_retry_policies,
    info_commands.get_job,
    info_commands.get_scheduling_report,
    info_commands.get_queue_report,
    info_commands.get_job_report,
):
    get.add_command(command)


@click.group(cls=AliasedGroup, aliases={"queue": "queues"})
def cordon() -> None:
    """Pause scheduling from queues, or to an executor (running jobs go on)."""


@click.group(cls=AliasedGroup, aliases={"queue": "queues"})
def uncordon() -> None:
    """Resume scheduling from queues, or to an executor."""


cordon.add_command(queue_commands.cordon_queues)
uncordon.add_command(queue_commands.uncordon_queues)
cordon.add_command(executor_commands.cordon_executor)
uncordon.add_command(executor_commands.uncordon_executor)
delete.add_command(executor_commands.delete_executor)
job_commands.cancel.add_command(executor_commands.cancel_executor)
job_commands.cancel.add_command(executor_commands.cancel_node)
job_commands.preempt.add_command(executor_commands.preempt_executor)
job_commands.preempt.add_command(executor_commands.preempt_node)


@click.group(
    "armadactl",
    cls=Armadactl,
    aliases={"reprioritise": "reprioritize"},
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="armadactl")
@click.option(
    "--armadaUrl",
    "--armada-url",
    "armada_url",
    metavar="HOST:PORT",
    help="The Armada server [default: the context's armadaUrl, else localhost:50051].",
)
@click.option("-c", "--context", help="Use this context of the config file.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file of contexts [default: $HOME/.armadactl.yaml].",
)
@click.option(
    "--timeout", type=Duration(), default="30s", show_default=True, help="Deadline of each call."
)
@output_option
@click.pass_context
def cli(
    ctx: click.Context,
    armada_url: str | None,
    context: str | None,
    config_path: Path | None,
    timeout: float,
) -> None:
    """armadactl controls the Armada batch job queueing system.

    Persistent settings live in a config file of named contexts, so that they need not be given
    on every command:

    \b
      currentContext: main
      contexts:
        main:
          armadaUrl: localhost:50051
          basicAuth:
            username: user1
            password: password123

    \b
    Exit codes: 0 done; 1 the server refused or failed the operation;
    2 bad usage or input file; 3 the server cannot be reached.
    """
    app = ctx.ensure_object(App)
    app.url_flag = armada_url
    app.context_flag = context
    app.config_path = config_path
    app.timeout = timeout
    ctx.call_on_close(app.close)


for command in (
    job_commands.submit,
    job_commands.cancel,
    job_commands.reprioritize,
    job_commands.preempt,
    watch_command.watch,
    info_commands.logs,
    create,
    update,
    delete,
    get,
    cordon,
    uncordon,
    config_commands.config,
    config_commands.version,
    config_commands.completion,
    loadtest.loadtest,
):
    cli.add_command(command)


def main() -> None:
    cli.main(prog_name="armadactl")
