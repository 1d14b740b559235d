"""Writes the transition tables of docs/lifecycle.md from :mod:`armada.domain.states`.

The page is prose written by people, with the two tables generated between markers, so that
the tables cannot drift from the code: a test fails when the committed page differs from what
``refresh`` makes of it. Regenerate with ``python -m armada.domain.lifecycle_doc``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from armada.domain.states import JOB_TRANSITIONS, RUN_TRANSITIONS

COMMAND = "python -m armada.domain.lifecycle_doc"
Edges = Iterable[tuple[tuple[StrEnum, StrEnum], str]]
TABLES: dict[str, Edges] = {
    "job transitions": JOB_TRANSITIONS.items(),
    "run transitions": RUN_TRANSITIONS.items(),
}
_BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z ]+) .*?-->\n)(?P<body>.*?)(<!-- END GENERATED -->)",
    re.DOTALL,
)


def split_edge(description: str) -> tuple[list[str], str]:
    """``"CancelledJob / JobRunCancelled: why"`` -> (["CancelledJob", "JobRunCancelled"], "why")."""
    events, _, why = description.partition(": ")
    return [name.strip() for name in events.split("/")], why


def edge_row(old: StrEnum, new: StrEnum, description: str) -> str:
    events, why = split_edge(description)
    named = " / ".join(f"`{name}`" for name in events)
    return f"| {old} | {new} | {named} | {why} |"


def render_table(edges: Edges) -> str:
    rows = [edge_row(old, new, description) for (old, new), description in edges]
    return "\n".join(["| From | To | Event | What drives it |", "|---|---|---|---|", *rows]) + "\n"


def refresh(text: str) -> str:
    """``text`` with every generated block rewritten from the tables."""
    found: set[str] = set()

    def rewrite(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in TABLES:
            raise ValueError(f"unknown generated block {name!r} (known: {', '.join(TABLES)})")
        found.add(name)
        return match.group(1) + render_table(TABLES[name]) + match.group(4)

    result = _BLOCK.sub(rewrite, text)
    missing = set(TABLES) - found
    if missing:
        raise ValueError(f"no generated block for: {', '.join(sorted(missing))}")
    return result


if __name__ == "__main__":
    page = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/lifecycle.md")
    page.write_text(refresh(page.read_text()))
