"""api.Submit: submit, cancel, reprioritise and preempt jobs (plus the legacy queue RPCs)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import grpc
from armada_client.armada import health_pb2, submit_pb2, submit_pb2_grpc
from google.protobuf import empty_pb2

from armada.domain import events as ev
from armada.domain.jobs import JobSpec
from armada.domain.lifecycle import JobRecord
from armada.domain.quoting import shown
from armada.domain.states import JobState
from armada.eventlog.base import Expect, PreconditionFailed
from armada.eventlog.keys import client_id_key, queue_key
from armada.scheduling import gc_paused
from armada.security import Permission, Principal
from armada.security.authorise import VERB_PERMISSION
from armada.server.context import ApiContext, ApiError, invalid, rpc
from armada.server.convert_jobs import API_TO_JOB_STATE, api_state_name, submit_response
from armada.server.job_commands import cancel_jobs, preempt_jobs, reprioritise_jobs
from armada.server.queue_service import QueueRpcs
from armada.server.submission import SubmissionError, SubmissionPreparer
from armada.server.submission.prepare import check_priority
from armada.views.store import NON_TERMINAL_STATES

DEDUP_ATTEMPTS = 10


class ClientIdTaken(Exception):
    """A client id of the request was stored by someone else since the views were read."""


def _no_queue(name: str) -> ApiError:
    return ApiError(grpc.StatusCode.PERMISSION_DENIED, f"could not find queue {shown(name)}")


class SubmitOperations:
    def __init__(self, api: ApiContext) -> None:
        self.api = api
        pcs = list(api.settings.scheduling.priority_classes)
        self.preparer = SubmissionPreparer(api.settings.submission, pcs, api.clock, api.ids)
        self._dedup_lock = threading.Lock()

    def _require_queue(self, name: str) -> None:
        if not name:
            raise invalid("queue: a queue is required")
        if self.api.storage.store.get_queue(name) is None:
            raise _no_queue(name)

    def submit(self, request: submit_pb2.JobSubmitRequest, who: Principal) -> list[str]:
        # A 1,000-job request allocates tens of thousands of short-lived objects (specs,
        # events, view rows) and makes no lasting cycles: the cyclic collector, triggered by
        # allocation counts, would walk the young generations dozens of times a request and
        # now and then the whole heap (the views' cache of recent jobs): about a tenth of the
        # request's time, measured. Reference counting frees all of it.
        with gc_paused():
            return self._submit_checked(request, who)

    def _submit_checked(self, request: submit_pb2.JobSubmitRequest, who: Principal) -> list[str]:
        self._require_queue(request.queue)
        self.api.require(who, Permission.SUBMIT_ANY_JOBS, queue=request.queue, verb="submit")
        client_ids = [item.client_id for item in request.job_request_items if item.client_id]
        if not client_ids:
            return self._submit(request, who, {})
        with self._dedup_lock:  # a client id seen twice at once must still give one job
            for _ in range(DEDUP_ATTEMPTS):
                existing = self.api.storage.store.job_ids_for_client_ids(request.queue, client_ids)
                try:
                    return self._submit(request, who, existing)
                except ClientIdTaken:  # by another server process since we read the views
                    self.api.storage.updater.catch_up()
        raise ApiError(grpc.StatusCode.ABORTED, "client ids kept being taken concurrently")

    def _submit(
        self, request: submit_pb2.JobSubmitRequest, who: Principal, existing: dict[str, str]
    ) -> list[str]:
        try:
            prepared = self.preparer.prepare(request, who.user, who.groups, existing)
        except SubmissionError as exc:
            raise invalid(str(exc)) from None
        if prepared.specs:
            try:
                self._append(request, who, prepared.specs)
            except PreconditionFailed as failure:
                if failure.expect.key == queue_key(request.queue):  # deleted meanwhile
                    raise _no_queue(request.queue) from None
                raise ClientIdTaken() from failure
        return prepared.response_ids

    def _append(
        self, request: submit_pb2.JobSubmitRequest, who: Principal, specs: list[JobSpec]
    ) -> None:
        self.api.storage.append(
            [
                ev.EventSequence(
                    queue=request.queue,
                    job_set=request.job_set_id,
                    user=who.user,
                    groups=who.groups,
                    created=self.api.clock.now(),
                    events=[ev.SubmitJob(spec=spec) for spec in specs],
                    cause=f"submit/{specs[0].job_id}",
                )
            ],
            [Expect(queue_key(request.queue), exists=True)]
            + [
                Expect(client_id_key(request.queue, spec.client_id), exists=False)
                for spec in specs
                if spec.client_id
            ],
        )

    def _job_set_jobs(
        self,
        who: Principal,
        verb: str,
        queue: str,
        *,
        job_set: str,
        job_ids: list[str],
        states: set[JobState] | None = None,
    ) -> list[JobRecord]:
        if not queue:
            raise invalid("queue: a queue is required")
        if not job_set:
            raise invalid("job_set_id: a job set id is required")
        store = self.api.storage.store
        if store.get_queue(queue) is None:  # Armada's authorisation looks the queue up first
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"could not find queue {shown(queue)}")
        self.api.require(who, VERB_PERMISSION[verb], queue=queue, verb=verb)
        if not job_ids:
            return store.jobs_in_job_set(queue, job_set, states or NON_TERMINAL_STATES)
        found = store.get_jobs(job_ids)
        return [
            found[job_id]
            for job_id in dict.fromkeys(job_ids)
            if job_id in found
            and found[job_id].spec.queue == queue
            and found[job_id].spec.job_set == job_set
        ]

    def cancel(self, request: submit_pb2.JobCancelRequest, who: Principal) -> list[str]:
        check_reason(request.reason)
        ids = list(request.job_ids) + ([request.job_id] if request.job_id else [])
        jobs = self._job_set_jobs(
            who, "cancel", request.queue, job_set=request.job_set_id, job_ids=ids
        )
        return cancel_jobs(self.api, jobs, who, request.reason, "cancel")

    def cancel_job_set(self, request: submit_pb2.JobSetCancelRequest, who: Principal) -> None:
        check_reason(request.reason)
        states = job_set_filter_states(list(request.filter.states))
        jobs = self._job_set_jobs(
            who, "cancel", request.queue, job_set=request.job_set_id, job_ids=[], states=states
        )
        cancel_jobs(self.api, jobs, who, request.reason, "cancel/job-set")

    def reprioritise(
        self, request: submit_pb2.JobReprioritizeRequest, who: Principal
    ) -> dict[str, str]:
        try:
            priority = check_priority(request.new_priority)
        except SubmissionError as exc:
            raise invalid(f"new_{exc}") from None
        jobs = self._job_set_jobs(
            who,
            "reprioritize",
            request.queue,
            job_set=request.job_set_id,
            job_ids=list(request.job_ids),
        )
        done = set(reprioritise_jobs(self.api, jobs, priority, who, "reprioritise"))
        return self._results(
            list(request.job_ids) or [j.job_id for j in jobs],
            jobs,
            done,
            "the job has already finished",
        )

    def preempt(self, request: submit_pb2.JobPreemptRequest, who: Principal) -> dict[str, str]:
        check_reason(request.reason)
        if not request.job_ids:
            raise invalid("job_ids: at least one job id is required")
        jobs = self._job_set_jobs(
            who, "preempt", request.queue, job_set=request.job_set_id, job_ids=list(request.job_ids)
        )
        done = set(preempt_jobs(self.api, jobs, who, request.reason, "preempt"))
        return self._results(list(request.job_ids), jobs, done, "the job is not running")

    @staticmethod
    def _results(
        ids: list[str], jobs: list[JobRecord], done: set[str], why_not: str
    ) -> dict[str, str]:
        known = {job.job_id for job in jobs}
        return {
            job_id: ""
            if job_id in done
            else (why_not if job_id in known else "job not found in this queue and job set")
            for job_id in ids
        }


MAX_REASON_BYTES = 50  # Armada's server refuses longer reasons for cancel and preempt


def check_reason(reason: str) -> None:
    size = len(reason.encode())
    if size > MAX_REASON_BYTES:
        raise invalid(f"reason: is {size} bytes long; the limit is {MAX_REASON_BYTES}")


def job_set_filter_states(values: list[Any]) -> set[JobState] | None:
    """Armada's CancelJobSet filter: QUEUED, PENDING and RUNNING (the last two together)."""
    if not values:
        return None
    states: set[JobState] = set()
    for value in values:
        state = API_TO_JOB_STATE.get(value)
        if state not in (JobState.QUEUED, JobState.LEASED, JobState.PENDING, JobState.RUNNING):
            name = api_state_name(value)
            raise invalid(f"filter.states: jobs cannot be cancelled by state {name}")
        states.add(state)
    if (JobState.PENDING in states) != (JobState.RUNNING in states):
        raise invalid("filter.states: PENDING and RUNNING must be given together")
    if JobState.PENDING in states:
        states.add(JobState.LEASED)
    return states


