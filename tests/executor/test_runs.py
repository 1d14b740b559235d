"""The run tracker: every stimulus and the instructions it gives. No I/O, explicit time."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from armada.domain import events as ev
from armada.executor.model import ContainerView, Lease, PodView
from armada.executor.runs import (
    CreatePod,
    DeletePod,
    Instruction,
    ReportEvent,
    RunTracker,
    SubmitError,
)
from armada.executor.testing import lease_message, pod_spec_bytes
from armada.executor.wire import lease_from_proto
from tests.executor.conftest import DETAILED_CATEGORIES, fast_settings


def tracker(**overrides: Any) -> RunTracker:
    return RunTracker(fast_settings(**overrides))


def lease(job: str = "j1", run: str = "", grace: int | None = 5) -> Lease:
    spec = pod_spec_bytes(["sleep", "9"], grace_seconds=grace)
    return lease_from_proto(
        lease_message(job, run_id=run or f"run-{job}", node="n1", pod_spec=spec)
    )


def pod(
    job: str = "j1", run: str = "", phase: str = "Pending", node: str = "n1", **fields: Any
) -> PodView:
    return PodView(
        name=f"armada-{job}-0",
        namespace="default",
        labels={"armada_job_id": job, "armada_job_run_id": run or f"run-{job}"},
        phase=phase,
        node=node,
        **fields,
    )


def reports(instructions: list[Instruction]) -> list[str]:
    return [type(i.event).__name__ for i in instructions if isinstance(i, ReportEvent)]


def started(t: RunTracker, job: str = "j1", now: float = 0.0) -> None:
    """Lease a job and create its pod."""
    t.lease(lease(job), now)
    (create,) = t.next_submissions(10, now)
    assert isinstance(create, CreatePod)
    assert t.submitted(create.plan.run_id, None, now) == []


def test_a_lease_is_created_observed_reported_and_forgotten() -> None:
    t = tracker(minimum_pod_age="60s")
    assert t.lease(lease(), 0.0) == []
    assert t.unassigned_run_ids() == ["run-j1"] and t.active_run_ids() == ["run-j1"]
    (create,) = t.next_submissions(10, 0.0)
    assert isinstance(create, CreatePod) and create.plan.pod_name == "armada-j1-0"
    assert t.next_submissions(10, 0.0) == []
    assert t.submitted("run-j1", None, 1.0) == []
    assert t.unassigned_run_ids() == []
    assert reports(t.pod_seen(pod(), 1.0)) == ["JobRunAssigned"]
    assert reports(t.pod_seen(pod(phase="Running"), 2.0)) == ["JobRunRunning"]
    assert t.runs_by_node() == {"n1": ["run-j1"]}
    done = t.pod_seen(pod(phase="Succeeded"), 3.0)
    assert reports(done) == ["JobRunSucceeded"] and done[-1].final  # type: ignore[union-attr]
    assert t.active_run_ids() == ["run-j1"]  # until the scheduler has the final event
    t.delivered(["run-j1"])
    assert t.active_run_ids() == [] and t.get("run-j1") is not None  # the pod is still there
    assert t.tick(62.0, {}) == []
    assert t.tick(63.0, {}) == [DeletePod("run-j1", "default", "armada-j1-0", 5.0)]
    assert t.deleted("run-j1", True, 64.0) == []
    assert t.get("run-j1") is None and len(t) == 0
    assert t.lease(lease(), 64.0) == [] and t.next_submissions(10, 64.0) == []  # never twice


def test_a_lease_for_a_run_already_held_is_ignored() -> None:
    t = tracker()
    t.lease(lease(), 0.0)
    t.lease(lease(), 0.0)
    assert len(t.next_submissions(10, 0.0)) == 1


def test_submissions_respect_the_limit_in_lease_order() -> None:
    t = tracker()
    for job in ("a", "b", "c"):
        t.lease(lease(job), 0.0)
    first = t.next_submissions(2, 0.0)
    assert [i.plan.job_id for i in first if isinstance(i, CreatePod)] == ["a", "b"]
    assert t.queued_count() == 1


def test_cancel_before_creation_reports_at_once_and_creates_nothing() -> None:
    t = tracker()
    t.lease(lease(), 0.0)
    assert reports(t.cancel(["run-j1"], 0.0)) == ["JobRunCancelled"]
    assert t.next_submissions(10, 0.0) == []


def test_cancel_while_creating_deletes_once_created() -> None:
    t = tracker()
    t.lease(lease(), 0.0)
    t.next_submissions(10, 0.0)
    assert t.cancel(["run-j1"], 0.0) == []
    assert t.submitted("run-j1", None, 1.0) == [DeletePod("run-j1", "default", "armada-j1-0", 5.0)]
    assert reports(t.deleted("run-j1", True, 2.0)) == ["JobRunCancelled"]


def test_cancel_of_a_running_pod_waits_for_it_to_go_and_forces_it_after_the_timeout() -> None:
    t = tracker(pod_kill_timeout="30s")
    started(t)
    t.pod_seen(pod(phase="Running"), 1.0)
    assert t.cancel(["run-j1"], 2.0, preempt=True) == [
        DeletePod("run-j1", "default", "armada-j1-0", 5.0)
    ]
    assert t.cancel(["run-j1"], 2.5) == []  # already being stopped
    assert t.deleted("run-j1", False, 3.0) == []  # terminating
    assert t.pod_seen(pod(phase="Running", deleting_since=3.0), 3.0) == []
    assert t.tick(31.0, {}) == []
    assert t.tick(32.0, {}) == [DeletePod("run-j1", "default", "armada-j1-0", 0.0, force=True)]
    assert reports(t.pod_gone("default", "armada-j1-0", "run-j1", 33.0)) == ["JobRunCancelled"]


def test_a_failed_delete_is_tried_again() -> None:
    t = tracker()
    started(t)
    t.pod_seen(pod(phase="Running"), 1.0)
    t.cancel(["run-j1"], 2.0)
    t.delete_failed("run-j1")
    assert t.tick(3.0, {}) == [DeletePod("run-j1", "default", "armada-j1-0", 5.0)]


def test_creation_errors_fail_the_run_or_return_the_lease() -> None:
    t = tracker()
    t.lease(lease("a"), 0.0)
    t.lease(lease("b"), 0.0)
    t.next_submissions(10, 0.0)
    fatal = t.submitted("run-a", SubmitError("admission webhook denied", fatal=True), 1.0)
    assert fatal[-1] == DeletePod("run-a", "default", "armada-a-0", 5.0)  # anything half-made
    (failed,) = [i.event for i in fatal if isinstance(i, ReportEvent)]
    assert isinstance(failed, ev.JobRunFailed)
    assert (failed.failure.category, failed.failure.subcategory) == (
        "internal",
        "job-creation-failed",
    )
    retry = t.submitted("run-b", SubmitError("quota exceeded"), 1.0)
    assert retry == [DeletePod("run-b", "default", "armada-b-0", 5.0)]
    (returned,) = [i.event for i in t.deleted("run-b", True, 2.0) if isinstance(i, ReportEvent)]
    assert isinstance(returned, ev.JobRunLeaseReturned) and not returned.run_attempted
    assert "quota exceeded" in returned.reason


def test_a_pod_deleted_behind_armadas_back_fails_the_run() -> None:
    t = tracker()
    started(t)
    t.pod_seen(pod(phase="Running"), 1.0)
    (failed,) = [
        i.event
        for i in t.pod_gone("default", "armada-j1-0", "run-j1", 2.0)
        if isinstance(i, ReportEvent)
    ]
    assert (
        isinstance(failed, ev.JobRunFailed) and failed.failure.subcategory == "externally-deleted"
    )


def test_a_stuck_pod_is_deleted_and_its_lease_returned() -> None:
    t = tracker()
    started(t)
    t.pod_seen(pod(containers=(ContainerView(name="main", reason="ContainerCreating"),)), 0.0)
    assert t.tick(299.0, {}) == []
    assert t.tick(300.0, {}) == [DeletePod("run-j1", "default", "armada-j1-0", 5.0)]
    (returned,) = [i.event for i in t.deleted("run-j1", True, 301.0) if isinstance(i, ReportEvent)]
    assert isinstance(returned, ev.JobRunLeaseReturned) and "ContainerCreating" in returned.reason


def test_a_bad_image_fails_the_run_then_deletes_the_pod() -> None:
    t = tracker(failure_categories=DETAILED_CATEGORIES)
    started(t)
    out = t.pod_seen(pod(containers=(ContainerView(name="main", reason="InvalidImageName"),)), 0.0)
    assert reports(out) == ["JobRunAssigned"]
    checked = t.tick(1.0, {})
    assert reports(checked) == ["JobRunFailed"]
    assert checked[-1] == DeletePod("run-j1", "default", "armada-j1-0", 5.0)
    failed = checked[0].event  # type: ignore[union-attr]
    assert isinstance(failed, ev.JobRunFailed) and failed.failure.category == "image-pull"
    assert t.pod_gone("default", "armada-j1-0", "run-j1", 2.0) == []  # nothing more to say


def test_a_pod_left_running_past_its_deadline_fails_deadline_exceeded_then_goes() -> None:
    """The kubelet should stop it at 30s; the executor acts after its grace (5s) and the
    deadline grace (60s): DeadlineExceeded, as Armada reports it."""
    t = tracker(active_deadline_grace="60s", failure_categories=DETAILED_CATEGORIES)
    started(t)
    running = pod(phase="Running", started=0.0, active_deadline=30.0)
    assert reports(t.pod_seen(running, 1.0)) == ["JobRunAssigned", "JobRunRunning"]
    assert t.tick(94.9, {}) == []
    checked = t.tick(95.0, {})
    assert reports(checked) == ["JobRunFailed"]
    assert checked[-1] == DeletePod("run-j1", "default", "armada-j1-0", 5.0)
    failed = checked[0].event  # type: ignore[union-attr]
    assert isinstance(failed, ev.JobRunFailed)
    info = failed.failure
    assert (info.cause, info.category, info.subcategory) == (
        "DeadlineExceeded",
        "deadline-exceeded",
        "active-deadline",
    )
    assert "activeDeadlineSeconds (30s)" in info.reason
    assert t.tick(96.0, {}) == []  # failed once; the delete is under way
    assert t.pod_seen(dataclasses.replace(running, phase="Failed"), 97.0) == []
    assert t.pod_gone("default", "armada-j1-0", "run-j1", 98.0) == []


def test_a_created_pod_that_never_appears_returns_the_lease() -> None:
    t = tracker(submitted_pod_missing_after="60s")
    started(t)
    assert t.tick(59.0, {}) == []
    assert t.tick(60.0, {}) == [DeletePod("run-j1", "default", "armada-j1-0", 5.0)]
    assert reports(t.deleted("run-j1", True, 61.0)) == ["JobRunLeaseReturned"]


def test_a_retry_waits_for_the_previous_runs_pod_to_go() -> None:
    t = tracker()
    started(t)
    t.pod_seen(
        pod(
            phase="Failed",
            containers=(ContainerView(name="main", state="terminated", exit_code=1),),
        ),
        1.0,
    )
    t.lease(lease("j1", run="second"), 2.0)
    assert t.next_submissions(10, 2.0) == [DeletePod("run-j1", "default", "armada-j1-0", 5.0)]
    assert t.next_submissions(10, 2.0) == []  # still waiting, no second delete
    t.deleted("run-j1", True, 3.0)
    (create,) = t.next_submissions(10, 3.0)
    assert isinstance(create, CreatePod) and create.plan.run_id == "second"


def test_two_runs_of_one_job_never_have_pods_at_once() -> None:
    t = tracker()
    t.lease(lease("j1", run="first"), 0.0)
    t.lease(lease("j1", run="second"), 0.0)
    (create,) = t.next_submissions(10, 0.0)
    assert isinstance(create, CreatePod) and create.plan.run_id == "first"
    t.cancel(["first"], 1.0)
    assert t.next_submissions(10, 1.0) == []  # first's pod may exist: second waits
    t.submitted("first", SubmitError("timeout"), 2.0)
    assert reports(t.deleted("first", True, 3.0)) == ["JobRunCancelled"]
    (create,) = t.next_submissions(10, 3.0)
    assert isinstance(create, CreatePod) and create.plan.run_id == "second"


def test_finished_pods_beyond_the_maximum_go_oldest_first() -> None:
    t = tracker(max_terminated_pods=1, minimum_pod_age="1h")
    for index, job in enumerate(("a", "b")):
        started(t, job)
        t.pod_seen(pod(job, phase="Succeeded"), float(index))
    assert t.tick(5.0, {}) == [DeletePod("run-a", "default", "armada-a-0", 5.0)]


def test_a_snapshot_without_a_pod_means_the_pod_is_gone() -> None:
    t = tracker()
    started(t)
    t.pod_seen(pod(phase="Running"), 1.0)
    t.cancel(["run-j1"], 2.0)
    assert reports(t.snapshot([], 3.0)) == ["JobRunCancelled"]


def test_pods_found_without_a_lease_are_adopted_and_reported() -> None:
    t = tracker()
    out = t.snapshot([pod("x", phase="Running")], 0.0)
    assert reports(out) == ["JobRunAssigned", "JobRunRunning"]
    assert t.active_run_ids() == ["run-x"]
    t.lease(lease("x"), 1.0)
    assert t.next_submissions(10, 1.0) == []


# --- a property: whatever happens, no run is created twice or ends twice ---------------------


class _World:
    """A minimal cluster and scheduler around a tracker, executing its instructions."""

    def __init__(self) -> None:
        self.t = tracker(
            submitted_pod_missing_after="30s", pod_kill_timeout="10s", minimum_pod_age="20s"
        )
        self.now = 0.0
        self.pods: dict[str, PodView] = {}
        self.creating: list[str] = []
        self.deleting: list[str] = []
        self.created: dict[str, int] = {}
        self.reported: dict[str, list[ReportEvent]] = {}
        self.finals: list[str] = []

    def run(self, instructions: list[Instruction]) -> None:
        for i in instructions:
            if isinstance(i, CreatePod):
                self.created[i.plan.run_id] = self.created.get(i.plan.run_id, 0) + 1
                self.creating.append(i.plan.run_id)
            elif isinstance(i, DeletePod):
                self.deleting.append(i.run_id)
            else:
                self.reported.setdefault(i.event.run_id, []).append(i)
                if i.final:
                    self.finals.append(i.event.run_id)

    def step(self, action: str, n: int) -> None:
        t, job = self.t, f"j{n}"
        run = f"run-{job}"
        if action == "lease":
            self.run(t.lease(lease(job), self.now))
        elif action == "submit":
            self.run(t.next_submissions(2, self.now))
        elif action in ("create_ok", "create_fail") and self.creating:
            created = self.creating.pop(0)
            if action == "create_ok":
                self.pods[created] = pod(created.removeprefix("run-"), run=created)
                self.run(t.submitted(created, None, self.now))
            else:
                self.run(t.submitted(created, SubmitError("nope", fatal=n % 2 == 0), self.now))
        elif action == "progress" and run in self.pods:
            current = self.pods[run]
            nxt = {"Pending": "Running", "Running": "Succeeded" if n % 2 else "Failed"}.get(
                current.phase
            )
            if nxt is not None:
                self.pods[run] = dataclasses.replace(current, phase=nxt)
                self.run(t.pod_seen(self.pods[run], self.now))
        elif action == "watch" and run in self.pods:
            self.run(t.pod_seen(self.pods[run], self.now))
        elif action == "delete_done" and self.deleting:
            target = self.deleting.pop(0)
            gone = self.pods.pop(target, None) is not None or True
            self.run(t.deleted(target, gone, self.now))
        elif action in ("cancel", "preempt"):
            self.run(t.cancel([run], self.now, preempt=action == "preempt"))
        elif action == "tick":
            self.now += 7.0 * (n + 1)
            self.run(t.tick(self.now, {}))
        elif action == "deliver":
            t.delivered(list(self.finals))
        elif action == "all_deletes":
            while self.deleting:
                self.step("delete_done", n)

    def check(self) -> None:
        order = ["JobRunAssigned", "JobRunRunning", "IngressInfo"]
        for run_id, events in self.reported.items():
            finals = [e for e in events if e.final]
            assert len(finals) <= 1, f"{run_id} ended twice: {events}"
            if finals:
                assert events[-1].final, f"{run_id} reported after its end: {events}"
            names = [type(e.event).__name__ for e in events if not e.final]
            assert names == [n for n in order if n in names], f"{run_id} out of order: {names}"
        assert all(count == 1 for count in self.created.values()), self.created


ACTIONS = [
    "lease",
    "submit",
    "create_ok",
    "create_fail",
    "progress",
    "watch",
    "delete_done",
    "cancel",
    "preempt",
    "tick",
    "deliver",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 2)), max_size=80))
def test_no_run_is_created_twice_or_ends_twice(steps: list[tuple[str, int]]) -> None:
    world = _World()
    for action, n in steps:
        world.step(action, n)
        world.check()
