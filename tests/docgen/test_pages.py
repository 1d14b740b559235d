"""The generated tables of docs/ tell the truth: docs/lifecycle.md's are the job and run
lifecycle's, docs/executor.md's the executor's run stages, edge by edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from armada.docgen.__main__ import main
from armada.docgen.pages import EXECUTOR, LIFECYCLE, PAGES
from armada.docgen.tables import COMMAND, Table, edge_row, refresh, split_edge
from armada.domain import events
from armada.domain.states import JOB_TRANSITIONS, RUN_TRANSITIONS, JobState, RunState
from armada.executor.run_stages import STAGE_TRANSITIONS, STOP_TRANSITIONS, Stage, Stop
from armada.executor.runs import RunTracker

ROOT = Path(__file__).resolve().parents[2]
LIFECYCLE_PAGE = ROOT / "docs" / "lifecycle.md"
EXECUTOR_PAGE = ROOT / "docs" / "executor.md"


@pytest.mark.parametrize("relative", sorted(PAGES))
def test_the_page_is_current(relative: str) -> None:
    text = (ROOT / relative).read_text()
    assert refresh(text, PAGES[relative]) == text, f"{relative} is stale: run {COMMAND}"


@pytest.mark.parametrize(
    ("page", "table"),
    [(LIFECYCLE_PAGE, t) for t in LIFECYCLE.values()]
    + [(EXECUTOR_PAGE, t) for t in EXECUTOR.values()],
    ids=[*LIFECYCLE, *EXECUTOR],
)
def test_every_edge_is_on_the_page(page: Path, table: Table) -> None:
    rows = set(page.read_text().splitlines())
    for (old, new), description in table.edges:
        assert edge_row(old, new, description) in rows, f"{old} -> {new} is not documented"


def test_every_state_is_described() -> None:
    """Each state has a row of its own in a States table (the edge tables name every state
    anyway, so finding the name somewhere would prove nothing)."""
    described = {
        line.split("|")[1].strip()
        for line in LIFECYCLE_PAGE.read_text().splitlines()
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


@pytest.mark.parametrize("table", EXECUTOR.values(), ids=list(EXECUTOR))
def test_every_executor_edge_names_a_stimulus_of_the_tracker(table: Table) -> None:
    for _, description in table.edges:
        names, why = split_edge(description)
        assert why, f"{description!r} does not say why"
        for name in names:
            assert callable(getattr(RunTracker, name, None)), f"{name} is not a tracker stimulus"


def test_every_stage_and_stop_is_in_the_executor_tables() -> None:
    stages = {s for edge in STAGE_TRANSITIONS for s in edge}
    assert stages == set(Stage)
    assert {new for _, new in STOP_TRANSITIONS} == set(Stop)


def test_a_stale_table_is_rewritten_and_a_missing_one_is_an_error() -> None:
    text = LIFECYCLE_PAGE.read_text()
    stale = text.replace(
        edge_row(
            JobState.QUEUED, JobState.LEASED, JOB_TRANSITIONS[(JobState.QUEUED, JobState.LEASED)]
        )
        + "\n",
        "",
    )
    assert stale != text and refresh(stale, LIFECYCLE) == text
    without_runs = text.replace("BEGIN GENERATED: run transitions", "run transitions")
    with pytest.raises(ValueError, match="no generated block for: run transitions"):
        refresh(without_runs, LIFECYCLE)
    with pytest.raises(ValueError, match="unknown generated block 'run stages'"):
        refresh(EXECUTOR_PAGE.read_text(), LIFECYCLE)


def test_the_command_rewrites_every_page_in_place(tmp_path: Path) -> None:
    for relative in PAGES:
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((ROOT / relative).read_text().replace("| LEASED | SUBMITTING |", "|"))
    main([str(tmp_path)])
    for relative in PAGES:
        assert (tmp_path / relative).read_text() == (ROOT / relative).read_text()
