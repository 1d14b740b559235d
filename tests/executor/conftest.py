"""Shared pieces of the executor tests: fast settings, a fake scheduler, a running agent; and
every run tracker a test makes (directly or inside an agent) is validated when the test ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from armada.config.executor import (
    ExecutorConfig,
    ExitCodeMatch,
    FailureCategory,
    FailureRule,
    FakeClusterSettings,
    NodeGroupSettings,
)
from armada.executor.agent import ExecutorAgent
from armada.executor.cluster import Cluster
from armada.executor.runs import RunTracker
from armada.executor.testing import FakeScheduler

# Finer categories than Armada's development ones (the default), as an operator would configure
# them (docs/executor.md shows the same in YAML): for tests of what the rules can recognise.
DETAILED_CATEGORIES = [
    FailureCategory(name="oom", rules=[FailureRule(on_conditions=["OOMKilled"])]),
    FailureCategory(name="evicted", rules=[FailureRule(on_conditions=["Evicted"])]),
    FailureCategory(
        name="deadline-exceeded",
        rules=[FailureRule(on_conditions=["DeadlineExceeded"], subcategory="active-deadline")],
    ),
    FailureCategory(
        name="image-pull",
        rules=[
            FailureRule(on_pod_error="InvalidImageName", subcategory="invalid-image-name"),
            FailureRule(
                on_pod_error="ErrImagePull|ImagePullBackOff|Failed to pull image",
                subcategory="pull-failed",
            ),
            FailureRule(on_pod_events="Failed to pull image", subcategory="pull-failed"),
        ],
    ),
    FailureCategory(
        name="user-error",
        rules=[
            FailureRule(
                on_exit_codes=ExitCodeMatch(operator="NotIn", values=[0]),
                subcategory="non-zero-exit",
            )
        ],
    ),
]


def fast_settings(address: str = "127.0.0.1:1", **overrides: Any) -> ExecutorConfig:
    """Settings with every interval short, so that agent tests take well under a second."""
    values: dict[str, Any] = {
        "cluster_id": "cluster-1",
        "scheduler_address": address,
        "heartbeat_interval": "300ms",
        "min_lease_request_interval": "10ms",
        "issue_check_interval": "50ms",
        "event_flush_interval": "5ms",
        "retry_initial_backoff": "20ms",
        "retry_max_backoff": "200ms",
        "resource_cleanup_interval": "100ms",
        "utilisation_sample_interval": "0s",  # the tests of usage turn it on
        "http": {"host": "127.0.0.1", "port": 0},
        "fake": FakeClusterSettings(
            node_groups=[NodeGroupSettings(name="node", count=4)], startup_delay="20ms"
        ),
    }
    values.update(overrides)
    return ExecutorConfig(**values)


@pytest.fixture(autouse=True)
def _validate_trackers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[RunTracker]]:
    """Collects every RunTracker made during the test and runs its ``validate()`` at the end."""
    made: list[RunTracker] = []
    make = RunTracker.__init__

    def tracked_init(self: RunTracker, settings: ExecutorConfig) -> None:
        make(self, settings)
        made.append(self)

    monkeypatch.setattr(RunTracker, "__init__", tracked_init)
    yield made
    for tracker in made:
        tracker.validate()


@pytest.fixture
async def scheduler() -> AsyncIterator[FakeScheduler]:
    fake = FakeScheduler()
    await fake.start()
    yield fake
    await fake.stop()


@asynccontextmanager
async def running_agent(settings: ExecutorConfig, cluster: Cluster) -> AsyncIterator[ExecutorAgent]:
    """An agent running in the background for the duration of the block."""
    agent = ExecutorAgent(settings=settings, cluster=cluster)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        yield agent
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
