"""armadactl about itself: contexts of its configuration file, its version, shell completion."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from armada import __version__
from armada.cli.armadactl.app import App, pass_app
from armada.cli.armadactl.contexts import Config, set_current_context
from armada.cli.armadactl.options import output_option
from armada.cli.armadactl.output import done, emit, table
from armada.client import DEFAULT_URL, ClientError


@click.group()
def config() -> None:
    """Contexts of the configuration file (--config, default $HOME/.armadactl.yaml)."""


@config.command("use-context")
@click.argument("name")
@output_option
@pass_app
def use_context(app: App, name: str) -> None:
    """Make a context the default for future armadactl calls (written to the config file).

    \b
    Example:
      armadactl config use-context production
    """
    set_current_context(app.config, name)
    done({"currentContext": name}, app.output(), f"Current context set to {name}")


@config.command("get-contexts")
@output_option
@pass_app
def get_contexts(app: App) -> None:
    """List the contexts of the configuration file.

    \b
    Example:
      armadactl config get-contexts
    """
    configuration = app.config
    rows = [
        {
            "name": c.name,
            "current": c.name == configuration.current,
            "armadaUrl": c.armada_url,
            "user": c.username,
        }
        for _, c in sorted(configuration.contexts.items())
        if c.name
    ]
    emit(
        rows,
        app.output(),
        lambda console: console.print(
            table(
                ("CURRENT", "NAME", "ARMADA URL", "USER"),
                [["*" if r["current"] else "", r["name"], r["armadaUrl"], r["user"]] for r in rows],
            )
            if rows
            else f"No contexts in {configuration.path}"
        ),
    )


@config.command("current-context")
@output_option
@pass_app
def current_context(app: App) -> None:
    """Print the current context: the one used when -c/--context is not given.

    Without one (no configuration file, or none chosen in it) it says why; that is an answer,
    not an error (exit 0, and null in JSON or YAML).

    \b
    Example:
      armadactl config current-context
    """
    configuration = app.config
    current = configuration.current or None
    done({"currentContext": current}, app.output(), _current_context_line(configuration))


def _current_context_line(configuration: Config) -> str:
    if configuration.current:
        return f"Current context: {configuration.current}"
    path = configuration.path
    if not configuration.exists:
        why = f"{path} does not exist; armadactl uses --armadaUrl, else {DEFAULT_URL}"
    elif "" in configuration.contexts:
        why = f"{path} has no named contexts; its settings are used"
    else:
        why = f"{path} sets none (choose one with: armadactl config use-context NAME)"
    return f"No current context: {why}"


@click.command()
@output_option
@pass_app
def version(app: App) -> None:
    """Print armadactl's version, and the server's if it can be reached.

    \b
    Example:
      armadactl version
    """
    data: dict[str, object] = {"client": __version__, "server": {"url": app.url}}
    server = data["server"]
    assert isinstance(server, dict)
    try:
        server["health"] = app.client.health()
        server["version"] = app.client.server_version()
    except ClientError as exc:
        server["error"] = exc.message

    def render(console: object) -> None:
        click.echo(f"armadactl: {__version__}")
        if "error" in server:
            click.echo(f"server:    {server['url']}: unreachable ({server['error']})")
            return
        reported = server.get("version") or "version not reported"
        click.echo(f"server:    {server['url']}: {server['health']}, {reported}")

    emit(data, app.output(), render)


SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    \b
    Example:
      eval "$(armadactl completion bash)"      # or add it to ~/.bashrc
      armadactl completion fish > ~/.config/fish/completions/armadactl.fish
    """
    root = ctx.find_root().command
    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(root, {}, "armadactl", "_ARMADACTL_COMPLETE").source())
