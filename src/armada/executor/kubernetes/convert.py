"""Kubernetes JSON (as the API server sends it) to the executor's views. Pure, no client.

The backend reads raw JSON (``_preload_content=False``) rather than the client's models: it is
several times cheaper at thousands of pods, and the executor needs only a few fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from armada.domain.resources import add_resources, format_quantity
from armada.executor.logtext import parse_rfc3339
from armada.executor.model import (
    RUN_ID_LABEL,
    ContainerView,
    NodeTaint,
    NodeView,
    PodEvent,
    PodView,
    RunResource,
)
from armada.executor.podspec import active_deadline, pod_requests


def _time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None


def container_from_json(status: Mapping[str, Any]) -> ContainerView:
    """One entry of ``status.containerStatuses``."""
    state = status.get("state") or {}
    name = status.get("name", "")
    restarts = int(status.get("restartCount", 0))
    if "terminated" in state:
        t = state["terminated"] or {}
        return ContainerView(
            name=name,
            state="terminated",
            reason=t.get("reason", ""),
            message=t.get("message", ""),
            exit_code=int(t.get("exitCode", 0)),
            started_at=_time(t.get("startedAt")),
            finished_at=_time(t.get("finishedAt")),
            restart_count=restarts,
        )
    if "running" in state:
        r = state["running"] or {}
        return ContainerView(
            name=name,
            state="running",
            started_at=_time(r.get("startedAt")),
            restart_count=restarts,
        )
    w = state.get("waiting") or {}
    return ContainerView(
        name=name,
        state="waiting",
        reason=w.get("reason", ""),
        message=w.get("message", ""),
        restart_count=restarts,
    )


def pod_from_json(obj: Mapping[str, Any]) -> PodView:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return PodView(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        labels=meta.get("labels") or {},
        annotations=meta.get("annotations") or {},
        phase=status.get("phase", "Pending"),
        node=spec.get("nodeName", ""),
        reason=status.get("reason", ""),
        message=status.get("message", ""),
        containers=tuple(container_from_json(c) for c in status.get("containerStatuses") or ()),
        init_containers=tuple(
            container_from_json(c) for c in status.get("initContainerStatuses") or ()
        ),
        created=_time(meta.get("creationTimestamp")) or 0.0,
        started=_time(status.get("startTime")),
        deleting_since=_time(meta.get("deletionTimestamp")),
        active_deadline=active_deadline(obj),
        pod_ip=status.get("podIP", ""),
        resource_version=meta.get("resourceVersion", ""),
    )


def event_from_json(obj: Mapping[str, Any]) -> PodEvent:
    involved = obj.get("involvedObject") or {}
    meta = obj.get("metadata") or {}
    first = (
        _time(obj.get("firstTimestamp"))
        or _time(obj.get("eventTime"))
        or _time(meta.get("creationTimestamp"))
        or 0.0
    )
    last = _time(obj.get("lastTimestamp")) or first
    return PodEvent(
        namespace=involved.get("namespace") or meta.get("namespace", ""),
        pod_name=involved.get("name", ""),
        type=obj.get("type", "Normal"),
        reason=obj.get("reason", ""),
        message=obj.get("message", ""),
        first_seen=first,
        last_seen=last,
    )


def non_armada_usage(pods: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Requests of active pods Armada did not start, summed by node (milli-units)."""
    usage: dict[str, dict[str, int]] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        node = (pod.get("spec") or {}).get("nodeName", "")
        phase = (pod.get("status") or {}).get("phase", "")
        if (
            not node
            or phase in ("Succeeded", "Failed")
            or RUN_ID_LABEL in (meta.get("labels") or {})
        ):
            continue
        try:
            requests = pod_requests(dict(pod))
        except ValueError:
            continue
        usage[node] = add_resources(usage.get(node, {}), requests)
    return usage


def node_from_json(obj: Mapping[str, Any], usage: Mapping[str, int]) -> NodeView:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return NodeView(
        name=meta.get("name", ""),
        labels=meta.get("labels") or {},
        taints=tuple(
            NodeTaint(key=t.get("key", ""), value=t.get("value", ""), effect=t.get("effect", ""))
            for t in spec.get("taints") or ()
        ),
        allocatable={k: str(v) for k, v in (status.get("allocatable") or {}).items()},
        non_armada_allocated={k: format_quantity(v, k) for k, v in usage.items() if v},
        unschedulable=bool(spec.get("unschedulable", False)),
    )


def resource_from_json(kind: str, obj: Mapping[str, Any]) -> RunResource | None:
    meta = obj.get("metadata") or {}
    run_id = (meta.get("labels") or {}).get(RUN_ID_LABEL)
    if not run_id:
        return None
    return RunResource(
        kind=kind, namespace=meta.get("namespace", ""), name=meta.get("name", ""), run_id=run_id
    )
