"""Why a pod failed: Armada's cause, and a category/subcategory from configurable rules.

The cause is Armada's coarse one (Error, Evicted, OOM, DeadlineExceeded) and comes from the pod
status alone. The category is the operator's: an ordered list of named categories, each with
rules on conditions, exit codes, termination messages, the pod's error and its events (Armada's
``errorCategories``). The first category with a matching rule is reported, else the default
category. All pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from armada.config.executor import FailureCategory, FailureRule
from armada.domain.events import FailureInfo
from armada.executor.model import ContainerView, PodEvent, PodView

OOM_KILLED = "OOMKilled"
EVICTED = "Evicted"
DEADLINE_EXCEEDED = "DeadlineExceeded"


@dataclass(frozen=True, slots=True)
class FailureFacts:
    """What the rules look at."""

    conditions: frozenset[str]
    exit_codes: dict[str, int]
    termination_messages: tuple[str, ...]
    pod_error: str
    events: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Rule:
    conditions: frozenset[str]
    codes: tuple[str, frozenset[int]] | None
    termination_message: re.Pattern[str] | None
    pod_error: re.Pattern[str] | None
    pod_events: re.Pattern[str] | None
    subcategory: str

    def matches(self, facts: FailureFacts) -> bool:
        checks: list[bool] = []
        if self.conditions:
            checks.append(bool(self.conditions & facts.conditions))
        if self.codes is not None:
            operator, values = self.codes
            codes = facts.exit_codes.values()
            if operator == "In":
                checks.append(any(code in values for code in codes))
            else:
                checks.append(any(code not in values for code in codes))
        for pattern, texts in (
            (self.termination_message, facts.termination_messages),
            (self.pod_error, (facts.pod_error,)),
            (self.pod_events, facts.events),
        ):
            if pattern is not None:
                checks.append(any(pattern.search(text) for text in texts if text))
        return bool(checks) and all(checks)


def _compile(pattern: str, where: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where}: {pattern!r} is not a valid regular expression: {exc}") from None


def _rule(category: str, index: int, rule: FailureRule) -> _Rule:
    where = f"failure category {category}, rule {index + 1}"
    codes = None
    if rule.on_exit_codes is not None:
        codes = (rule.on_exit_codes.operator, frozenset(rule.on_exit_codes.values))
    return _Rule(
        conditions=frozenset(rule.on_conditions),
        codes=codes,
        termination_message=_compile(rule.on_termination_message, where),
        pod_error=_compile(rule.on_pod_error, where),
        pod_events=_compile(rule.on_pod_events, where),
        subcategory=rule.subcategory,
    )


class FailureClassifier:
    """Categorises failures with the configured categories (first match wins)."""

    def __init__(self, categories: Sequence[FailureCategory], default: str = "") -> None:
        self._categories = [
            (c.name, [_rule(c.name, i, r) for i, r in enumerate(c.rules)]) for c in categories
        ]
        self._default = default

    def categorise(self, facts: FailureFacts) -> tuple[str, str]:
        for name, rules in self._categories:
            for rule in rules:
                if rule.matches(facts):
                    return name, rule.subcategory
        return self._default, ""


def cause_of(pod: PodView) -> str:
    """Armada's cause: OOM, Evicted, DeadlineExceeded or Error."""
    if any(c.reason == OOM_KILLED for c in _all_containers(pod)):
        return "OOM"
    if pod.reason == EVICTED:
        return EVICTED
    if pod.reason == DEADLINE_EXCEEDED:
        return DEADLINE_EXCEEDED
    return "Error"


def facts_of(pod: PodView, events: Iterable[PodEvent] = ()) -> FailureFacts:
    containers = _all_containers(pod)
    conditions = {c.reason for c in containers if c.reason == OOM_KILLED}
    if pod.reason in (EVICTED, DEADLINE_EXCEEDED):
        conditions.add(pod.reason)
    waiting = " ".join(f"{c.reason}: {c.message}" for c in containers if c.state == "waiting")
    return FailureFacts(
        conditions=frozenset(conditions),
        exit_codes={c.name: c.exit_code for c in containers if c.exit_code is not None},
        termination_messages=tuple(c.message for c in containers if c.state == "terminated"),
        pod_error=f"{pod.reason}: {pod.message} {waiting}".strip(),
        events=tuple(e.message for e in events if e.type == "Warning"),
    )


def describe_failure(
    pod: PodView,
    classifier: FailureClassifier,
    events: Iterable[PodEvent] = (),
    reason: str = "",
    cluster: str = "",
) -> FailureInfo:
    """The FailureInfo to report for ``pod`` (``reason`` overrides the one derived)."""
    events = tuple(events)
    facts = facts_of(pod, events)
    category, subcategory = classifier.categorise(facts)
    containers = _all_containers(pod)
    return FailureInfo(
        reason=reason or _reason(pod, containers),
        cause=cause_of(pod),
        category=category,
        subcategory=subcategory,
        exit_codes=facts.exit_codes,
        container_messages={
            c.name: c.message or c.reason for c in containers if c.message or c.reason
        },
        node=pod.node,
        pod_name=pod.name,
        namespace=pod.namespace,
        cluster=cluster,
    )


def _reason(pod: PodView, containers: Sequence[ContainerView]) -> str:
    for container in containers:
        if container.reason == OOM_KILLED:
            return f"container {container.name} was killed for exceeding its memory limit"
    if pod.reason or pod.message:
        return f"{pod.reason}: {pod.message}".strip(": ")
    for container in containers:
        if container.exit_code:
            text = f"container {container.name} exited with code {container.exit_code}"
            return f"{text}: {container.message}" if container.message else text
    for container in containers:
        if container.state == "waiting" and container.reason:
            return f"container {container.name}: {container.reason}: {container.message}".strip()
    return "the pod failed"


def _all_containers(pod: PodView) -> tuple[ContainerView, ...]:
    return pod.init_containers + pod.containers
