"""A scheduler service on an in-memory store, with virtual time and predictable ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from armada.config.scheduler import SchedulerLoopSettings
from armada.config.scheduling import SchedulingSettings
from armada.config.server import StorageSettings
from armada.domain import events as ev
from armada.domain.clock import ManualClock, SequentialIds
from armada.domain.queues import Queue
from armada.rpc.gen import executorapi_pb2 as pb
from armada.schedulerservice.executors import ExecutorState
from armada.schedulerservice.service import SchedulerConfig, SchedulerService
from armada.views.storage import Storage, open_storage
from tests.builders import job_spec, requirements

# Every service a harness made, checked after each test (see conftest.py).
made: list[SchedulerService] = []


@dataclass
class Monotonic:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def loop_settings(**overrides: Any) -> SchedulerLoopSettings:
    values: dict[str, Any] = {
        "schedule_period": timedelta(seconds=1),
        "executor_timeout": timedelta(seconds=30),
        "executor_stale_after": timedelta(seconds=10),
        "lease_resend_after": timedelta(seconds=5),
        "missing_run_grace": timedelta(seconds=20),
    }
    values.update(overrides)
    return SchedulerLoopSettings(**values)


@dataclass
class Harness:
    storage: Storage
    service: SchedulerService
    clock: ManualClock
    monotonic: Monotonic
    submitted: list[str] = field(default_factory=list)
    restarts: int = 0

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.monotonic.now += seconds

    def create_queue(self, name: str = "queue-a", factor: float = 1.0) -> None:
        self.storage.append(
            [
                ev.EventSequence(
                    queue="",
                    job_set="",
                    user="admin",
                    created=self.clock.now(),
                    events=[ev.QueueCreated(queue=Queue(name=name, priority_factor=factor))],
                )
            ]
        )

    def submit(
        self, *job_ids: str, queue: str = "queue-a", job_set: str = "set-1", **spec: Any
    ) -> None:
        now = self.clock.now()
        self.user_events(
            *(
                ev.SubmitJob(spec=job_spec(j, queue=queue, job_set=job_set, submitted=now, **spec))
                for j in job_ids
            ),
            queue=queue,
            job_set=job_set,
        )
        self.submitted.extend(job_ids)

    def user_events(
        self, *events: ev.Event, queue: str = "queue-a", job_set: str = "set-1"
    ) -> None:
        """Append events from a user (cancellations, preemption requests) to the log."""
        self.storage.append(
            [
                ev.EventSequence(
                    queue=queue,
                    job_set=job_set,
                    user="alice",
                    created=self.clock.now(),
                    events=list(events),
                )
            ]
        )

    def heartbeat(
        self,
        executor: str = "cluster-1",
        nodes: int = 2,
        cpu: str = "4",
        active: list[str] | None = None,
        pool: str = "default",
        taints: list[pb.Taint] | None = None,
    ) -> pb.LeaseRequest:
        request = pb.LeaseRequest(
            executor_id=executor, pool=pool, max_jobs_to_lease=1000, active_run_ids=active or []
        )
        for i in range(nodes):
            request.nodes.add(
                name=f"{executor}-node-{i}",
                total_resources={"cpu": cpu, "memory": "16Gi", "ephemeral-storage": "100Gi"},
                labels={"kubernetes.io/hostname": f"{executor}-node-{i}"},
                taints=taints or [],
            )
        self.service.executors.heartbeat(request, self.service.monotonic())
        return request

    def restart(self) -> Harness:
        """A new scheduler on the same log and clocks, started (its first ingest replays the
        log); the executors know nothing of it until they heartbeat."""
        service = SchedulerService(
            self.storage,
            self.service.config,
            self.clock,
            # Run ids must never repeat: each restart has its own.
            SequentialIds("restarted-" if not self.restarts else f"restarted{self.restarts + 1}-"),
            monotonic=self.monotonic,
        )
        service.ingest()
        made.append(service)
        return Harness(
            self.storage,
            service,
            self.clock,
            self.monotonic,
            list(self.submitted),
            self.restarts + 1,
        )

    def state_of(self, job_id: str) -> str:
        job = self.storage.store.get_job(job_id)
        assert job is not None
        return job.state.value


def harness(**loop: Any) -> Harness:
    clock = ManualClock()
    monotonic = Monotonic()
    storage = open_storage(StorageSettings(event_log="memory"))
    scheduling = SchedulingSettings()
    service = SchedulerService(
        storage,
        SchedulerConfig(scheduling=scheduling, loop=loop_settings(**loop)),
        clock,
        SequentialIds(),
        monotonic=monotonic,
    )
    service.ingest()  # the start, over an empty log (a restart is a new service on this one)
    made.append(service)
    return Harness(storage=storage, service=service, clock=clock, monotonic=monotonic)


SMALL = requirements(resources={"cpu": 1000, "memory": 2**30 * 1000})


def leased(*job_ids: str, nodes: int = 1, cpu: str = "4") -> Harness:
    """A harness whose SMALL jobs ``job_ids`` are leased on cluster-1 (``nodes`` of ``cpu``)."""
    h = harness()
    h.create_queue()
    h.heartbeat("cluster-1", nodes=nodes, cpu=cpu)
    h.submit(*job_ids, requirements=SMALL)
    h.service.tick()
    assert [h.state_of(j) for j in job_ids] == ["LEASED"] * len(job_ids)
    return h


TINY = requirements(resources={"cpu": 10, "memory": 2**20})


def many_leased(count: int, **loop: Any) -> tuple[Harness, ExecutorState, dict[str, str]]:
    """``count`` TINY jobs (j0, j1, ...) leased on cluster-1's one 64-CPU node: the harness,
    the executor's state and each job's run id."""
    h = harness(**loop)
    h.create_queue()
    h.heartbeat(nodes=1, cpu="64")
    ids = [f"j{i}" for i in range(count)]
    h.submit(*ids, requirements=TINY)
    h.service.tick()
    state = h.service.executors.get("cluster-1")
    assert state is not None
    snap = h.service.jobdb.read()
    runs = {j: snap[j].active_run.run_id for j in ids}  # type: ignore[union-attr]
    return h, state, runs


# The executor API's run events by the name of their oneof field in ``RunEvent``.
REPORT_KINDS: dict[str, type[ev.RunEvent]] = {
    "assigned": ev.JobRunAssigned,
    "running": ev.JobRunRunning,
    "succeeded": ev.JobRunSucceeded,
    "failed": ev.JobRunFailed,
    "lease_returned": ev.JobRunLeaseReturned,
    "cancelled": ev.JobRunCancelled,
    "ingress_info": ev.IngressInfo,
    "utilisation": ev.JobRunUtilisation,
}


def run_report(kind: str, **fields: Any) -> ev.RunEvent:
    """An executor's report of ``kind`` about a run, with those of ``fields`` its kind
    carries (a failure with no failure said: one with no reason, as on the wire)."""
    cls = REPORT_KINDS[kind]
    if cls is ev.JobRunFailed:
        fields.setdefault("failure", ev.FailureInfo(reason="", cause=""))
    return cls(**{k: v for k, v in fields.items() if k in cls.__struct_fields__})


def leases_in(messages: Iterable[pb.LeaseStreamMessage]) -> list[pb.JobRunLease]:
    """Every lease the messages carry, single or batched, in order."""
    leases: list[pb.JobRunLease] = []
    for message in messages:
        kind = message.WhichOneof("event")
        if kind == "leases":
            leases.extend(message.leases.leases)
        elif kind == "lease":
            leases.append(message.lease)
    return leases
