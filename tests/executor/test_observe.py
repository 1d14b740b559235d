"""observe(): from a pod's status to the run events to report. Pure; no clock, no I/O."""

from __future__ import annotations

import re

import pytest

from armada.config.executor import ExecutorConfig, FailureCategory, FailureRule
from armada.domain import events as ev
from armada.executor.classify import FailureClassifier, describe_failure
from armada.executor.model import ContainerView, PodEvent, PodView
from armada.executor.observe import ObservedRun, ObserveRules, Progress, observe

DEFAULTS = ExecutorConfig()
RULES = ObserveRules(
    classifier=FailureClassifier(DEFAULTS.failure_categories, DEFAULTS.default_failure_category),
    retry_reasons=[re.compile(p) for p in ExecutorConfig().failed_pod_retry_reasons],
    cluster="c1",
)


def pod(phase: str = "Pending", node: str = "node-1", **fields: object) -> PodView:
    return PodView(
        name="armada-j-0",
        namespace="ns",
        labels={"armada_job_run_id": "r", "armada_job_id": "j"},
        phase=phase,
        node=node,
        **fields,  # type: ignore[arg-type]
    )


def run(progress: Progress = Progress.NONE, **fields: object) -> ObservedRun:
    return ObservedRun(job_id="j", run_id="r", progress=progress, **fields)  # type: ignore[arg-type]


def kinds(events: list[object]) -> list[str]:
    return [type(e).__name__ for e in events]


def terminated(
    name: str, code: int, reason: str = "", started: float | None = 1.0
) -> ContainerView:
    return ContainerView(
        name=name, state="terminated", exit_code=code, reason=reason, started_at=started
    )


def test_an_unbound_pending_pod_reports_nothing_yet() -> None:
    seen = observe(pod(node=""), run(), RULES)
    assert (seen.progress, seen.events) == (Progress.NONE, [])


def test_each_state_is_reported_once_and_in_order() -> None:
    first = observe(pod(), run(), RULES)
    assert kinds(first.events) == ["JobRunAssigned"]
    assert first.events[0] == ev.JobRunAssigned(
        job_id="j", run_id="r", pod_name="armada-j-0", namespace="ns", node="node-1"
    )
    again = observe(pod(), run(first.progress), RULES)
    assert again.events == []
    running = observe(pod("Running"), run(first.progress), RULES)
    assert kinds(running.events) == ["JobRunRunning"]
    done = observe(pod("Succeeded"), run(running.progress), RULES)
    assert kinds(done.events) == ["JobRunSucceeded"] and done.outcome == "succeeded"
    assert observe(pod("Succeeded"), run(done.progress), RULES).events == []


def test_states_missed_by_the_watch_are_reported_before_the_end() -> None:
    seen = observe(pod("Succeeded", containers=(terminated("main", 0),)), run(), RULES)
    assert kinds(seen.events) == ["JobRunAssigned", "JobRunRunning", "JobRunSucceeded"]


def test_a_pod_that_failed_before_starting_is_not_reported_running() -> None:
    never_ran = pod(
        "Failed",
        containers=(
            ContainerView(name="main", state="terminated", exit_code=128, reason="StartError"),
        ),
    )
    seen = observe(never_ran, run(), RULES)
    assert kinds(seen.events) == ["JobRunAssigned", "JobRunFailed"]


@pytest.mark.parametrize(
    ("status", "cause", "category", "subcategory"),
    [
        ({"containers": (terminated("main", 1),)}, "Error", "user_error", ""),
        ({"containers": (terminated("main", 127),)}, "Error", "user_error", ""),
        ({"containers": (terminated("main", 3),)}, "Error", "uncategorized", ""),
        ({"containers": (terminated("main", 137, "OOMKilled"),)}, "OOM", "oom", ""),
        (
            {
                "reason": "Evicted",
                "message": "low on memory",
                "containers": (terminated("main", 137),),
            },
            "Evicted",
            "uncategorized",
            "",
        ),
        (
            {"reason": "DeadlineExceeded", "message": "too long"},
            "DeadlineExceeded",
            "uncategorized",
            "",
        ),
    ],
)
def test_failures_get_armadas_cause_and_its_development_categories(
    status: dict[str, object], cause: str, category: str, subcategory: str
) -> None:
    seen = observe(pod("Failed", **status), run(Progress.RUNNING), RULES)
    failed = seen.events[-1]
    assert isinstance(failed, ev.JobRunFailed)
    assert (failed.failure.cause, failed.failure.category, failed.failure.subcategory) == (
        cause,
        category,
        subcategory,
    )
    assert failed.failure.cluster == "c1" and failed.failure.pod_name == "armada-j-0"
    assert seen.outcome == "failed" and seen.progress == Progress.FINISHED


def test_exit_codes_of_every_container_are_reported() -> None:
    seen = observe(
        pod("Failed", containers=(terminated("main", 0), terminated("side", 2))),
        run(Progress.RUNNING),
        RULES,
    )
    failed = seen.events[-1]
    assert isinstance(failed, ev.JobRunFailed)
    assert failed.failure.exit_codes == {"main": 0, "side": 2}
    assert failed.failure.reason == "container side exited with code 2"


def test_a_pod_failed_by_the_node_returns_the_lease_instead() -> None:
    seen = observe(
        pod("Failed", reason="OutOfcpu", message="Node didn't have enough resource"),
        run(Progress.ASSIGNED),
        RULES,
    )
    assert seen.outcome == "return" and seen.events == []
    assert "OutOfcpu" in seen.reason


def test_running_reports_ingress_addresses_when_the_job_has_them() -> None:
    seen = observe(
        pod("Running", pod_ip="10.0.0.9"),
        run(Progress.ASSIGNED, service_ports=(80,), ingress_hosts={8080: "h.example"}),
        RULES,
    )
    assert kinds(seen.events) == ["JobRunRunning", "IngressInfo"]
    info = seen.events[1]
    assert isinstance(info, ev.IngressInfo) and info.addresses == {
        80: "10.0.0.9:80",
        8080: "h.example",
    }


def test_categories_are_configurable_and_tried_in_order() -> None:
    classifier = FailureClassifier(
        [
            FailureCategory(
                name="infra",
                rules=[
                    FailureRule(on_exit_codes={"operator": "In", "values": [42]}, subcategory="gpu")
                ],
            ),  # type: ignore[arg-type]
            FailureCategory(name="app", rules=[FailureRule(on_termination_message="panic:")]),
            FailureCategory(name="events", rules=[FailureRule(on_pod_events="FailedMount")]),
        ]
    )
    failed_42 = pod("Failed", containers=(terminated("main", 42),))
    assert describe_failure(failed_42, classifier).subcategory == "gpu"
    assert describe_failure(failed_42, classifier).category == "infra"
    panicked = pod(
        "Failed",
        containers=(
            ContainerView(name="main", state="terminated", exit_code=2, message="panic: nil"),
        ),
    )
    assert describe_failure(panicked, classifier).category == "app"
    mount = PodEvent(
        namespace="ns",
        pod_name="armada-j-0",
        type="Warning",
        reason="FailedMount",
        message="FailedMount: no volume",
        first_seen=0,
        last_seen=0,
    )
    assert describe_failure(pod("Failed"), classifier, [mount]).category == "events"
    assert describe_failure(pod("Failed"), classifier).category == ""
    with_default = FailureClassifier([], default="other")
    assert describe_failure(pod("Failed"), with_default).category == "other"


def test_an_invalid_category_regexp_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="failure category bad, rule 1"):
        FailureClassifier([FailureCategory(name="bad", rules=[FailureRule(on_pod_error="(")])])
