"""Checks on one pod spec. Each raises SubmissionError naming the field.

As in Armada, the pod spec is checked as the user sent it (``check_pod_as_sent``), then
defaulted, then the job's total request is checked against ``minJobResources``
(``job_resources``): defaults never make a bad request good, and a default (a toleration of a
restricted taint, a whole CPU on an init container) never makes a good one bad.
"""

from __future__ import annotations

from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.config.submission import SubmissionSettings
from armada.domain.quoting import shown
from armada.domain.resources import InvalidQuantity, format_quantity, parse_quantity
from armada.server.submission.errors import SubmissionError
from armada.server.submission.names import check_pod_names


def parse_resources(field: str, quantities: object) -> dict[str, int]:
    parsed: dict[str, int] = {}
    for name, quantity in quantities.items():  # type: ignore[attr-defined]
        try:
            value = parse_quantity(quantity.string)
        except InvalidQuantity as exc:
            raise SubmissionError(f"{field}[{name}]", str(exc)) from None
        if value < 0:
            raise SubmissionError(f"{field}[{name}]", f"negative quantity {shown(quantity.string)}")
        parsed[name] = value
    return parsed


def check_container(
    field: str, container: core.Container, settings: SubmissionSettings, init: bool
) -> None:
    """Validate one container's resources as sent (before ``defaultJobLimits``)."""
    requests = parse_resources(f"{field}.resources.requests", container.resources.requests)
    limits = parse_resources(f"{field}.resources.limits", container.resources.limits)
    if not requests and not limits:
        raise SubmissionError(
            f"{field}.resources", f"container {shown(container.name)} has no resources specified"
        )
    if requests.keys() != limits.keys():
        raise SubmissionError(
            f"{field}.resources",
            "requests and limits must name the same resources (requests: "
            f"{', '.join(sorted(requests)) or 'none'}; limits: "
            f"{', '.join(sorted(limits)) or 'none'})",
        )
    supported = set(settings.supported_resource_types)
    for name in sorted(requests.keys() - supported):
        raise SubmissionError(
            f"{field}.resources",
            f"resource {shown(name)} is not supported (supported: {', '.join(sorted(supported))})",
        )
    for name in sorted(requests):
        request, limit = requests[name], limits[name]
        ratio = settings.max_oversubscription_by_resource_request.get(name)
        if ratio is None:
            if request != limit:
                raise SubmissionError(
                    f"{field}.resources",
                    f"requests must equal limits for {name} (requests "
                    f"{format_quantity(request, name)}, limits {format_quantity(limit, name)})",
                )
        elif limit < request or (request > 0 and limit > request * ratio):
            raise SubmissionError(
                f"{field}.resources",
                f"limit for {name} must be between the request and {ratio} times it",
            )
    cpu = requests.get("cpu", 0)
    if init and settings.assert_init_containers_request_fractional_cpu and cpu and cpu % 1000 == 0:
        raise SubmissionError(
            f"{field}.resources", "init containers must request a fractional amount of cpu"
        )


def check_pod_as_sent(
    field: str, pod: core.PodSpec, settings: SubmissionSettings, allowed_classes: list[str]
) -> None:
    """Everything Armada checks on the pod spec before it fills in defaults."""
    if not pod.containers:
        raise SubmissionError(f"{field}.containers", "a pod spec needs at least one container")
    check_pod_names(field, pod)
    for i, container in enumerate(pod.containers):
        check_container(f"{field}.containers[{i}]", container, settings, init=False)
    for i, container in enumerate(pod.initContainers):
        check_container(f"{field}.initContainers[{i}]", container, settings, init=True)
    check_scheduling_fields(field, pod, settings, allowed_classes)


def job_resources(field: str, pod: core.PodSpec, settings: SubmissionSettings) -> dict[str, int]:
    """The (defaulted) job's request: the containers' sum, or the largest init container where
    larger; refused if below ``minJobResources``."""
    total: dict[str, int] = {}
    for i, container in enumerate(pod.containers):
        requests = parse_resources(
            f"{field}.containers[{i}].resources.requests", container.resources.requests
        )
        for name, value in requests.items():
            total[name] = total.get(name, 0) + value
    for i, container in enumerate(pod.initContainers):
        requests = parse_resources(
            f"{field}.initContainers[{i}].resources.requests", container.resources.requests
        )
        for name, value in requests.items():
            total[name] = max(total.get(name, 0), value)
    for name, minimum_text in settings.min_job_resources.items():
        minimum = parse_quantity(minimum_text)
        if total.get(name, 0) < minimum:
            raise SubmissionError(
                f"{field}.containers",
                f"the job requests {format_quantity(total.get(name, 0), name)} of {name}; "
                f"the minimum is {minimum_text}",
            )
    return total


def check_scheduling_fields(
    field: str, pod: core.PodSpec, settings: SubmissionSettings, allowed_classes: list[str]
) -> None:
    """The user's scheduling fields; unset ones are filled in by defaulting afterwards."""
    if pod.priorityClassName and pod.priorityClassName not in allowed_classes:
        raise SubmissionError(
            f"{field}.priorityClassName",
            f"priority class {shown(pod.priorityClassName)} is not allowed "
            f"(allowed: {', '.join(allowed_classes)})",
        )
    grace = (
        pod.terminationGracePeriodSeconds if pod.HasField("terminationGracePeriodSeconds") else 0
    )
    low = int(settings.min_termination_grace_period.total_seconds())
    high = int(settings.max_termination_grace_period.total_seconds())
    if grace != 0 and not low <= grace <= high:
        raise SubmissionError(
            f"{field}.terminationGracePeriodSeconds",
            f"{grace}s is outside the allowed range [{low}s, {high}s] (0 or unset means {low}s)",
        )
    if pod.HasField("activeDeadlineSeconds") and pod.activeDeadlineSeconds <= 0:
        raise SubmissionError(f"{field}.activeDeadlineSeconds", "must be a positive number")
    if pod.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution:
        raise SubmissionError(
            f"{field}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution",
            "preferred node affinity is not supported; use requiredDuringScheduling"
            "IgnoredDuringExecution",
        )
    for i, toleration in enumerate(pod.tolerations):
        if toleration.key in settings.restricted_toleration_keys:
            raise SubmissionError(
                f"{field}.tolerations[{i}]",
                f"tolerating taint key {shown(toleration.key)} is not allowed",
            )
        if toleration.operator not in ("", "Equal", "Exists"):
            raise SubmissionError(
                f"{field}.tolerations[{i}].operator",
                f"{shown(toleration.operator)} is not a toleration operator (Equal or Exists)",
            )
    terms = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
    for t, term in enumerate(terms.nodeSelectorTerms):
        for e, expr in enumerate(term.matchExpressions):
            if expr.operator not in ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"):
                raise SubmissionError(
                    f"{field}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuring"
                    f"Execution.nodeSelectorTerms[{t}].matchExpressions[{e}].operator",
                    f"{shown(expr.operator)} is not a node selector operator",
                )


def exposed_ports(pod: core.PodSpec) -> set[int]:
    return {port.containerPort for c in pod.containers for port in c.ports}
