"""Settings of ``armada dev``: the API server's settings plus the simulated farm's shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel

from armada.config.auth import AuthSettings, open_auth
from armada.config.executor import ExecutorConfig
from armada.config.scheduler import SchedulerLoopSettings
from armada.config.server import ServerSettings

# What armada dev changes from the components' defaults: shorter periods and timeouts, and
# simulated pods, cheap to create, many in flight at once. A config file's ``scheduler`` or
# ``executor`` section is laid over these, not over the production defaults.
_DEV_SCHEDULER: dict[str, Any] = {
    "schedule_period": timedelta(seconds=1),
    "schedule_new_jobs_after": timedelta(milliseconds=100),
    "executor_timeout": timedelta(seconds=30),
    "executor_stale_after": timedelta(seconds=10),
    "lease_resend_after": timedelta(seconds=30),
    "missing_run_grace": timedelta(seconds=30),
}
_DEV_EXECUTOR: dict[str, Any] = {
    "heartbeat_interval": timedelta(seconds=1),
    # Every LeaseRequest makes the scheduler walk the executor's runs; in one process that is
    # CPU the pods need (10,000-job burst: p50 submit->running 4.4 s at 100ms, 4.1 s at 300ms).
    "min_lease_request_interval": timedelta(milliseconds=300),
    "max_leased_jobs": 1000,
    "submit_concurrency": 64,
    "delete_concurrency": 64,
}


def _with_defaults(given: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``given`` (keys in snake_case or camelCase) over ``defaults`` (snake_case)."""
    missing = {k: v for k, v in defaults.items() if k not in given and to_camel(k) not in given}
    return {**missing, **given}


class DevSettings(ServerSettings):
    """``armada dev``: every component in one process, with simulated clusters."""

    clusters: int = Field(1, ge=0, description="How many simulated clusters (executors) to run.")
    nodes_per_cluster: int = Field(
        4,
        ge=0,
        description="Nodes in each simulated cluster's default group, <cluster>-node-<i> "
        "(0: only the groups of executor.fake.nodeGroups).",
    )
    node_resources: str = Field(
        "cpu=32,memory=256Gi,ephemeral-storage=1Ti",
        description="Allocatable resources of each node of the default group: name=quantity, "
        "comma-separated (ephemeral-storage=1Ti is added when not given: every job asks for "
        "some). The process backend's node offers this machine's CPUs, memory and free disk "
        "of data_dir unless this is given.",
    )
    scheduler: SchedulerLoopSettings = Field(
        default_factory=lambda: SchedulerLoopSettings(**_DEV_SCHEDULER),
        description="The scheduler's loop (shorter periods and timeouts than in production).",
    )
    executor: ExecutorConfig = Field(
        default_factory=lambda: ExecutorConfig(**_DEV_EXECUTOR),
        description="Settings every simulated executor starts from (its id, address and backend "
        "are set by armada dev). executor.fake.nodeGroups, if given, are added to each "
        "cluster's default group, named <cluster>-<name>.",
    )
    auth: AuthSettings = Field(
        default_factory=open_auth,
        description="armada dev lets anonymous callers do everything unless this is given.",
    )
    backend: Literal["fake", "process"] = Field(
        "fake", description="fake: simulated pods; process: run jobs' commands as local processes."
    )

    @model_validator(mode="before")
    @classmethod
    def _dev_defaults_under_given_sections(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key, defaults in (("scheduler", _DEV_SCHEDULER), ("executor", _DEV_EXECUTOR)):
            if isinstance(data.get(key), dict):
                data[key] = _with_defaults(data[key], defaults)
        return data
