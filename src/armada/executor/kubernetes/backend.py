"""The Kubernetes backend: a real cluster through the official ``kubernetes`` client.

The client is synchronous, so calls run on a small thread pool and the pod watch on a thread of
its own that hands events to the event loop. Responses are read as raw JSON
(``_preload_content=False``) and converted by :mod:`.convert`. The watch follows Armada's pods
(label ``armada_job_run_id``) from the resourceVersion of a full list, and lists again when the
API server answers 410 Gone (the version was compacted away). Pod creation errors are fatal
(the job fails) for invalid specs and the configured patterns (admission webhooks, missing
namespaces); anything else returns the lease. Deletion is graceful, with the pod's grace
period; the tracker forces it (grace 0) after ``podKillTimeout``.

This module and :mod:`armada.executor.kubernetes` are the only ones importing the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import re
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.watch.watch import iter_resp_lines
from pydantic import ValidationError

from armada.config.executor import ExecutorConfig
from armada.executor.cluster import (
    ClusterError,
    PodChange,
    PodKey,
    PodNotFound,
    PodSnapshot,
    WatchItem,
)
from armada.executor.kubernetes.convert import (
    event_from_json,
    node_from_json,
    non_armada_usage,
    pod_from_json,
    resource_from_json,
)
from armada.executor.logtext import filter_lines, split_timestamped
from armada.executor.model import RUN_ID_LABEL, NodeView, PodEvent, PodLogLine, PodPlan, RunResource

log = logging.getLogger(__name__)

_ACTIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"


def _status(exc: ApiException) -> tuple[int, str]:
    """The HTTP status and the message of the API server's ``Status`` body."""
    message = str(exc.reason or "")
    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message") or message
    except (TypeError, ValueError):
        pass
    return int(exc.status or 0), message


def _owner_reference(pod: dict[str, Any]) -> dict[str, str] | None:
    """A reference to ``pod`` as the owner of another object (None without a uid)."""
    meta = pod.get("metadata") or {}
    if not meta.get("uid"):
        return None
    return {"apiVersion": "v1", "kind": "Pod", "name": meta.get("name", ""), "uid": meta["uid"]}


def _read_json(response: Any) -> Any:
    try:
        return json.loads(response.data or b"{}")
    finally:
        response.release_conn()


