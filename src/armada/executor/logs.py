"""Job logs for Armada's Binoculars ``Logs`` RPC, read from whichever backend runs the job.

:class:`LogSource` maps a job id to its pod (through a lookup the caller supplies, typically
backed by the query store: job id → cluster, pod name, namespace) and reads the pod's output
from that cluster's backend: the process backend's captured output, the fake cluster's
per-pod log, or the Kubernetes pod log API. :class:`BinocularsLogService` serves it over gRPC
with the message and servicer classes ``armada-client`` ships, so Armada's clients work as is.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import grpc
from armada_client.armada import binoculars_pb2, binoculars_pb2_grpc

from armada.executor.cluster import Cluster, ClusterError, PodNotFound
from armada.executor.model import PodLogLine
from armada.security import PermissionDenied, Unauthenticated


@dataclass(frozen=True, slots=True)
class PodLocation:
    """Where a job's pod is: the cluster's name, the pod's name and its namespace."""

    cluster: str
    pod_name: str
    namespace: str


Located = PodLocation | tuple[str, str, str] | None
LocationLookup = Callable[[str], Located | Awaitable[Located]]
# Checks that the caller (from the call's metadata) may read a job's logs; raises
# armada.security's Unauthenticated or PermissionDenied if not (AccessUnknown if it cannot tell).
LogGate = Callable[[str, grpc.aio.ServicerContext], Awaitable[None] | None]


class LogsNotFound(Exception):
    """The job, its cluster or its pod is unknown here."""


class AccessUnknown(Exception):
    """Whether the caller may read the logs could not be decided (the API server that knows
    the queue's permissions could not be asked)."""


class LogSource:
    """Reads a job's log from the backend of the cluster that runs it."""

    def __init__(self, lookup: LocationLookup, clusters: Mapping[str, Cluster]) -> None:
        self._lookup = lookup
        self._clusters = clusters

    async def locate(self, job_id: str) -> PodLocation:
        found = self._lookup(job_id)
        if inspect.isawaitable(found):
            found = await found
        if found is None:
            raise LogsNotFound(f"job {job_id} has no pod that logs can be read from")
        if not isinstance(found, PodLocation):
            found = PodLocation(*found)
        return found

    async def logs(
        self,
        job_id: str,
        *,
        container: str = "",
        since_time: str = "",
        tail_lines: int | None = None,
    ) -> list[PodLogLine]:
        where = await self.locate(job_id)
        cluster = self._clusters.get(where.cluster)
        if cluster is None:
            raise LogsNotFound(f"job {job_id} ran on cluster {where.cluster}, not served here")
        try:
            return await cluster.read_log(
                where.namespace,
                where.pod_name,
                container=container,
                since_time=since_time,
                tail_lines=tail_lines,
            )
        except PodNotFound as exc:
            raise LogsNotFound(f"job {job_id}: pod {where.pod_name} is gone ({exc})") from None


class BinocularsLogService(binoculars_pb2_grpc.BinocularsServicer):  # type: ignore[misc]
    """Armada's ``binoculars.Binoculars`` service (``Logs``; ``Cordon`` is not offered).

    Mount it on a ``grpc.aio`` server with :meth:`add_to_server`.
    """

    def __init__(
        self,
        lookup: LocationLookup,
        clusters: Mapping[str, Cluster],
        may_read: LogGate | None = None,
    ) -> None:
        self.source = LogSource(lookup, clusters)
        self.may_read = may_read

    def add_to_server(self, server: grpc.aio.Server) -> None:
        binoculars_pb2_grpc.add_BinocularsServicer_to_server(self, server)

    async def Logs(
        self, request: binoculars_pb2.LogRequest, context: grpc.aio.ServicerContext
    ) -> binoculars_pb2.LogResponse:
        options = request.log_options
        tail = options.tailLines if options.HasField("tailLines") else None
        try:
            if self.may_read is not None:
                checked = self.may_read(request.job_id, context)
                if inspect.isawaitable(checked):
                    await checked
            lines = await self.source.logs(
                request.job_id,
                container=options.container,
                since_time=request.since_time,
                tail_lines=tail,
            )
        except Unauthenticated as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        except PermissionDenied as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        except LogsNotFound as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except AccessUnknown as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        except ClusterError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"reading logs failed: {exc}")
        return binoculars_pb2.LogResponse(
            log=[binoculars_pb2.LogLine(timestamp=ln.timestamp, line=ln.line) for ln in lines]
        )
