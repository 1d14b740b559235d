"""Settings of ``armada dev``: the API server's settings plus the simulated farm's shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from armada.config.executor import ExecutorSettings
from armada.config.scheduler import SchedulerLoopSettings
from armada.config.server import ServerSettings


class DevSettings(ServerSettings):
    """``armada dev``: every component in one process, with simulated clusters."""

    clusters: int = Field(1, ge=0, description="How many simulated clusters (executors) to run.")
    nodes_per_cluster: int = Field(4, ge=1, description="Nodes in each simulated cluster.")
    node_resources: str = Field(
        "cpu=32,memory=256Gi,ephemeral-storage=1Ti",
        description="Allocatable resources of each simulated node: name=quantity, "
        "comma-separated (ephemeral-storage=1Ti is added when not given: every job asks for "
        "some).",
    )
    scheduler: SchedulerLoopSettings = Field(
        default_factory=lambda: SchedulerLoopSettings(
            schedule_period=timedelta(seconds=1),
            schedule_new_jobs_after=timedelta(milliseconds=100),
            executor_timeout=timedelta(seconds=30),
            executor_stale_after=timedelta(seconds=10),
            lease_resend_after=timedelta(seconds=30),
            missing_run_grace=timedelta(seconds=30),
        ),
        description="The scheduler's loop (shorter periods and timeouts than in production).",
    )
    executor: ExecutorSettings = Field(
        default_factory=lambda: ExecutorSettings(
            heartbeat_interval=timedelta(seconds=1),
            # Simulated pods are cheap to create: let many be in flight at once.
            max_leased_jobs=1000,
            submit_concurrency=64,
            delete_concurrency=64,
        ),
        description="Settings every simulated executor starts from (its id, address, backend "
        "and nodes are set by armada dev).",
    )
    backend: Literal["fake", "process"] = Field(
        "fake", description="fake: simulated pods; process: run jobs' commands as local processes."
    )
