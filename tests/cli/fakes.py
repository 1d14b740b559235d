"""Fake Binoculars and SchedulerReporting servers for armadactl's tests.

``armada dev`` serves both (tests/dev/test_armadactl_end_to_end.py runs armadactl against
them), but their answers there depend on a scheduler and an executor running in real time.
These fakes let armadactl's own tests choose the answers and see exactly what was asked
(``since_time``, ``tailLines``, verbosity), and serve Binoculars at an address of its own.
They are real gRPC servers on a free port, serving the same protos with the same semantics:
Binoculars returns the lines logged since ``since_time`` (inclusive, as Kubernetes'
``sinceTime`` is) or the last ``tailLines``; the reporting service returns the text report it
was given and records what it was asked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from armada_client.armada import binoculars_pb2, binoculars_pb2_grpc

from armada.client.logs import timestamp_key
from armada.rpc.gen import scheduler_reporting_pb2 as reporting
from armada.rpc.gen import scheduler_reporting_pb2_grpc as reporting_grpc


@dataclass
class FakeBinoculars(binoculars_pb2_grpc.BinocularsServicer):  # type: ignore[misc]
    """Pod logs by (job id, namespace): a list of (timestamp, line) that tests append to."""

    logs: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    requests: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, job_id: str, namespace: str, timestamp: str, line: str) -> None:
        with self.lock:
            self.logs.setdefault((job_id, namespace), []).append((timestamp, line))

    def Logs(self, request: Any, context: Any) -> Any:
        with self.lock:
            self.requests.append(request)
            key = (request.job_id, request.pod_namespace)
            if key not in self.logs:
                context.abort(grpc.StatusCode.NOT_FOUND, f"pod of job {request.job_id} not found")
            lines = list(self.logs[key])
        since = timestamp_key(request.since_time)
        if since is not None:
            lines = [(t, text) for t, text in lines if (timestamp_key(t) or since) >= since]
        options = request.log_options
        if options.HasField("tailLines"):
            lines = lines[-options.tailLines :] if options.tailLines else []
        return binoculars_pb2.LogResponse(
            log=[binoculars_pb2.LogLine(timestamp=t, line=text) for t, text in lines]
        )


@dataclass
class FakeReports(reporting_grpc.SchedulerReportingServicer):  # type: ignore[misc]
    report: str = "pool default: 3 jobs scheduled"
    requests: list[Any] = field(default_factory=list)

    def GetSchedulingReport(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return reporting.SchedulingReport(report=self.report)

    def GetQueueReport(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return reporting.QueueReport(report=f"queue {request.queue_name}: {self.report}")

    def GetJobReport(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        if request.job_id == "unknown":
            context.abort(grpc.StatusCode.NOT_FOUND, "job unknown not found in recent rounds")
        return reporting.JobReport(report=f"job {request.job_id}: not scheduled: no node fits")


@contextmanager
def serving(*servicers: Any) -> Iterator[str]:
    """A gRPC server for the given fakes; yields its address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    for servicer in servicers:
        if isinstance(servicer, FakeBinoculars):
            binoculars_pb2_grpc.add_BinocularsServicer_to_server(servicer, server)
        else:
            reporting_grpc.add_SchedulerReportingServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0).wait()
