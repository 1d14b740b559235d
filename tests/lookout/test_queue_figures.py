"""The queues page's figures as a lone lookout keeps them: told the scheduler's kept rounds at
each poll, it shows each pool's newest round, charts each round once, keeps the last figures
known (and says why) when the scheduler cannot be reached; and where each cluster's Binoculars
is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from armada.config.lookout import LookoutSettings
from armada.config.server import StorageSettings
from armada.domain import events as ev
from armada.domain.queues import Queue
from armada.lookout.api import LookoutReader
from armada.lookout.api.extras import NO_SCHEDULER, QueueFigures, ShareRow, Shares
from armada.views.storage import open_storage
from tests.builders import sequence


@pytest.fixture
def figures(tmp_path: Path) -> Iterator[QueueFigures]:
    storage = open_storage(StorageSettings(data_dir=tmp_path))
    try:
        created = [ev.QueueCreated(queue=Queue(name=name)) for name in ("a", "b")]
        storage.append([sequence(*created, queue="", job_set="")])
        yield QueueFigures(LookoutReader(storage.store, lambda: 0.0))
    finally:
        storage.close()


def row(queue: str, cycle: int, pool: str = "default", share: float = 0.5) -> ShareRow:
    return ShareRow(
        pool=pool,
        cycle=cycle,
        started=1_700_000_000.0 + cycle,
        queue=queue,
        fair_share=share,
        adjusted_fair_share=share,
        actual_share=share / 2,
        demand=share,
        queued_jobs=1,
        running_jobs=cycle,
    )


def test_the_newest_round_per_pool_is_shown_and_each_round_charted_once(
    figures: QueueFigures,
) -> None:
    assert figures.answer()["schedulerProblem"] == NO_SCHEDULER
    figures.record(Shares(rows=(row("a", 1), row("b", 1), row("a", 2, share=1.0))))
    figures.record(Shares(rows=(row("a", 2, share=1.0), row("a", 3, pool="gpu"))))
    answer = figures.answer()
    assert answer["schedulerProblem"] == "" and answer["schedulerInProcess"] is False
    pools = {
        q["name"]: [(p["pool"], p["runningJobs"]) for p in q["pools"]] for q in answer["queues"]
    }
    assert pools == {"a": [("default", 2), ("gpu", 3)], "b": []}
    charted = [(p["queue"], p["pool"], p["cycle"]) for p in answer["history"]]
    first, second = [("a", "default", 1), ("b", "default", 1)], [("a", "default", 2)]
    assert charted == [*first, *second, ("a", "gpu", 3)]
    only_b = figures.answer(frozenset({"b"}))
    assert [q["pools"] for q in only_b["queues"]] == [[], []]
    assert [p["queue"] for p in only_b["history"]] == ["b"]


def test_the_last_figures_known_stay_beside_the_problem(figures: QueueFigures) -> None:
    figures.record(Shares(rows=(row("a", 1),)))
    figures.record(Shares(problem="the scheduler at x cannot be reached"))
    answer = figures.answer()
    assert answer["schedulerProblem"] == "the scheduler at x cannot be reached"
    assert [p["runningJobs"] for p in answer["queues"][0]["pools"]] == [1]  # cycle 1's


def test_each_clusters_binoculars_from_the_map_else_the_pattern() -> None:
    settings = LookoutSettings.model_validate(
        {
            "binocularsAddressPattern": "{CLUSTER_ID}-binoculars:50053",
            "binocularsAddresses": {"special": "10.0.0.1:9000"},
        }
    )
    assert settings.binoculars_address("east") == "east-binoculars:50053"
    assert settings.binoculars_address("special") == "10.0.0.1:9000"
    assert LookoutSettings().binoculars_address("east") == ""
