"""From a pod's status to the run events to report: a pure function of the pod and the past.

The kubelet moves a pod Pending → Running → Succeeded/Failed; the executor reports the run as
assigned (pod bound to its node), running, then succeeded or failed. A watch may skip states (a
pod can be created and finish between two looks), so every state not yet reported is reported
in order. A failed pod whose reason says the node, not the job, was at fault (``OutOfcpu``,
``UnexpectedAdmissionError``...) is not reported as failed: its lease is returned instead.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from armada.domain import events as ev
from armada.executor.classify import FailureClassifier, describe_failure
from armada.executor.model import PodEvent, PodView

RunEvent = ev.RunEvent  # what the executor reports about a run


class Progress(enum.IntEnum):
    """How far the run's reports have gone."""

    NONE = 0
    ASSIGNED = 1
    RUNNING = 2
    FINISHED = 3


@dataclass(frozen=True, slots=True)
class ObservedRun:
    """What :func:`observe` needs to know about the run beyond its pod."""

    job_id: str
    run_id: str
    progress: Progress
    ingress_hosts: dict[int, str] = field(default_factory=dict)
    service_ports: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Observation:
    """The events to report, the progress after them, and how the run ended if it did.

    ``outcome`` is ``succeeded`` or ``failed`` (final events included in ``events``), ``return``
    (delete the pod, then report the lease returned with ``reason``) or ``""`` while it runs.
    """

    progress: Progress
    events: list[RunEvent]
    outcome: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ObserveRules:
    """The configuration observation depends on."""

    classifier: FailureClassifier
    retry_reasons: Sequence[re.Pattern[str]] = ()
    cluster: str = ""


def observe(
    pod: PodView, run: ObservedRun, rules: ObserveRules, events: Iterable[PodEvent] = ()
) -> Observation:
    """Compare ``pod`` with what was reported for ``run``; say what to report now."""
    progress = run.progress
    out: list[RunEvent] = []
    if progress >= Progress.FINISHED or pod.phase not in _PHASES:
        return Observation(progress, out)
    if progress < Progress.ASSIGNED and (pod.node or pod.phase != "Pending"):
        out.append(
            ev.JobRunAssigned(
                job_id=run.job_id,
                run_id=run.run_id,
                pod_name=pod.name,
                namespace=pod.namespace,
                node=pod.node,
            )
        )
        progress = Progress.ASSIGNED
    if pod.phase == "Pending":
        return Observation(progress, out)
    ran = pod.phase in ("Running", "Succeeded") or _any_started(pod)
    if progress < Progress.RUNNING and ran:
        out.append(
            ev.JobRunRunning(
                job_id=run.job_id,
                run_id=run.run_id,
                pod_name=pod.name,
                namespace=pod.namespace,
                node=pod.node,
            )
        )
        out.extend(_ingress_info(pod, run))
        progress = Progress.RUNNING
    if pod.phase == "Succeeded":
        out.append(
            ev.JobRunSucceeded(
                job_id=run.job_id, run_id=run.run_id, pod_name=pod.name, node=pod.node
            )
        )
        return Observation(Progress.FINISHED, out, "succeeded")
    if pod.phase == "Failed":
        if any(pattern.search(pod.reason) for pattern in rules.retry_reasons if pod.reason):
            reason = f"pod failed through no fault of the job: {pod.reason}: {pod.message}"
            return Observation(progress, out, "return", reason.rstrip(": "))
        failure = describe_failure(pod, rules.classifier, events, cluster=rules.cluster)
        out.append(ev.JobRunFailed(job_id=run.job_id, run_id=run.run_id, failure=failure))
        return Observation(Progress.FINISHED, out, "failed", failure.reason)
    return Observation(progress, out)


_PHASES = frozenset({"Pending", "Running", "Succeeded", "Failed"})


def _any_started(pod: PodView) -> bool:
    return any(c.started_at is not None for c in pod.containers)


def _ingress_info(pod: PodView, run: ObservedRun) -> list[RunEvent]:
    if not (run.ingress_hosts or run.service_ports) or not pod.pod_ip:
        return []
    addresses = {port: f"{pod.pod_ip}:{port}" for port in run.service_ports}
    addresses.update(run.ingress_hosts)
    return [
        ev.IngressInfo(
            job_id=run.job_id,
            run_id=run.run_id,
            node=pod.node,
            pod_name=pod.name,
            namespace=pod.namespace,
            addresses=addresses,
        )
    ]
