"""api.Jobs: job and run status, details and errors, from the query store."""

from __future__ import annotations

import asyncio
from typing import Any

from armada_client.armada import job_pb2, job_pb2_grpc, submit_pb2

from armada.server.context import ApiContext, invalid, rpc
from armada.server.convert_jobs import JOB_STATE_TO_API, job_details, run_details


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
        return job_pb2.JobStatusResponse(
            job_states={
                job_id: JOB_STATE_TO_API[states[job_id]] if job_id in states else submit_pb2.UNKNOWN
                for job_id in ids
            }
        )

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
        for job_id, job in jobs.items():
            response.job_details[job_id].CopyFrom(
                job_details(job, request.expand_job_spec, request.expand_job_run)
            )
        return response

    @rpc
    async def GetJobRunDetails(
        self, request: job_pb2.JobRunDetailsRequest, context: Any
    ) -> job_pb2.JobRunDetailsResponse:
        ids = self._check_count("run_ids", request.run_ids)
        job_ids = await asyncio.to_thread(self.store.job_ids_for_runs, ids)
        jobs = await asyncio.to_thread(self.store.get_jobs, job_ids.values())
        response = job_pb2.JobRunDetailsResponse()
        for run_id, job_id in job_ids.items():
            job = jobs.get(job_id)
            run = next((r for r in job.runs if r.run_id == run_id), None) if job else None
            if run is not None:
                response.job_run_details[run_id].CopyFrom(run_details(run))
        return response

    @rpc
    async def GetJobErrors(
        self, request: job_pb2.JobErrorsRequest, context: Any
    ) -> job_pb2.JobErrorsResponse:
        ids = self._check_count("job_ids", request.job_ids)
        jobs = await asyncio.to_thread(self.store.get_jobs, ids)
        return job_pb2.JobErrorsResponse(
            job_errors={job_id: jobs[job_id].error if job_id in jobs else "" for job_id in ids}
        )

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
