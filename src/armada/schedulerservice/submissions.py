"""The submit check duty: validate new jobs against the farm (which pools could ever run them).

A job that fits nowhere is rejected only from ``rejections_from`` on (after a start, the
executors known before it may not have reported their nodes yet); until then it waits, and is
checked again whenever the nodes change. With no nodes known at all nothing is judged.
"""

from __future__ import annotations

from collections.abc import Callable

from armada.config.scheduling import SchedulingSettings
from armada.domain import events as ev
from armada.domain.lifecycle import JobRecord
from armada.scheduling import JobDbSnapshot, Node
from armada.scheduling.submitcheck import SubmitChecker

_NodeShape = tuple[str, str, str, tuple[tuple[str, int], ...], tuple[tuple[str, str], ...], object]


class SubmitCheckState:
    """The jobs still to judge, and the checker for the nodes last seen."""

    def __init__(self) -> None:
        self.unchecked: dict[str, None] = {}  # new jobs, in order of arrival
        self.deferred: dict[str, str] = {}  # job -> why no node fits it (yet)
        self.rejections_from = float("inf")  # no job is rejected before this (wall clock)
        self._checker: SubmitChecker | None = None
        self._checker_shape: tuple[_NodeShape, ...] = ()
        self._checker_nodes: list[Node] = []

    def checker_for(
        self, nodes: list[Node], settings: SchedulingSettings
    ) -> tuple[SubmitChecker, bool]:
        """A checker for ``nodes``, and whether it is new (the nodes changed)."""
        previous = self._checker_nodes
        if (
            self._checker is not None
            and len(previous) == len(nodes)
            and all(a is b for a, b in zip(previous, nodes, strict=True))
        ):
            return self._checker, False  # the same parsed nodes: nothing can have changed
        self._checker_nodes = nodes
        shape = tuple(
            sorted(
                (
                    n.executor,
                    n.name,
                    n.pool,
                    tuple(sorted(n.allocatable.items())),
                    tuple(sorted(n.labels.items())),
                    # Taints are not ordered: compare their fields (two reports of one node
                    # name may differ only in taints).
                    tuple((t.key, t.value, t.effect) for t in n.taints),
                )
                for n in nodes
            )
        )
        if self._checker is None or shape != self._checker_shape:
            self._checker = SubmitChecker(nodes, settings)
            self._checker_shape = shape
            return self._checker, True
        return self._checker, False


def check_submissions(
    state: SubmitCheckState,
    snap: JobDbSnapshot,
    nodes: list[Node],
    settings: SchedulingSettings,
    now: float,
) -> list[tuple[JobRecord, ev.Event]]:
    """Judge the new jobs (and the deferred ones, when the nodes changed or their grace is
    over) against ``nodes``: each is validated for the pools it fits, rejected, or deferred."""
    if not state.unchecked and not state.deferred:
        return []
    if not nodes:
        return []  # no executor has reported its nodes: nothing to judge against
    checker, changed = state.checker_for(nodes, settings)
    rejecting = now >= state.rejections_from
    if state.deferred and (changed or rejecting):
        state.unchecked.update(dict.fromkeys(state.deferred))
        state.deferred.clear()
    pairs: list[tuple[JobRecord, ev.Event]] = []
    unchecked, state.unchecked = state.unchecked, {}
    for job_id in unchecked:
        job = snap.get(job_id)
        if job is None or job.validated_pools or job.state.terminal:
            continue
        result = checker.check_submittable(job.spec.requirements, job.spec.gang)
        if result.ok:
            pairs.append((job, ev.JobValidated(job_id=job_id, pools=result.pools)))
        elif rejecting:
            pairs.append((job, ev.JobRejected(job_id=job_id, reason=result.reason)))
        else:
            state.deferred[job_id] = result.reason
    return pairs


def pending_reason(
    state: SubmitCheckState, job_id: str, now: float, known_nodes: Callable[[], list[Node]]
) -> str | None:
    """Why the submit check has not judged a job yet, in words; None if it has."""
    if job_id in state.deferred:
        left = max(0.0, state.rejections_from - now)
        return (
            f"no node known now could ever run it ({state.deferred[job_id]}); the "
            "scheduler started recently and not every executor may have reported its "
            f"nodes yet: it is rejected in {left:.0f}s if that is still so"
        )
    if job_id in state.unchecked:
        if not known_nodes():
            return "no executor has reported its nodes yet: the submit check waits for one"
        return "not checked yet"
    return None
