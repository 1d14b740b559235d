"""Printing results: tables and colour for people, JSON or YAML for scripts.

``-o table`` (the default for most commands) renders with rich; colour and styles are used only
when standard output is a terminal (and ``NO_COLOR`` is unset). ``-o json`` and ``-o yaml``
print plain data whose keys are Armada's JSON field names, so scripts can rely on them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click
import yaml

if TYPE_CHECKING:  # rich is imported when something is rendered: `submit` never needs it
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

FORMATS = ("table", "json", "yaml")


def make_console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    width = None if terminal or os.environ.get("COLUMNS") else 200
    return Console(
        file=stream,
        highlight=False,
        width=width,
        no_color=not terminal or bool(os.environ.get("NO_COLOR")),
        force_terminal=terminal,
        soft_wrap=False,
    )


def dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, default=str)
    return yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False, allow_unicode=True
    ).rstrip("\n")


def emit(data: Any, fmt: str, render: Callable[[Console], None]) -> None:
    """``data`` as JSON or YAML, or ``render`` it for people."""
    if fmt in ("json", "yaml"):
        click.echo(dump(data, fmt))
    else:
        render(make_console())


def done(data: Any, fmt: str, message: str) -> None:
    """What an action did: ``message`` for people, or ``data`` (a small document) for scripts."""
    click.echo(dump(data, fmt) if fmt in ("json", "yaml") else message)


def table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    result = Table(
        box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False, show_edge=False
    )
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*(cell if isinstance(cell, Text) else Text(_cell(cell)) for cell in row))
    return result


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


STATE_STYLES = {
    "QUEUED": "cyan",
    "LEASED": "blue",
    "PENDING": "blue",
    "RUNNING": "bold blue",
    "SUCCEEDED": "green",
    "FAILED": "bold red",
    "CANCELLED": "yellow",
    "PREEMPTED": "magenta",
    "REJECTED": "red",
}


def styled_state(state: str) -> Text:
    from rich.text import Text

    return Text(state, style=STATE_STYLES.get(state.upper(), ""))
