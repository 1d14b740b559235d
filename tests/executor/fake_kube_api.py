"""A fake Kubernetes API server: real HTTP on 127.0.0.1, the subset the executor uses.

No Kubernetes cluster can run on the machines that test this project, so the ``kubernetes``
backend is tested against this server, driven by the official client. It is faithful where the
backend can tell:

- pods (create, get, list, delete, watch), pods/log, nodes (list), events (list), services and
  ingresses (create, list, delete), with label selectors (``k``, ``!k``, ``k=v``, ``k!=v``) and
  field selectors (``a.b=v``, ``a.b!=v``);
- one resourceVersion counter for everything (as etcd's); lists carry it, watches resume after
  it, and a watch from a version older than the retained history gets the API server's
  ``ERROR`` event with a ``Status`` of code 410, reason ``Expired``;
- errors are ``Status`` objects with the real codes and reasons (404 NotFound, 409
  AlreadyExists, 422 Invalid, 400 BadRequest) and messages worded as the API server words them;
- creation sets uid, creationTimestamp and phase Pending; a scheduler binds pods to the node
  named by their ``kubernetes.io/hostname`` nodeSelector (a MODIFIED event), or records a
  FailedScheduling event; deletion of a bound, unfinished pod is graceful (deletionTimestamp
  set, the pod stays until the kubelet finishes), other deletions are immediate;
- watch responses are chunked JSON lines, ending after ``timeoutSeconds``.

Tests play the kubelet through methods such as :meth:`FakeKubeApi.run_pod` and
:meth:`FakeKubeApi.finish_pod`, which write pod status exactly as the kubelet would.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from tests.executor.fake_token_review import FakeTokenReviews

HOSTNAME_LABEL = "kubernetes.io/hostname"

_KINDS = {
    "pods": ("Pod", "v1"),
    "services": ("Service", "v1"),
    "events": ("Event", "v1"),
    "nodes": ("Node", "v1"),
    "ingresses": ("Ingress", "networking.k8s.io/v1"),
}


def _now_text(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


def _lookup(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return "" if value is None else str(value)


def _matches_labels(obj: dict[str, Any], selector: str) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _matches_fields(obj: dict[str, Any], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            path, value = term.split("!=", 1)
            if _lookup(obj, path) == value:
                return False
        else:
            path, value = term.replace("==", "=").split("=", 1)
            if _lookup(obj, path) != value:
                return False
    return True


class FakeKubeApi:
    """The fake API server. ``start()`` it, point a client at ``url``, ``stop()`` it."""

    def __init__(self, *, namespaces: tuple[str, ...] = ("default",), history: int = 10_000):
        self._cond = threading.Condition(threading.RLock())
        self._version = itertools.count(1000)
        self._rv = 999
        self._store: dict[str, dict[tuple[str, str], dict[str, Any]]] = {p: {} for p in _KINDS}
        self._history: list[tuple[int, str, str, dict[str, Any]]] = []
        self._history_limit = history
        self._oldest = 0  # watches from versions below this get 410 Gone
        self._logs: dict[tuple[str, str], dict[str, list[tuple[float, str]]]] = {}
        self._closing = False
        self.namespaces = set(namespaces)
        self.auto_bind = True
        self.reject_pods: tuple[int, str] | None = None
        self.requests: list[tuple[str, str]] = []
        self.expired_watches = 0
        self.clock: Callable[[], float] = time.time
        self.token_reviews = FakeTokenReviews()
        self._server: ThreadingHTTPServer | None = None
        self._scheme = "http"

    # --- server ---------------------------------------------------------------------------------

    def start(self, tls: ssl.SSLContext | None = None) -> str:
        """Serve on a free port of 127.0.0.1 (HTTPS with ``tls``, as an API server does)."""
        from tests.executor.fake_kube_http import KubeApiHandler

        api = self

        class Handler(KubeApiHandler):
            fake = api

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"{self._scheme}://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def end_watches(self) -> None:
        """Close every open watch (as an API server restart or a load balancer would)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        time.sleep(0.1)
        with self._cond:
            self._closing = False

    def compact(self) -> None:
        """Forget the watch history, as etcd compaction does: older versions now get 410."""
        with self._cond:
            self._history.clear()
            self._oldest = self._rv + 1

    # --- the store ------------------------------------------------------------------------------

    def _record(self, plural: str, kind: str, obj: dict[str, Any]) -> None:
        """Store a change under a new resourceVersion (caller holds the lock)."""
        self._rv = next(self._version)
        obj["metadata"]["resourceVersion"] = str(self._rv)
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if kind == "DELETED":
            self._store[plural].pop(key, None)
        else:
            self._store[plural][key] = obj
        self._history.append((self._rv, plural, kind, copy.deepcopy(obj)))
        if len(self._history) > self._history_limit:
            dropped = self._history.pop(0)
            self._oldest = dropped[0] + 1
        self._cond.notify_all()

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._cond:
            obj = self._store[plural].get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def objects(self, plural: str) -> list[dict[str, Any]]:
        with self._cond:
            return [copy.deepcopy(o) for o in self._store[plural].values()]

    def put(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an object directly (nodes, events, other tenants' pods)."""
        kind, api_version = _KINDS[plural]
        with self._cond:
            obj = copy.deepcopy(obj)
            obj.setdefault("kind", kind)
            obj.setdefault("apiVersion", api_version)
            meta = obj.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", _now_text(self.clock()))
            key = (meta.get("namespace", ""), meta["name"])
            existed = key in self._store[plural]
            self._record(plural, "MODIFIED" if existed else "ADDED", obj)
            return copy.deepcopy(obj)

    def add_node(
        self,
        name: str,
        allocatable: dict[str, str],
        *,
        labels: dict[str, str] | None = None,
        taints: list[dict[str, str]] | None = None,
        unschedulable: bool = False,
    ) -> None:
        self.put(
            "nodes",
            {
                "metadata": {"name": name, "labels": {HOSTNAME_LABEL: name, **(labels or {})}},
                "spec": {"taints": taints or [], "unschedulable": unschedulable},
                "status": {"allocatable": allocatable, "capacity": allocatable},
            },
        )

    def add_event(
        self, namespace: str, pod: str, type_: str, reason: str, message: str, at: float | None
    ) -> None:
        when = _now_text(self.clock() if at is None else at)
        self.put(
            "events",
            {
                "metadata": {"name": f"{pod}.{uuid.uuid4().hex[:12]}", "namespace": namespace},
                "involvedObject": {"kind": "Pod", "name": pod, "namespace": namespace},
                "type": type_,
                "reason": reason,
                "message": message,
                "firstTimestamp": when,
                "lastTimestamp": when,
                "count": 1,
            },
        )

    # --- what the control plane does ------------------------------------------------------------

    def create(
        self, plural: str, namespace: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        kind, api_version = _KINDS[plural]
        meta = body.get("metadata") or {}
        name = meta.get("name", "")
        if namespace not in self.namespaces:
            return 404, status_body(
                404,
                "NotFound",
                f'namespaces "{namespace}" not found',
                name=namespace,
                kind="namespaces",
            )
        if not name:
            message = (
                f'{kind} "" is invalid: metadata.name: Required value: '
                "name or generateName is required"
            )
            return 422, status_body(422, "Invalid", message, kind=plural)
        if plural == "pods":
            if self.reject_pods is not None:
                code, message = self.reject_pods
                return code, status_body(
                    code, "BadRequest" if code == 400 else "Forbidden", message
                )
            if not (body.get("spec") or {}).get("containers"):
                message = f'Pod "{name}" is invalid: spec.containers: Required value'
                return 422, status_body(422, "Invalid", message, name=name, kind="pods")
        with self._cond:
            if (namespace, name) in self._store[plural]:
                return 409, status_body(
                    409,
                    "AlreadyExists",
                    f'{plural} "{name}" already exists',
                    name=name,
                    kind=plural,
                )
            obj = copy.deepcopy(body)
            obj["kind"], obj["apiVersion"] = kind, api_version
            meta = obj.setdefault("metadata", {})
            meta.update(
                namespace=namespace,
                uid=str(uuid.uuid4()),
                creationTimestamp=_now_text(self.clock()),
            )
            if plural == "pods":
                obj["spec"].setdefault("terminationGracePeriodSeconds", 30)
                obj["status"] = {"phase": "Pending", "qosClass": "Burstable"}
            self._record(plural, "ADDED", obj)
            created = copy.deepcopy(obj)
        if plural == "pods" and self.auto_bind:
            self._schedule(namespace, name)
        return 201, created

    def _schedule(self, namespace: str, name: str) -> None:
        """kube-scheduler: bind to the node the hostname selector names, or say why not."""
        pod = self.get("pods", namespace, name)
        assert pod is not None
        wanted = (pod["spec"].get("nodeSelector") or {}).get(HOSTNAME_LABEL)
        node = self.get("nodes", "", wanted) if wanted else None
        if node is None or node["spec"].get("unschedulable"):
            total = len(self.objects("nodes"))
            message = (
                f"0/{total} nodes are available: "
                f"{total} node(s) didn't match Pod's node affinity/selector."
            )
            self.add_event(namespace, name, "Warning", "FailedScheduling", message, None)
            self.update_pod(
                namespace,
                name,
                conditions=[
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": message,
                    }
                ],
            )
            return
        self.bind(namespace, name, wanted)

    def bind(self, namespace: str, name: str, node: str) -> None:
        with self._cond:
            pod = self._store["pods"][(namespace, name)]
            pod["spec"]["nodeName"] = node
            pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
            self._record("pods", "MODIFIED", pod)
        self.add_event(
            namespace,
            name,
            "Normal",
            "Scheduled",
            f"Successfully assigned {namespace}/{name} to {node}",
            None,
        )

    def delete(
        self, plural: str, namespace: str, name: str, grace: int | None
    ) -> tuple[int, dict[str, Any]]:
        with self._cond:
            obj = self._store[plural].get((namespace, name))
            if obj is None:
                return 404, status_body(
                    404, "NotFound", f'{plural} "{name}" not found', name=name, kind=plural
                )
            if plural == "pods":
                if grace is None:
                    grace = int(obj["spec"].get("terminationGracePeriodSeconds", 30))
                finished = obj["status"].get("phase") in ("Succeeded", "Failed")
                if grace > 0 and obj["spec"].get("nodeName") and not finished:
                    meta = obj["metadata"]
                    if not meta.get("deletionTimestamp") or grace < meta.get(
                        "deletionGracePeriodSeconds", grace + 1
                    ):
                        meta["deletionTimestamp"] = _now_text(self.clock() + grace)
                        meta["deletionGracePeriodSeconds"] = grace
                        self._record(plural, "MODIFIED", obj)
                    return 200, copy.deepcopy(obj)
            self._record(plural, "DELETED", obj)
            return 200, copy.deepcopy(obj)

    # --- what the kubelet does (called by tests) ------------------------------------------------

    def update_pod(self, namespace: str, name: str, **status: Any) -> None:
        with self._cond:
            pod = self._store["pods"][(namespace, name)]
            pod["status"].update(copy.deepcopy(status))
            self._record("pods", "MODIFIED", pod)

    def _containers(self, namespace: str, name: str) -> list[str]:
        pod = self.get("pods", namespace, name)
        assert pod is not None
        return [c["name"] for c in pod["spec"]["containers"]]

    def run_pod(self, namespace: str, name: str) -> None:
        started = _now_text(self.clock())
        statuses = [
            {
                "name": c,
                "ready": True,
                "restartCount": 0,
                "started": True,
                "image": "img",
                "imageID": "",
                "state": {"running": {"startedAt": started}},
            }
            for c in self._containers(namespace, name)
        ]
        self.update_pod(
            namespace,
            name,
            phase="Running",
            startTime=started,
            podIP="10.1.2.3",
            containerStatuses=statuses,
        )

    def finish_pod(
        self,
        namespace: str,
        name: str,
        exit_codes: dict[str, int] | None = None,
        *,
        container_reason: str = "",
        pod_reason: str = "",
        message: str = "",
    ) -> None:
        """Containers terminate with ``exit_codes`` (default 0); the pod phase follows."""
        now = _now_text(self.clock())
        codes = {c: (exit_codes or {}).get(c, 0) for c in self._containers(namespace, name)}
        statuses = []
        for container, code in codes.items():
            reason = container_reason or ("Completed" if code == 0 else "Error")
            statuses.append(
                {
                    "name": container,
                    "ready": False,
                    "restartCount": 0,
                    "image": "img",
                    "imageID": "",
                    "state": {
                        "terminated": {
                            "exitCode": code,
                            "reason": reason,
                            "startedAt": now,
                            "finishedAt": now,
                        }
                    },
                }
            )
        phase = "Succeeded" if all(c == 0 for c in codes.values()) and not pod_reason else "Failed"
        extra = {"reason": pod_reason, "message": message} if pod_reason else {}
        self.update_pod(namespace, name, phase=phase, containerStatuses=statuses, **extra)

    def wait_container(self, namespace: str, name: str, reason: str, message: str) -> None:
        statuses = [
            {
                "name": c,
                "ready": False,
                "restartCount": 0,
                "image": "img",
                "imageID": "",
                "state": {"waiting": {"reason": reason, "message": message}},
            }
            for c in self._containers(namespace, name)
        ]
        self.update_pod(namespace, name, containerStatuses=statuses)

    def complete_deletion(self, namespace: str, name: str) -> None:
        """The kubelet stopped a terminating pod's containers: the pod object goes."""
        with self._cond:
            obj = self._store["pods"].get((namespace, name))
            if obj is not None:
                self._record("pods", "DELETED", obj)

    def write_log(
        self, namespace: str, name: str, container: str, line: str, at: float | None = None
    ) -> None:
        with self._cond:
            lines = self._logs.setdefault((namespace, name), {}).setdefault(container, [])
            lines.append((self.clock() if at is None else at, line))

    # --- reading ----------------------------------------------------------------------------------

    def list_body(
        self, plural: str, namespace: str | None, query: dict[str, str]
    ) -> dict[str, Any]:
        kind, api_version = _KINDS[plural]
        with self._cond:
            items = [copy.deepcopy(o) for o in self._filtered(plural, namespace, query)]
            version = str(self._rv)
        return {
            "kind": f"{kind}List",
            "apiVersion": api_version,
            "metadata": {"resourceVersion": version},
            "items": items,
        }

    def _filtered(
        self, plural: str, namespace: str | None, query: dict[str, str]
    ) -> list[dict[str, Any]]:
        return [o for o in self._store[plural].values() if self._selected(o, namespace, query)]

    @staticmethod
    def _selected(obj: dict[str, Any], namespace: str | None, query: dict[str, str]) -> bool:
        if namespace is not None and obj["metadata"].get("namespace") != namespace:
            return False
        return _matches_labels(obj, query.get("labelSelector", "")) and _matches_fields(
            obj, query.get("fieldSelector", "")
        )

    def watch_lines(self, plural: str, namespace: str | None, query: dict[str, str]):  # type: ignore[no-untyped-def]
        """Yield watch event lines until the timeout passes or the server closes."""
        deadline = time.monotonic() + float(query.get("timeoutSeconds", "1800"))
        since = query.get("resourceVersion", "")
        with self._cond:
            if since in ("", "0"):
                pending = [
                    ("ADDED", copy.deepcopy(o)) for o in self._filtered(plural, namespace, query)
                ]
                cursor = self._rv
            elif int(since) + 1 < self._oldest:
                message = f"too old resource version: {since} ({self._oldest - 1})"
                self.expired_watches += 1
                yield json.dumps({"type": "ERROR", "object": status_body(410, "Expired", message)})
                return
            else:
                pending, cursor = [], int(since)
        for kind, obj in pending:
            yield json.dumps({"type": kind, "object": obj})
        while True:
            with self._cond:
                batch = [(rv, k, o) for rv, p, k, o in self._history if rv > cursor and p == plural]
                if not batch:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._closing:
                        return
                    self._cond.wait(min(remaining, 0.5))
                    continue
            for rv, kind, obj in batch:
                cursor = rv
                if self._selected(obj, namespace, query):
                    yield json.dumps({"type": kind, "object": obj})

    def log_text(
        self, namespace: str, name: str, query: dict[str, str]
    ) -> tuple[int, str | dict[str, Any]]:
        pod = self.get("pods", namespace, name)
        if pod is None:
            return 404, status_body(
                404, "NotFound", f'pods "{name}" not found', name=name, kind="pods"
            )
        names = [c["name"] for c in pod["spec"]["containers"]]
        container = query.get("container", "")
        if not container:
            if len(names) > 1:
                choices = " ".join(names)
                message = (
                    f"a container name must be specified for pod {name}, choose one of: [{choices}]"
                )
                return 400, status_body(400, "BadRequest", message)
            container = names[0]
        if container not in names:
            return 400, status_body(
                400, "BadRequest", f"container {container} is not valid for pod {name}"
            )
        with self._cond:
            lines = list(self._logs.get((namespace, name), {}).get(container, []))
        if "tailLines" in query:
            tail = int(query["tailLines"])
            lines = lines[len(lines) - tail :] if tail else []
        stamped = query.get("timestamps") in ("true", "True", "1")
        text = "".join(
            (
                f"{dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z "
                if stamped
                else ""
            )
            + line
            + "\n"
            for at, line in lines
        )
        return 200, text
