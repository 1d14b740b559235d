"""Cancel, preempt and reprioritise: user commands on existing jobs, as event sequences.

Shared by the Submit service (by job ids or job set) and the QueueService (whole queue).
The commands read the query store to find the jobs they apply to; if a job changes state in
between, the lifecycle marks the late event stale, so a race never corrupts a job.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable

from armada.domain import events as ev
from armada.domain.lifecycle import JobRecord
from armada.security import Principal
from armada.server.context import ApiContext

JobEventsFor = Callable[[JobRecord], list[ev.Event]]


def select_jobs(
    jobs: Iterable[JobRecord],
    *,
    queues: Collection[str] = (),
    priority_classes: Collection[str] = (),
    pools: Collection[str] = (),
) -> list[JobRecord]:
    """The jobs matching every filter given; an empty filter matches every job.

    A job's pool is its active run's pool, or, before it has a run, any pool it may run in.
    """
    wanted_queues, wanted_classes, wanted_pools = set(queues), set(priority_classes), set(pools)

    def in_pools(job: JobRecord) -> bool:
        if job.active_run is not None:
            return job.active_run.pool in wanted_pools
        return bool(wanted_pools & set(job.validated_pools))

    return [
        job
        for job in jobs
        if (not wanted_queues or job.spec.queue in wanted_queues)
        and (not wanted_classes or job.spec.priority_class in wanted_classes)
        and (not wanted_pools or in_pools(job))
    ]


def sequences_for(
    jobs: Iterable[JobRecord], events_for: JobEventsFor, who: Principal, created: float, cause: str
) -> list[ev.EventSequence]:
    """One sequence per job set, holding the events of its jobs in the given order."""
    grouped: dict[tuple[str, str], list[ev.Event]] = defaultdict(list)
    for job in jobs:
        grouped[(job.spec.queue, job.spec.job_set)].extend(events_for(job))
    return [
        ev.EventSequence(
            queue=queue,
            job_set=job_set,
            user=who.user,
            groups=who.groups,
            created=created,
            events=events,
            cause=cause,
        )
        for (queue, job_set), events in grouped.items()
        if events
    ]


def cancel_jobs(
    api: ApiContext, jobs: list[JobRecord], who: Principal, reason: str, cause: str
) -> list[str]:
    """Cancel every non-terminal job given; return the ids cancelled.

    The job is cancelled at once (Cancelling then Cancelled); an active run's pod is stopped by
    its executor when the scheduler sees the cancellation.
    """
    targets = [job for job in jobs if not job.state.terminal]

    def events_for(job: JobRecord) -> list[ev.Event]:
        return [
            ev.CancelJob(job_id=job.job_id, reason=reason),
            ev.CancelledJob(job_id=job.job_id, reason=reason),
        ]

    api.storage.append(sequences_for(targets, events_for, who, api.clock.now(), cause))
    return [job.job_id for job in targets]


def preempt_jobs(
    api: ApiContext, jobs: list[JobRecord], who: Principal, reason: str, cause: str
) -> list[str]:
    """Ask the scheduler to preempt the active run of each job given; return those asked."""
    targets = [job for job in jobs if job.active_run is not None]

    def events_for(job: JobRecord) -> list[ev.Event]:
        return [ev.JobPreemptionRequested(job_id=job.job_id, reason=reason)]

    api.storage.append(sequences_for(targets, events_for, who, api.clock.now(), cause))
    return [job.job_id for job in targets]


def reprioritise_jobs(
    api: ApiContext, jobs: list[JobRecord], priority: int, who: Principal, cause: str
) -> list[str]:
    """Give each non-terminal job a new priority (Reprioritizing then Reprioritized)."""
    targets = [job for job in jobs if not job.state.terminal]

    def events_for(job: JobRecord) -> list[ev.Event]:
        return [
            ev.ReprioritiseJob(job_id=job.job_id, priority=priority),
            ev.ReprioritisedJob(job_id=job.job_id, priority=priority),
        ]

    api.storage.append(sequences_for(targets, events_for, who, api.clock.now(), cause))
    return [job.job_id for job in targets]