class KubernetesCluster:
    """A Kubernetes cluster implementing :class:`~armada.executor.cluster.Cluster`."""

    def __init__(
        self, settings: ExecutorConfig, *, api_client: client.ApiClient, name: str = ""
    ) -> None:
        self.name = name or settings.cluster_id
        kube = settings.kubernetes
        self._api_client = api_client
        self._core = client.CoreV1Api(api_client)
        self._net = client.NetworkingV1Api(api_client)
        self._pool = ThreadPoolExecutor(kube.api_threads, thread_name_prefix="kubernetes-api")
        self._fatal = [re.compile(p) for p in kube.fatal_pod_submission_errors]
        self._timeout = kube.request_timeout.total_seconds()
        self._watch_timeout = max(1, int(kube.watch_timeout.total_seconds()))
        self._watches: set[_PodWatch] = set()

    @classmethod
    def from_settings(cls, settings: ExecutorConfig) -> KubernetesCluster:
        """Connect with the configured kubeconfig, else in-cluster config, else ~/.kube/config."""
        kube = settings.kubernetes
        configuration = client.Configuration()
        context = kube.context or None
        try:
            if kube.kubeconfig:
                config.load_kube_config(
                    config_file=kube.kubeconfig, context=context, client_configuration=configuration
                )
            else:
                try:
                    config.load_incluster_config(client_configuration=configuration)
                except ConfigException:
                    config.load_kube_config(context=context, client_configuration=configuration)
        except (ConfigException, OSError) as exc:
            raise ClusterError(
                f"cannot configure the Kubernetes client: {exc}", fatal=True
            ) from exc
        return cls(settings, api_client=client.ApiClient(configuration))

    async def _request(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one API call on the pool and return its JSON body."""
        kwargs.setdefault("_request_timeout", self._timeout)
        bound = functools.partial(call, *args, _preload_content=False, **kwargs)
        response = await asyncio.get_running_loop().run_in_executor(self._pool, bound)
        return _read_json(response)

    # --- pods -----------------------------------------------------------------------------------

    async def create_run(self, plan: PodPlan) -> None:
        create_pod = self._core.create_namespaced_pod
        pod = await self._create(create_pod, plan.namespace, plan.pod)
        if pod is None:
            pod = await self._get_pod(plan.namespace, plan.pod_name) or {}
            owner = pod.get("metadata", {}).get("labels", {}).get(RUN_ID_LABEL)
            if owner != plan.run_id:
                raise ClusterError(f'pods "{plan.pod_name}" already exists (run {owner})')
        # As Armada does: the pod owns its services and ingresses, so that the cluster's garbage
        # collector removes them with it (the executor's orphan cleanup is the second net).
        owned_by = _owner_reference(pod)
        for service in plan.services:
            await self._create(
                self._core.create_namespaced_service, plan.namespace, service, owned_by
            )
        for ingress in plan.ingresses:
            await self._create(
                self._net.create_namespaced_ingress, plan.namespace, ingress, owned_by
            )

    def _is_fatal(self, status: int, message: str) -> bool:
        return status == 422 or any(p.search(message) for p in self._fatal)

    async def _create(
        self,
        call: Callable[..., Any],
        namespace: str,
        manifest: dict[str, Any],
        owned_by: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """Create an object (owned by ``owned_by``); None if it already exists.

        Raises ClusterError.
        """
        if owned_by is not None:
            meta = {**manifest["metadata"], "ownerReferences": [owned_by]}
            manifest = {**manifest, "metadata": meta}
        try:
            created: dict[str, Any] = await self._request(call, namespace, manifest)
        except ValidationError as exc:
            raise ClusterError(f"invalid {manifest.get('kind')}: {exc}", fatal=True) from None
        except ApiException as exc:
            status, message = _status(exc)
            if status == 409:
                return None
            raise ClusterError(message, fatal=self._is_fatal(status, message)) from None
        return created

    async def _get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            pod: dict[str, Any] = await self._request(
                self._core.read_namespaced_pod, name, namespace
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise ClusterError(_status(exc)[1]) from None
        return pod

    async def delete_pod(
        self, namespace: str, name: str, *, run_id: str, grace: float | None, force: bool = False
    ) -> bool:
        seconds = 0 if force else max(0, math.ceil(grace or 0))
        try:
            obj = await self._request(
                self._core.delete_namespaced_pod, name, namespace, grace_period_seconds=seconds
            )
        except ApiException as exc:
            status, message = _status(exc)
            if status == 404:
                return True
            raise ClusterError(f"deleting pod {namespace}/{name}: {message}") from None
        terminating = bool(obj.get("metadata", {}).get("deletionTimestamp"))
        return seconds == 0 or not terminating

    async def watch_pods(self) -> AsyncIterator[WatchItem]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[WatchItem | BaseException] = asyncio.Queue()
        watch = _PodWatch(
            self._core, loop, queue, timeout=self._watch_timeout, request_timeout=self._timeout
        )
        self._watches.add(watch)
        watch.start()
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            watch.stop()
            self._watches.discard(watch)

    # --- nodes, events, services, logs ----------------------------------------------------------

    async def list_nodes(self) -> list[NodeView]:
        nodes = await self._request(self._core.list_node)
        pods = await self._request(
            self._core.list_pod_for_all_namespaces, field_selector=_ACTIVE_PODS
        )
        usage = non_armada_usage(pods.get("items") or ())
        return [
            node_from_json(n, usage.get(n.get("metadata", {}).get("name", ""), {}))
            for n in nodes.get("items") or ()
        ]

    async def pod_events(self, pods: Sequence[PodKey]) -> dict[PodKey, list[PodEvent]]:
        wanted: dict[str, set[str]] = {}
        for namespace, name in pods:
            wanted.setdefault(namespace, set()).add(name)
        found: dict[PodKey, list[PodEvent]] = {}
        for namespace, names in wanted.items():
            body = await self._request(
                self._core.list_namespaced_event,
                namespace,
                field_selector="involvedObject.kind=Pod",
            )
            for item in body.get("items") or ():
                event = event_from_json(item)
                if event.pod_name in names:
                    found.setdefault((namespace, event.pod_name), []).append(event)
        for events in found.values():
            events.sort(key=lambda e: e.first_seen)
        return found

    async def list_run_resources(self) -> list[RunResource]:
        services = await self._request(
            self._core.list_service_for_all_namespaces, label_selector=RUN_ID_LABEL
        )
        ingresses = await self._request(
            self._net.list_ingress_for_all_namespaces, label_selector=RUN_ID_LABEL
        )
        found = [resource_from_json("Service", s) for s in services.get("items") or ()]
        found += [resource_from_json("Ingress", i) for i in ingresses.get("items") or ()]
        return [r for r in found if r is not None]

    async def delete_resource(self, resource: RunResource) -> None:
        call = (
            self._core.delete_namespaced_service
            if resource.kind == "Service"
            else self._net.delete_namespaced_ingress
        )
        try:
            await self._request(call, resource.name, resource.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise ClusterError(_status(exc)[1]) from None

    async def read_log(
        self,
        namespace: str,
        name: str,
        *,
        container: str = "",
        since_time: str = "",
        tail_lines: int | None = None,
    ) -> list[PodLogLine]:
        call = functools.partial(
            self._core.read_namespaced_pod_log,
            name,
            namespace,
            container=container or None,
            timestamps=True,
            tail_lines=None if since_time else tail_lines,
            _preload_content=False,
            _request_timeout=self._timeout,
        )
        try:
            response = await asyncio.get_running_loop().run_in_executor(self._pool, call)
        except ApiException as exc:
            status, message = _status(exc)
            raise (PodNotFound(message) if status == 404 else ClusterError(message)) from None
        try:
            text = response.data.decode("utf-8", errors="replace")
        finally:
            response.release_conn()
        return filter_lines(split_timestamped(text), since_time, tail_lines if since_time else None)

    async def close(self) -> None:
        for watch in list(self._watches):
            watch.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self._api_client.close()


class _PodWatch(threading.Thread):
    """List, then watch from the list's resourceVersion; list again on 410 Gone."""

    def __init__(
        self,
        core: client.CoreV1Api,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[WatchItem | BaseException],
        *,
        timeout: int,
        request_timeout: float,
    ) -> None:
        super().__init__(name="kubernetes-pod-watch", daemon=True)
        self._core = core
        self._loop = loop
        self._queue = queue
        self._timeout = timeout
        self._request_timeout = request_timeout
        self._stopped = threading.Event()
        self._response: Any = None
        self.relists = 0

    def stop(self) -> None:
        self._stopped.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()

    def _push(self, item: WatchItem | BaseException) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def run(self) -> None:
        try:
            while not self._stopped.is_set():
                self._follow(self._list())
                self.relists += 1
        except Exception as exc:
            if not self._stopped.is_set():
                if isinstance(exc, ApiException):
                    exc = ClusterError(f"pod watch: {_status(exc)[1]}")
                self._push(exc)

    def _list(self) -> str:
        body = _read_json(
            self._core.list_pod_for_all_namespaces(
                label_selector=RUN_ID_LABEL,
                _preload_content=False,
                _request_timeout=self._request_timeout,
            )
        )
        self._push(PodSnapshot([pod_from_json(item) for item in body.get("items") or ()]))
        return str(body.get("metadata", {}).get("resourceVersion", ""))

    def _follow(self, version: str) -> None:
        """Watch until the stream says 410 Gone (then return, to list again) or we stop."""
        while not self._stopped.is_set():
            try:
                response = self._core.list_pod_for_all_namespaces(
                    label_selector=RUN_ID_LABEL,
                    watch=True,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=self._timeout,
                    _preload_content=False,
                    _request_timeout=(self._request_timeout, self._timeout + 30),
                )
            except ApiException as exc:
                if exc.status == 410:
                    return
                raise
            self._response = response
            try:
                for line in iter_resp_lines(response):
                    if self._stopped.is_set():
                        return
                    if not line:
                        continue
                    event = json.loads(line)
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        if obj.get("code") == 410:
                            log.info("pod watch expired (%s): listing again", obj.get("message"))
                            return
                        raise ClusterError(f"pod watch error: {obj.get('message')}")
                    version = obj.get("metadata", {}).get("resourceVersion", version)
                    if kind in ("ADDED", "MODIFIED", "DELETED"):
                        self._push(PodChange(kind, pod_from_json(obj)))
            finally:
                self._response = None
                response.release_conn()
