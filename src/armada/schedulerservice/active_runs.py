"""The active runs by executor, kept in step with the job database after every write.

What an executor holds is then found without walking the job database on every LeaseRequest
(see :mod:`armada.schedulerservice.lease_stream`). A replay builds the index once from the job
database's per-executor index; later reads of the log update it for the jobs they touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from armada.scheduling import JobDbSnapshot

_NO_RUNS: Mapping[str, str] = MappingProxyType({})


class ActiveRuns:
    """Executor -> {run id: job id}, and job id -> (executor, run id), of the active runs."""

    def __init__(self) -> None:
        self._by_executor: dict[str, dict[str, str]] = {}
        self._run_of: dict[str, tuple[str, str]] = {}

    def on(self, executor_id: str) -> Mapping[str, str]:
        """The active runs on an executor (run id -> job id). Read-only; it changes with the
        next write to the job database."""
        return self._by_executor.get(executor_id, _NO_RUNS)

    def rebuild(self, snap: JobDbSnapshot) -> None:
        """Build the index afresh from the job database (after a replay)."""
        self._by_executor, self._run_of = _active_runs_of(snap)

    def track(self, snap: JobDbSnapshot, job_ids: Iterable[str | None]) -> None:
        """Bring the active runs of ``job_ids`` (None: no job) in step with ``snap``."""
        run_of = self._run_of
        for job_id in job_ids:
            if job_id is None:
                continue
            job = snap.get(job_id)
            run = job.active_run if job is not None else None
            after = (run.executor, run.run_id) if run is not None else None
            before = run_of.get(job_id)
            if before == after:
                continue
            if before is not None:
                executor, run_id = before
                runs = self._by_executor[executor]
                del runs[run_id]
                if not runs:
                    del self._by_executor[executor]
                del run_of[job_id]
            if after is not None:
                run_of[job_id] = after
                self._by_executor.setdefault(after[0], {})[after[1]] = job_id

    def validate(self, snap: JobDbSnapshot) -> None:
        """Raise AssertionError unless the index holds exactly the active runs of ``snap``."""
        by_executor: dict[str, dict[str, str]] = defaultdict(dict)
        run_of: dict[str, tuple[str, str]] = {}
        for job in snap.jobs():
            run = job.active_run
            if run is not None:
                by_executor[run.executor][run.run_id] = job.job_id
                run_of[job.job_id] = (run.executor, run.run_id)
        assert self._by_executor == by_executor, "active runs by executor out of step"
        assert self._run_of == run_of, "active run of each job out of step"
        assert all(self._by_executor.values()), "an executor kept with no active runs"
        assert _active_runs_of(snap) == (self._by_executor, run_of)


def _active_runs_of(
    snap: JobDbSnapshot,
) -> tuple[dict[str, dict[str, str]], dict[str, tuple[str, str]]]:
    """The active runs of the job database, by executor and by job, from its per-node index."""
    by_executor: dict[str, dict[str, str]] = {}
    run_of: dict[str, tuple[str, str]] = {}
    for executor in snap.active_executors():
        runs: dict[str, str] = {}
        for job_id in snap.active_on_executor(executor):
            run = snap[job_id].active_run
            assert run is not None
            runs[run.run_id] = job_id
            run_of[job_id] = (executor, run.run_id)
        if runs:
            by_executor[executor] = runs
    return by_executor, run_of
