"""Scheduling reports: why a job was or was not scheduled (``schedulerobjects.SchedulerReporting``).

The scheduler produces the reports; Armada's server forwards the service, so the client asks the
same address as for everything else. A server that does not serve it answers UNIMPLEMENTED,
which becomes :class:`~armada.client.errors.Unimplemented` with a plain message.
"""

from __future__ import annotations

from typing import Any

from armada.client.connection import Connection
from armada.client.errors import Unimplemented
from armada.rpc.gen import scheduler_reporting_pb2 as pb
from armada.rpc.gen import scheduler_reporting_pb2_grpc as pb_grpc


class SchedulerReports:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._stub = pb_grpc.SchedulerReportingStub(connection.channel)

    def _report(self, method: Any, request: Any) -> str:
        try:
            return str(self.connection.unary(method, request).report)
        except Unimplemented:
            raise Unimplemented(
                f"scheduling reports are not available from the server at {self.connection.target}",
                code=None,
            ) from None

    def scheduling_report(self, *, queue: str = "", job_id: str = "", verbosity: int = 0) -> str:
        """The latest scheduling round of every pool, or as it concerned a queue or a job."""
        request = pb.SchedulingReportRequest(verbosity=verbosity)
        if queue:
            request.most_recent_for_queue.queue_name = queue
        elif job_id:
            request.most_recent_for_job.job_id = job_id
        return self._report(self._stub.GetSchedulingReport, request)

    def queue_report(self, queue: str, verbosity: int = 0) -> str:
        request = pb.QueueReportRequest(queue_name=queue, verbosity=verbosity)
        return self._report(self._stub.GetQueueReport, request)

    def job_report(self, job_id: str) -> str:
        return self._report(self._stub.GetJobReport, pb.JobReportRequest(job_id=job_id))
