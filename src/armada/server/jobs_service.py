"""api.Jobs: job and run status, details and errors, from the query store.

Every reply stays within the 4 MiB a gRPC client accepts by default: a reply that would be
larger (many jobs with large specs, long ids or errors) is refused with RESOURCE_EXHAUSTED,
saying how many of the ids asked for would fit, rather than sent for the client to reject.
Armada's requests have no paging, and leaving jobs out would make them look unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import grpc
from armada_client.armada import job_pb2, job_pb2_grpc, submit_pb2
from google.protobuf.message import Message

from armada.server.context import ApiContext, ApiError, invalid, rpc
from armada.server.convert_jobs import JOB_STATE_TO_API, job_details, run_details

# gRPC clients refuse a message larger than this unless configured otherwise.
REPLY_BYTES = 4 * 2**20


def _varint_size(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _entry_size(key: str, value_size: int) -> int:
    """Bytes of one entry of a map<string, _> field with a ``value_size``-byte value."""
    key_bytes = len(key.encode())
    body = 1 + _varint_size(key_bytes) + key_bytes + 1 + _varint_size(value_size) + value_size
    return 1 + _varint_size(body) + body


def check_reply_size(
    method: str, reply: Message, entries: Mapping[str, int], hint: str = ""
) -> None:
    """Refuse ``reply`` if it is over :data:`REPLY_BYTES`; ``entries`` are the sizes of its
    map's values by key, in the order asked, to say how many would have fit."""
    size = reply.ByteSize()
    if size <= REPLY_BYTES:
        return
    fit, total = 0, 0
    for key, value_size in entries.items():
        total += _entry_size(key, value_size)
        if total > REPLY_BYTES:
            break
        fit += 1
    raise ApiError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"{method}: the reply for these {len(entries)} ids would be {size:,} bytes, over the "
        f"{REPLY_BYTES:,} (4 MiB) a gRPC client accepts by default; the first {fit} would fit: "
        f"ask for fewer at once{hint}",
    )


class JobsServicer(job_pb2_grpc.JobsServicer):  # type: ignore[misc]
    def __init__(self, api: ApiContext) -> None:
        self.api = api
        self.store = api.storage.store

    def _check_count(self, field: str, ids: Any) -> list[str]:
        limit = self.api.settings.queries.max_query_items
        if len(ids) > limit:
            raise invalid(f"{field}: at most {limit} ids may be asked for at once, got {len(ids)}")
        return list(ids)

    @rpc
    async def GetJobStatus(
        self, request: job_pb2.JobStatusRequest, context: Any
    ) -> job_pb2.JobStatusResponse:
        ids = self._check_count("job_ids", request.job_ids)
        states = await asyncio.to_thread(self.store.get_job_states, ids)
        reply = job_pb2.JobStatusResponse(
            job_states={
                job_id: JOB_STATE_TO_API[states[job_id]] if job_id in states else submit_pb2.UNKNOWN
                for job_id in ids
            }
        )
        check_reply_size("GetJobStatus", reply, dict.fromkeys(ids, 2))
        return reply

    @rpc
    async def GetJobStatusUsingExternalJobUri(
        self, request: job_pb2.JobStatusUsingExternalJobUriRequest, context: Any
    ) -> job_pb2.JobStatusResponse:
        if not request.queue or not request.jobset or not request.external_job_uri:
            raise invalid("queue, jobset and external_job_uri are all required")
        job = await asyncio.to_thread(
            self.store.job_by_external_uri, request.queue, request.jobset, request.external_job_uri
        )
        states = {job.job_id: JOB_STATE_TO_API[job.state]} if job else {}
        return job_pb2.JobStatusResponse(job_states=states)

    @rpc
    async def GetJobDetails(
        self, request: job_pb2.JobDetailsRequest, context: Any
    ) -> job_pb2.JobDetailsResponse:
        ids = self._check_count("job_ids", request.job_ids)
        jobs = await asyncio.to_thread(self.store.get_jobs, ids)
        response = job_pb2.JobDetailsResponse()
        sizes = {}
        for job_id in ids:
            job = jobs.get(job_id)
            if job is not None and job_id not in sizes:
                details = job_details(job, request.expand_job_spec, request.expand_job_run)
                response.job_details[job_id].CopyFrom(details)
                sizes[job_id] = details.ByteSize()
        hint = " or without expand_job_spec" if request.expand_job_spec else ""
        check_reply_size("GetJobDetails", response, sizes, hint)
        return response

    @rpc
    async def GetJobRunDetails(
        self, request: job_pb2.JobRunDetailsRequest, context: Any
    ) -> job_pb2.JobRunDetailsResponse:
        ids = self._check_count("run_ids", request.run_ids)
        job_ids = await asyncio.to_thread(self.store.job_ids_for_runs, ids)
        jobs = await asyncio.to_thread(self.store.get_jobs, job_ids.values())
        response = job_pb2.JobRunDetailsResponse()
        sizes = {}
        for run_id, job_id in job_ids.items():
            job = jobs.get(job_id)
            run = next((r for r in job.runs if r.run_id == run_id), None) if job else None
            if run is not None:
                details = run_details(run)
                response.job_run_details[run_id].CopyFrom(details)
                sizes[run_id] = details.ByteSize()
        check_reply_size("GetJobRunDetails", response, sizes)
        return response

    @rpc
    async def GetJobErrors(
        self, request: job_pb2.JobErrorsRequest, context: Any
    ) -> job_pb2.JobErrorsResponse:
        ids = self._check_count("job_ids", request.job_ids)
        jobs = await asyncio.to_thread(self.store.get_jobs, ids)
        errors = {job_id: jobs[job_id].error if job_id in jobs else "" for job_id in ids}
        reply = job_pb2.JobErrorsResponse(job_errors=errors)
        sizes = {job_id: len(error.encode()) for job_id, error in errors.items()}
        check_reply_size("GetJobErrors", reply, sizes)
        return reply

    @rpc
    async def GetActiveQueues(
        self, request: job_pb2.GetActiveQueuesRequest, context: Any
    ) -> job_pb2.GetActiveQueuesResponse:
        by_pool = await asyncio.to_thread(
            self.store.active_queues_by_pool, self.api.settings.queries.default_pool
        )
        response = job_pb2.GetActiveQueuesResponse()
        for pool, queues in by_pool.items():
            response.active_queues_by_pool[pool].queues.extend(queues)
        return response
