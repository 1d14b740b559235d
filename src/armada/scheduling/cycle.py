"""State shared by the pools of one round: settings compiled once, tokens, decisions so far."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from armada.config.scheduling import SchedulingSettings
from armada.domain.lifecycle import JobRecord
from armada.domain.queues import PriorityClass, Queue
from armada.scheduling.candidates import KeyInfo
from armada.scheduling.jobdb_snapshot import JobDbSnapshot
from armada.scheduling.keys import SchedulingKey
from armada.scheduling.nodedb import NOT_PREEMPTIBLE
from armada.scheduling.resources import ResourceSpace
from armada.scheduling.round_data import KeyReason, Lease, PoolReport, Preemption


@dataclass(slots=True)
class Cycle:
    settings: SchedulingSettings
    space: ResourceSpace
    priority_classes: dict[str, PriorityClass]
    default_class: PriorityClass
    snap: JobDbSnapshot
    queues: dict[str, Queue]
    now: float
    number: int
    global_tokens: float
    queue_tokens: dict[str, float]
    monotonic: Callable[[], float]
    deadline: float
    cordoned_executors: frozenset[str]
    pools: frozenset[str] = frozenset()
    infos: dict[int, KeyInfo] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)  # queued jobs leased in this round so far
    leases: list[Lease] = field(default_factory=list)
    preemptions: list[Preemption] = field(default_factory=list)
    job_reasons: dict[str, list[str]] = field(default_factory=dict)
    key_reasons: list[KeyReason] = field(default_factory=list)
    reports: list[PoolReport] = field(default_factory=list)

    @property
    def levels(self) -> list[int]:
        return sorted({pc.priority for pc in self.priority_classes.values()})

    def priority_class(self, name: str) -> PriorityClass:
        return self.priority_classes.get(name, self.default_class)

    def info(self, job: JobRecord) -> KeyInfo:
        return self.info_of_key(self.snap.keys.of(job.spec.requirements))

    def info_of_key(self, key: SchedulingKey) -> KeyInfo:
        info = self.infos.get(key.id)
        if info is None:
            vector, unknown = self.space.request(key.requirements.resources)
            preemptible = self.priority_class(key.priority_class).preemptible
            info = KeyInfo(
                key=key,
                vector=vector,
                request=tuple(int(v) for v in vector),
                unknown=unknown,
                preemptible=preemptible,
                bind_priority=key.pc_priority if preemptible else NOT_PREEMPTIBLE,
            )
            self.infos[key.id] = info
        return info

    def note(self, job_id: str, pool: str, reason: str) -> None:
        self.job_reasons.setdefault(job_id, []).append(f"pool {pool}: {reason}")
