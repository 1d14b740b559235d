"""Rendering a transition table as Markdown, and rewriting the generated blocks of a page.

An edge is ``((old, new), "Name / Other: why")``: the names before the colon are what drives
the move (events for the job lifecycle, the run tracker's stimuli for the executor), the words
after it say why. ``old`` None is a record's start.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

COMMAND = "python -m armada.docgen"

Edges = Iterable[tuple[tuple[enum.Enum | None, enum.Enum], str]]

_BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z ]+) .*?-->\n)(?P<body>.*?)(<!-- END GENERATED -->)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Table:
    """One generated table: its edges, and what its third column calls the names of an edge."""

    edges: Edges
    driver: str = "Event"


def split_edge(description: str) -> tuple[list[str], str]:
    """``"CancelledJob / JobRunCancelled: why"`` -> (["CancelledJob", "JobRunCancelled"], "why")."""
    names, _, why = description.partition(": ")
    return [name.strip() for name in names.split("/")], why


def state_name(state: enum.Enum | None) -> str:
    return "(start)" if state is None else state.name


def edge_row(old: enum.Enum | None, new: enum.Enum, description: str) -> str:
    names, why = split_edge(description)
    named = " / ".join(f"`{name}`" for name in names)
    return f"| {state_name(old)} | {state_name(new)} | {named} | {why} |"


def render_table(table: Table) -> str:
    rows = [edge_row(old, new, description) for (old, new), description in table.edges]
    header = f"| From | To | {table.driver} | What drives it |"
    return "\n".join([header, "|---|---|---|---|", *rows]) + "\n"


def refresh(text: str, tables: Mapping[str, Table]) -> str:
    """``text`` with every generated block rewritten from ``tables``; each must have a block."""
    found: set[str] = set()

    def rewrite(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in tables:
            raise ValueError(f"unknown generated block {name!r} (known: {', '.join(tables)})")
        found.add(name)
        return match.group(1) + render_table(tables[name]) + match.group(4)

    result = _BLOCK.sub(rewrite, text)
    missing = set(tables) - found
    if missing:
        raise ValueError(f"no generated block for: {', '.join(sorted(missing))}")
    return result
