"""Defaulting of a pod spec, in place, after it passed validation (Armada's post-processing).

* ``defaultJobLimits`` fills in each resource a container names in neither its requests nor
  its limits (validation has made sure the two name the same resources);
* the default priority class, termination grace period and active deadline;
* default tolerations (global, by priority class, by requested resource).
"""

from __future__ import annotations

from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.config.submission import SubmissionSettings, TolerationSetting
from armada.domain.resources import InvalidQuantity, parse_quantity


def fill_resources(container: core.Container, defaults: dict[str, str]) -> None:
    requests = container.resources.requests
    limits = container.resources.limits
    for name, value in defaults.items():
        if name not in requests and name not in limits:
            requests[name].string = value
            limits[name].string = value


def _has_toleration(pod: core.PodSpec, wanted: TolerationSetting) -> bool:
    return any(
        t.key == wanted.key
        and (t.operator or "Equal") == wanted.operator
        and t.value == wanted.value
        and t.effect == wanted.effect
        for t in pod.tolerations
    )


def add_tolerations(pod: core.PodSpec, tolerations: list[TolerationSetting]) -> None:
    for wanted in tolerations:
        if not _has_toleration(pod, wanted):
            t = pod.tolerations.add()
            t.key = wanted.key
            t.operator = wanted.operator
            t.value = wanted.value
            t.effect = wanted.effect


def requested_resource_names(pod: core.PodSpec) -> set[str]:
    names: set[str] = set()
    for container in (*pod.containers, *pod.initContainers):
        for name, quantity in container.resources.requests.items():
            try:
                if parse_quantity(quantity.string) > 0:
                    names.add(name)
            except InvalidQuantity:
                continue  # reported by validation, with the field's path
    return names


def apply_pod_defaults(pod: core.PodSpec, settings: SubmissionSettings) -> None:
    """Fill in everything Armada fills in, on a pod spec that passed ``check_pod_as_sent``."""
    for container in (*pod.containers, *pod.initContainers):
        fill_resources(container, settings.default_job_limits)
    if not pod.priorityClassName:
        pod.priorityClassName = settings.default_priority_class_name
    grace = (
        pod.terminationGracePeriodSeconds if pod.HasField("terminationGracePeriodSeconds") else 0
    )
    if grace == 0:
        pod.terminationGracePeriodSeconds = int(
            settings.min_termination_grace_period.total_seconds()
        )
    requested = requested_resource_names(pod)
    if not pod.HasField("activeDeadlineSeconds"):
        deadline = settings.default_active_deadline
        matching = [
            d
            for name, d in settings.default_active_deadline_by_resource_request.items()
            if name in requested
        ]
        if matching:
            deadline = max(matching)
        if deadline.total_seconds() > 0:
            pod.activeDeadlineSeconds = int(deadline.total_seconds())
    add_tolerations(pod, settings.default_job_tolerations)
    add_tolerations(
        pod, settings.default_job_tolerations_by_priority_class.get(pod.priorityClassName, [])
    )
    for name, tolerations in settings.default_job_tolerations_by_resource_request.items():
        if name in requested:
            add_tolerations(pod, tolerations)
