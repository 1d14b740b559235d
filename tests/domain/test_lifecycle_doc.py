"""docs/lifecycle.md tells the truth: its tables are the code's, edge by edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from armada.domain import events
from armada.domain.lifecycle_doc import COMMAND, edge_row, refresh, split_edge
from armada.domain.states import JOB_TRANSITIONS, RUN_TRANSITIONS, JobState, RunState

PAGE = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"


def test_the_page_is_current() -> None:
    text = PAGE.read_text()
    assert refresh(text) == text, f"docs/lifecycle.md is stale: run {COMMAND}"


@pytest.mark.parametrize("table", [JOB_TRANSITIONS, RUN_TRANSITIONS], ids=["job", "run"])
def test_every_edge_is_on_the_page(table: dict[tuple[JobState | RunState, ...], str]) -> None:
    rows = set(PAGE.read_text().splitlines())
    for (old, new), description in table.items():
        assert edge_row(old, new, description) in rows, f"{old} -> {new} is not documented"


def test_every_state_is_described() -> None:
    """Each state has a row of its own in a States table (the edge tables name every state
    anyway, so finding the name somewhere would prove nothing)."""
    described = {
        line.split("|")[1].strip()
        for line in PAGE.read_text().splitlines()
        if line.startswith("| ") and line.rstrip().endswith(("| yes |", "| no |"))
    }
    for state in [*JobState, *RunState]:
        assert state.name in described, f"{state.name} has no row in a States table"


@pytest.mark.parametrize("table", [JOB_TRANSITIONS, RUN_TRANSITIONS], ids=["job", "run"])
def test_every_edge_names_real_events(table: dict[tuple[JobState | RunState, ...], str]) -> None:
    for description in table.values():
        names, why = split_edge(description)
        assert why, f"{description!r} does not say why"
        for name in names:
            assert isinstance(getattr(events, name, None), type), f"{name} is not an event"


def test_a_stale_table_is_rewritten_and_a_missing_one_is_an_error() -> None:
    text = PAGE.read_text()
    stale = text.replace(
        edge_row(
            JobState.QUEUED, JobState.LEASED, JOB_TRANSITIONS[(JobState.QUEUED, JobState.LEASED)]
        )
        + "\n",
        "",
    )
    assert stale != text and refresh(stale) == text
    without_runs = text.replace("BEGIN GENERATED: run transitions", "run transitions")
    with pytest.raises(ValueError, match="no generated block for: run transitions"):
        refresh(without_runs)
