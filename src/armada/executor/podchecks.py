"""Is a pod stuck? Pure checks of a pod, its events and how long it has waited.

Armada's ``pendingPodChecks``: a pod not bound to a node in time, Warning events that persist
(image pull failures fail the job; most others return the lease), and containers waiting for a
reason that persists (``InvalidImageName`` fails at once, pull back-offs are retried, anything
else is retried after a while). A verdict ``fail`` fails the run; ``retry`` deletes the pod and
returns the lease so the job is scheduled again. The caller supplies the time a container has
been waiting for its current reason (:func:`waiting_signature` says when that changed).

And Armada's ``ActiveDeadlineExceeded`` issue (:func:`past_active_deadline`): the kubelet
enforces ``activeDeadlineSeconds``, but a pod still active well past it (a kubelet that cannot
stop it, a node gone quiet) is failed by the executor itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from armada.config.executor import ContainerWaitingRule, PendingEventRule, PendingPodChecks
from armada.executor.model import PodEvent, PodView

Action = Literal["fail", "retry"]


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: str


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    inverse: bool
    action: Action
    grace: float

    def applies(self, text: str) -> bool:
        return bool(self.pattern.search(text)) != self.inverse


def _compile(regexp: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(regexp)
    except re.error as exc:
        raise ValueError(f"{where}: {regexp!r} is not a valid regular expression: {exc}") from None


def _rules(rules: Sequence[PendingEventRule | ContainerWaitingRule], what: str) -> list[_Rule]:
    return [
        _Rule(_compile(r.regexp, f"{what} {i + 1}"), r.inverse, r.action, r.grace.total_seconds())
        for i, r in enumerate(rules)
    ]


def past_active_deadline(pod: PodView, grace: float, now: float) -> Verdict | None:
    """``fail`` if ``pod`` is still active ``grace`` seconds past its activeDeadlineSeconds.

    The deadline counts from the pod's start (its creation if it has not started, as Armada
    counts). ``grace`` should cover the pod's termination grace period, which the kubelet
    allows a pod it stops at its deadline. Finished and terminating pods are left alone.
    """
    deadline = pod.active_deadline
    if deadline is None or pod.terminal or pod.deleting_since is not None:
        return None
    start = pod.started if pod.started is not None else pod.created
    if now - start < deadline + grace:
        return None
    return Verdict(
        "fail",
        f"pod still active {now - start:.0f}s after it started, past its "
        f"activeDeadlineSeconds ({deadline:g}s)",
    )


def waiting_signature(pod: PodView) -> tuple[tuple[str, str], ...]:
    """What the pod's containers are waiting for; when it changes, the waiting clock restarts."""
    return tuple(
        (c.name, c.reason)
        for c in pod.init_containers + pod.containers
        if c.state == "waiting" and c.reason
    )


class PendingPodChecker:
    """The configured pending-pod checks, compiled once."""

    def __init__(self, checks: PendingPodChecks) -> None:
        self._node_deadline = checks.deadline_for_node_assignment.total_seconds()
        self._update_deadline = checks.deadline_for_updates.total_seconds()
        self._event_rules = _rules(checks.event_rules, "pending pod event rule")
        self._waiting_rules = _rules(checks.container_waiting_rules, "container waiting rule")

    @property
    def earliest_event_grace(self) -> float:
        """Events matter only for pods pending at least this long (so fetch them only then)."""
        return min((r.grace for r in self._event_rules), default=float("inf"))

    def check(
        self, pod: PodView, events: Iterable[PodEvent], waiting_since: float, now: float
    ) -> Verdict | None:
        """The verdict on a pending pod, or None while it may still start."""
        if pod.phase != "Pending" or pod.deleting_since is not None:
            return None
        events = [e for e in events if e.type == "Warning"]
        if not pod.node:
            if now - pod.created >= self._node_deadline:
                last = events[-1].message if events else "no reason given"
                return Verdict(
                    "retry",
                    f"pod was not bound to a node within {self._node_deadline:g}s: {last}",
                )
            return None
        verdict = self._check_events(events, now)
        if verdict is not None:
            return verdict
        verdict = self._check_waiting(pod, waiting_since, now)
        if verdict is not None:
            return verdict
        if not (pod.containers or pod.init_containers) and (
            now - pod.created >= self._update_deadline
        ):
            return Verdict(
                "retry", f"pod reported no container status within {self._update_deadline:g}s"
            )
        return None

    def _check_events(self, events: Iterable[PodEvent], now: float) -> Verdict | None:
        for event in events:
            for rule in self._event_rules:
                if rule.applies(event.message):
                    if now - event.first_seen >= rule.grace:
                        return Verdict(rule.action, f"{event.reason}: {event.message}")
                    break
        return None

    def _check_waiting(self, pod: PodView, waiting_since: float, now: float) -> Verdict | None:
        for container in pod.init_containers + pod.containers:
            if container.state != "waiting" or not container.reason:
                continue
            for rule in self._waiting_rules:
                if rule.applies(container.reason):
                    if now - waiting_since >= rule.grace:
                        detail = f": {container.message}" if container.message else ""
                        return Verdict(
                            rule.action,
                            f"container {container.name} waiting: {container.reason}{detail}",
                        )
                    break
        return None