class SubmitServicer(QueueRpcs, submit_pb2_grpc.SubmitServicer):  # type: ignore[misc]
    """api.Submit."""

    def __init__(self, api: ApiContext) -> None:
        super().__init__(api)
        self.submit_ops = SubmitOperations(api)

    @rpc
    async def SubmitJobs(
        self, request: submit_pb2.JobSubmitRequest, context: Any
    ) -> submit_pb2.JobSubmitResponse:
        ids = await asyncio.to_thread(self.submit_ops.submit, request, self.who(context))
        return submit_response(ids)

    @rpc
    async def CancelJobs(
        self, request: submit_pb2.JobCancelRequest, context: Any
    ) -> submit_pb2.CancellationResult:
        ids = await asyncio.to_thread(self.submit_ops.cancel, request, self.who(context))
        return submit_pb2.CancellationResult(cancelled_ids=ids)

    @rpc
    async def CancelJobSet(
        self, request: submit_pb2.JobSetCancelRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self.submit_ops.cancel_job_set, request, self.who(context))
        return empty_pb2.Empty()

    @rpc
    async def ReprioritizeJobs(
        self, request: submit_pb2.JobReprioritizeRequest, context: Any
    ) -> submit_pb2.JobReprioritizeResponse:
        results = await asyncio.to_thread(self.submit_ops.reprioritise, request, self.who(context))
        return submit_pb2.JobReprioritizeResponse(reprioritization_results=results)

    @rpc
    async def PreemptJobs(
        self, request: submit_pb2.JobPreemptRequest, context: Any
    ) -> submit_pb2.PreemptionResult:
        results = await asyncio.to_thread(self.submit_ops.preempt, request, self.who(context))
        return submit_pb2.PreemptionResult(preemption_results=results)

    async def Health(
        self, request: empty_pb2.Empty, context: Any
    ) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
