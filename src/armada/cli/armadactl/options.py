"""Flag types and flags shared by several commands, spelled as Armada's armadactl spells them.

List flags take comma-separated values and may be repeated (``--owners a,b --owners c``), as
cobra's string slices do. Where Armada renamed a flag (``--priorityFactor`` became
``--priority-factor``), both spellings are accepted so that old scripts keep working.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from armada.cli.armadactl.app import App
from armada.cli.armadactl.output import FORMATS
from armada.client import QueueQuery, parse_labels

F = TypeVar("F", bound=Callable[..., Any])


def flatten(values: Iterable[str] | None) -> list[str]:
    """``("a,b", "c")`` -> ``["a", "b", "c"]`` (blank items dropped)."""
    result: list[str] = []
    for value in values or ():
        result.extend(part.strip() for part in value.split(",") if part.strip())
    return result


def labels_from(values: Iterable[str] | None, flag: str) -> dict[str, str]:
    try:
        return parse_labels(flatten(values))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=flag) from None


def _set_output(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(App).output_flag = value


def output_option(function: F) -> F:
    """``-o/--output table|json|yaml`` on a command (also accepted before the command)."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(FORMATS),
        expose_value=False,
        callback=_set_output,
        help="Output format: table (for people), json or yaml (for scripts).",
    )(function)


def list_option(*names: str, help: str, **kwargs: Any) -> Callable[[F], F]:
    """A comma-separated, repeatable list flag."""
    return click.option(
        *names, multiple=True, help=help + " Comma-separated; repeatable.", **kwargs
    )


def priority_class_options(verb: str) -> Callable[[F], F]:
    """``-p/--priority-classes`` and ``-a/--all-priority-classes``: one of them is required, as
    in Armada, so that a bare command never acts on every priority class by accident."""

    def decorate(function: F) -> F:
        function = click.option(
            "-a",
            "--all-priority-classes",
            is_flag=True,
            help=f"{verb} jobs of every priority class.",
        )(function)
        return list_option(
            "-p", "--priority-classes", help=f"{verb} only jobs of these priority classes."
        )(function)

    return decorate


def chosen_priority_classes(priority_classes: Iterable[str], all_classes: bool) -> list[str]:
    """The priority classes to send: none with -a (the server reads none as all), else -p's."""
    classes = flatten(priority_classes)
    if not classes and not all_classes:
        raise click.UsageError("give -p/--priority-classes, or -a/--all-priority-classes")
    return [] if all_classes else classes


def queue_selection_options(
    *, cordoned: bool = True, selector_names: tuple[str, ...] = ("-l", "--match-labels")
) -> Callable[[F], F]:
    """The flags that choose queues: labels, --inverse, and (optionally) --only-cordoned."""

    def decorate(function: F) -> F:
        function = click.option(
            "--inverse", is_flag=True, help="Select the queues that do not match instead."
        )(function)
        if cordoned:
            function = click.option(
                "--only-cordoned", is_flag=True, help="Select only cordoned queues."
            )(function)
        return list_option(
            *selector_names,
            "labels",
            help="Select queues having all of these labels (key=value).",
        )(function)

    return decorate


def queue_query(
    names: Iterable[str], labels: Iterable[str], inverse: bool, only_cordoned: bool = False
) -> QueueQuery:
    return QueueQuery(
        names=tuple(names),
        labels=labels_from(labels, "-l"),
        inverse=inverse,
        only_cordoned=only_cordoned,
    )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Duration(click.ParamType[float]):
    """``500ms``, ``2s``, ``5m``, ``1h`` or a plain number of seconds."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        match = _DURATION.match(str(value))
        if match is None:
            self.fail(f"{value!r} is not a duration (examples: 500ms, 2s, 5m)", param, ctx)
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
