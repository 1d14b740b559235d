"""Settings of ``armada dev``: the API server's settings plus the simulated farm's shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from armada.config.base import Duration
from armada.config.server import ServerSettings


class DevSettings(ServerSettings):
    """``armada dev``: every component in one process, with simulated clusters."""

    clusters: int = Field(1, ge=0, description="How many simulated clusters (executors) to run.")
    nodes_per_cluster: int = Field(4, ge=1, description="Nodes in each simulated cluster.")
    node_resources: str = Field(
        "cpu=32,memory=256Gi",
        description="Allocatable resources of each simulated node: name=quantity, comma-separated.",
    )
    schedule_period: Duration = Field(
        timedelta(seconds=1), description="How often the scheduler runs a scheduling round."
    )
    backend: Literal["fake", "process"] = Field(
        "fake", description="fake: simulated pods; process: run jobs' commands as local processes."
    )
