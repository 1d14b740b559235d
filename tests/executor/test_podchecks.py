"""Pending-pod checks: which stuck pods fail, which return their lease, and when."""

from __future__ import annotations

import pytest

from armada.config.executor import PendingPodChecks
from armada.executor.model import ContainerView, PodEvent, PodView
from armada.executor.podchecks import PendingPodChecker, past_active_deadline, waiting_signature

CHECKER = PendingPodChecker(PendingPodChecks())  # Armada's defaults


def pending(
    node: str = "node-1", waiting: str = "", message: str = "", created: float = 0.0
) -> PodView:
    containers = (ContainerView(name="main", reason=waiting, message=message),) if waiting else ()
    return PodView(
        name="p", namespace="ns", labels={}, node=node, containers=containers, created=created
    )


def warning(message: str, at: float, reason: str = "Failed") -> PodEvent:
    return PodEvent(
        namespace="ns",
        pod_name="p",
        type="Warning",
        reason=reason,
        message=message,
        first_seen=at,
        last_seen=at,
    )


def test_an_unbound_pod_is_returned_after_the_node_assignment_deadline() -> None:
    event = warning("0/3 nodes are available: 3 Insufficient cpu.", 0.0, "FailedScheduling")
    assert CHECKER.check(pending(node=""), [event], 0.0, now=299.0) is None
    verdict = CHECKER.check(pending(node=""), [event], 0.0, now=300.0)
    assert verdict is not None and verdict.action == "retry"
    assert "Insufficient cpu" in verdict.reason


def test_invalid_image_names_fail_at_once() -> None:
    verdict = CHECKER.check(
        pending(waiting="InvalidImageName", message="bad tag"), [], 10.0, now=10.0
    )
    assert verdict is not None and verdict.action == "fail"
    assert "InvalidImageName" in verdict.reason


def test_pull_failures_fail_after_the_event_grace_and_back_offs_retry_later() -> None:
    pull = warning(
        'Failed to pull image "x": failed to pull and unpack image "x": not found', 100.0
    )
    pod = pending(waiting="ErrImagePull")
    assert CHECKER.check(pod, [pull], 100.0, now=189.0) is None
    verdict = CHECKER.check(pod, [pull], 100.0, now=190.0)
    assert verdict is not None and verdict.action == "fail"
    backoff = pending(waiting="ImagePullBackOff")
    assert CHECKER.check(backoff, [], 0.0, now=899.0) is None
    late = CHECKER.check(backoff, [], 0.0, now=900.0)
    assert late is not None and late.action == "retry"


def test_other_waiting_reasons_and_warnings_retry_after_five_minutes() -> None:
    creating = pending(waiting="ContainerCreating")
    assert CHECKER.check(creating, [], 0.0, now=299.0) is None
    verdict = CHECKER.check(creating, [], 0.0, now=300.0)
    assert verdict is not None and verdict.action == "retry"
    mount = warning("MountVolume.SetUp failed for volume", 0.0, "FailedMount")
    verdict = CHECKER.check(pending(), [mount], 0.0, now=300.0)
    assert verdict is not None and verdict.action == "retry" and "FailedMount" in verdict.reason


def test_scheduling_warnings_alone_do_not_return_a_bound_pod() -> None:
    scheduling = warning("0/3 nodes are available: preemption...", 0.0, "FailedScheduling")
    assert (
        CHECKER.check(pending(waiting="ContainerCreating"), [scheduling], 200.0, now=301.0) is None
    )


def test_a_bound_pod_with_no_container_status_is_returned_after_the_update_deadline() -> None:
    assert CHECKER.check(pending(created=0.0), [], 0.0, now=299.0) is None
    verdict = CHECKER.check(pending(created=0.0), [], 0.0, now=300.0)
    assert verdict is not None and verdict.action == "retry"


def test_running_or_terminating_pods_are_never_stuck_pending() -> None:
    running = PodView(name="p", namespace="ns", labels={}, phase="Running", node="n")
    assert CHECKER.check(running, [], 0.0, now=10_000.0) is None
    deleting = PodView(name="p", namespace="ns", labels={}, node="n", deleting_since=1.0)
    assert CHECKER.check(deleting, [], 0.0, now=10_000.0) is None


def test_the_waiting_signature_changes_with_the_reason() -> None:
    assert waiting_signature(pending(waiting="ContainerCreating")) == (
        ("main", "ContainerCreating"),
    )
    assert waiting_signature(pending(waiting="ErrImagePull")) != waiting_signature(
        pending(waiting="ContainerCreating")
    )


def test_an_invalid_rule_regexp_is_a_clear_error() -> None:
    from armada.config.executor import ContainerWaitingRule

    with pytest.raises(ValueError, match="container waiting rule 1"):
        PendingPodChecker(
            PendingPodChecks(container_waiting_rules=[ContainerWaitingRule(regexp="[")])
        )


def active(
    deadline: float | None = 10.0, started: float | None = 100.0, **fields: object
) -> PodView:
    return PodView(
        name="p",
        namespace="ns",
        labels={},
        node="node-1",
        phase=str(fields.pop("phase", "Running")),
        created=50.0,
        started=started,
        active_deadline=deadline,
        **fields,  # type: ignore[arg-type]
    )


def test_a_pod_active_past_its_deadline_and_grace_fails() -> None:
    assert past_active_deadline(active(), grace=5.0, now=114.9) is None
    verdict = past_active_deadline(active(), grace=5.0, now=115.0)
    assert verdict is not None and verdict.action == "fail"
    assert "activeDeadlineSeconds (10s)" in verdict.reason


def test_the_deadline_counts_from_creation_until_the_pod_has_started() -> None:
    assert past_active_deadline(active(started=None, phase="Pending"), 0.0, now=59.9) is None
    assert past_active_deadline(active(started=None, phase="Pending"), 0.0, now=60.0) is not None


@pytest.mark.parametrize(
    "pod",
    [
        active(deadline=None),
        active(phase="Succeeded"),
        active(phase="Failed"),
        active(deleting_since=105.0),
    ],
    ids=["no deadline", "succeeded", "failed", "terminating"],
)
def test_pods_without_a_deadline_finished_or_terminating_are_left_alone(pod: PodView) -> None:
    assert past_active_deadline(pod, grace=0.0, now=1_000.0) is None
