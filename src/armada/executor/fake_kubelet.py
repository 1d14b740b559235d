"""What the kubelet would report of a fake backend's pod: statuses, reasons, events, output.

A :class:`SimulatedPod` is one pod of :class:`~armada.executor.fake.FakeCluster` as its
scenario (:mod:`armada.executor.fake_scenario`) plays it: the container statuses a pod that
cannot start waits with (``ErrImagePull``, ``InvalidImageName``, ``ContainerCreating``), those
it ends with (exit codes, ``OOMKilled``; pod reasons ``Evicted`` and ``DeadlineExceeded``), the
events beside them and the lines its containers "write". When each happens is the cluster's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from armada.executor.cluster import PodKey
from armada.executor.fake_scenario import Scenario
from armada.executor.logtext import rfc3339
from armada.executor.model import ContainerView, PodEvent, PodLogLine, PodPlan
from armada.executor.podspec import command_line, containers

DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"

# (phase, container statuses, pod reason, pod message), as a pod ends.
Ending = tuple[str, tuple[ContainerView, ...], str, str]


def pod_event(key: PodKey, kind: str, reason: str, message: str, now: float) -> PodEvent:
    """An event about the pod ``key``, seen once at ``now``."""
    return PodEvent(
        namespace=key[0],
        pod_name=key[1],
        type=kind,
        reason=reason,
        message=message,
        first_seen=now,
        last_seen=now,
    )


@dataclass(slots=True)
class SimulatedPod:
    """One pod of the fake cluster: its plan, its scenario and what has happened to it."""

    plan: PodPlan
    scenario: Scenario
    requests: dict[str, int]
    pinned: str
    tolerations: list[dict[str, Any]]
    deadline: float | None
    generation: int = 0
    node: str = ""
    started: float | None = None
    logs: dict[str, list[PodLogLine]] = field(default_factory=dict)
    events: list[PodEvent] = field(default_factory=list)

    def start(self, now: float) -> None:
        """Its containers start: each logs its command; the first, the scenario's output."""
        self.started = now
        for spec in containers(self.plan.pod):
            name, argv = spec.get("name", "main"), command_line(spec)
            self.logs[name] = [
                PodLogLine(rfc3339(now), f"fake: container {name} started: {' '.join(argv)}")
            ]
        first = next(iter(self.logs), "")
        self.logs.setdefault(first, []).extend(
            PodLogLine(rfc3339(now), line) for line in self.scenario.output
        )

    def waiting(self, key: PodKey, now: float) -> tuple[ContainerView, ...]:
        """The statuses of containers that cannot start (the scenario's failure says why),
        with the kubelet's event about it."""
        image = self.plan.pod["spec"]["containers"][0].get("image", "")
        failure = self.scenario.failure
        if failure == "image-pull":
            reason = "ErrImagePull"
            message = (
                "rpc error: code = NotFound desc = "
                f'failed to pull and unpack image "{image}": not found'
            )
            pulled = f'Failed to pull image "{image}": {message}'
            self.events.append(pod_event(key, "Warning", "Failed", pulled, now))
        elif failure == "invalid-image":
            reason, message = (
                "InvalidImageName",
                f'Failed to apply default image tag "{image}": couldn\'t parse image name',
            )
            self.events.append(pod_event(key, "Warning", "InspectFailed", message, now))
        else:
            reason, message = "ContainerCreating", ""
        return tuple(
            ContainerView(name=n, reason=reason, message=message) for n in self.scenario.runtimes
        )

    def ended(self, now: float) -> Ending:
        """How the pod ends when its runtime is over, as its scenario says."""
        failure = self.scenario.failure
        if failure == "evicted":
            return self.failed(now, "Evicted", "The node was low on resource: memory.")
        if failure == "deadline":
            return self.failed(now, "DeadlineExceeded", DEADLINE_MESSAGE)
        statuses = []
        for index, (name, runtime) in enumerate(self.scenario.runtimes.items()):
            code = self.scenario.exit_codes.get(name, 0)
            reason = "Completed" if code == 0 else "Error"
            if failure == "oom" and index == 0:
                code, reason = 137, "OOMKilled"
            at = min(now, (self.started or now) + runtime)
            statuses.append(self._terminated(name, code, reason, at))
        phase = "Succeeded" if all(c.exit_code == 0 for c in statuses) else "Failed"
        return phase, tuple(statuses), "", ""

    def failed(self, now: float, reason: str, message: str) -> Ending:
        """The pod killed now (every container with 137), for ``reason``."""
        statuses = tuple(
            self._terminated(name, 137, "Error", now) for name in self.scenario.runtimes
        )
        return "Failed", statuses, reason, message

    def _terminated(self, name: str, code: int, reason: str, at: float) -> ContainerView:
        self.logs.setdefault(name, []).append(
            PodLogLine(rfc3339(at), f"fake: container {name} exited with code {code}")
        )
        return ContainerView(
            name=name,
            state="terminated",
            reason=reason,
            exit_code=code,
            started_at=self.started,
            finished_at=at,
        )
