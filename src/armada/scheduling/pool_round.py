"""One pool's round: evict, then refill the pool fairly, then preempt what did not come back.

1. Bind every running job of the pool to its node; compute each active queue's fair share.
2. Evict the preemptible jobs of queues holding more than ``protectedFractionOfFairShare`` of
   their fair share (they keep a claim on their node and may come back).
3. Progressive filling: repeatedly take the queue whose cost after its next item (job or gang)
   is the smallest multiple of its weight, and try that item: evicted jobs only on their own
   node, new jobs anywhere they match, best fit, urgency-preempting lower priority classes if
   nothing else works. Limits (rate, resources per round, per queue and class, lookback, time)
   stop a queue or the round, always with a reason.
4. Evicted jobs that did not come back are preempted, gangs as a unit.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from operator import add, sub

import numpy as np

from armada.domain.lifecycle import JobRecord
from armada.scheduling.admission import Admission
from armada.scheduling.candidates import Item, KeyInfo, QueueCandidates
from armada.scheduling.cycle import Cycle
from armada.scheduling.evictions import Evictions
from armada.scheduling.fairness import DrfCost, demand_capped_shares, fair_shares
from armada.scheduling.lease_undo import LeaseUndo
from armada.scheduling.model import KeyReason, Lease, Preemption
from armada.scheduling.nodedb import Choice, Mask, Placement, PoolNodeDb
from armada.scheduling.nodes import Node
from armada.scheduling.placement import GangPlacer
from armada.scheduling.pool_report import build_report


@dataclass(slots=True)
class NewLease:
    queue: str
    info: KeyInfo
    node: int
    gang_id: str
    uniformity_value: str


STOP_TIME = "maximum scheduling duration exceeded"


class PoolRound:
    def __init__(self, cycle: Cycle, pool: str, nodes: Sequence[Node]) -> None:
        self.c = cycle
        self.pool = pool
        settings = cycle.settings
        self.pool_settings = settings.pool(pool)
        self.db = PoolNodeDb(pool, nodes, cycle.space, cycle.levels, cycle.cordoned_executors)
        self.total = [int(x) for x in self.db.total()]
        names = cycle.space.names
        considered = [
            names.index(r)
            for r in settings.dominant_resource_fairness_resources_to_consider
            if r in names
        ]
        self.cost = DrfCost(self.total, considered)
        self.urgency = settings.enable_urgency_preemption and not (
            self.pool_settings.disable_urgency_preemption
        )
        zero = [0] * len(names)
        self.zero = zero
        self.alloc: dict[str, list[int]] = {}
        self.alloc_pc: dict[tuple[str, str], list[int]] = {}
        self.running: dict[str, JobRecord] = {}
        self.started: dict[str, float] = {}
        self.preempted: set[str] = set()
        self.to_rescore: set[str] = set()  # queues whose allocation changed during filling
        self.doomed: set[str] = set()
        self.new_here: dict[str, NewLease] = {}
        self.scheduled_round = list(zero)
        self.stop_reason = ""
        self.stats: dict[str, dict[str, int]] = {}
        self.placer = GangPlacer(self)
        self.admission = Admission(self)
        self.undo = LeaseUndo(self)
        self.evictions = Evictions(self)

    # -- accounting -----------------------------------------------------------------------
    def add_alloc(self, queue: str, pc: str, request: Sequence[int], sign: int) -> None:
        op = add if sign > 0 else sub
        self.alloc[queue] = list(map(op, self.alloc.get(queue, self.zero), request))
        key = (queue, pc)
        self.alloc_pc[key] = list(map(op, self.alloc_pc.get(key, self.zero), request))

    def stat(self, queue: str, name: str, n: int = 1) -> None:
        counts = self.stats.setdefault(queue, {})
        counts[name] = counts.get(name, 0) + n

    # -- setup ----------------------------------------------------------------------------
    def bind_running(self) -> None:
        """Put every running job of the pool on its node (jobs on vanished nodes still count)."""
        snap, queues, index = self.c.snap, self.c.queues, self.db.index
        counts: dict[tuple[str, int], int] = {}
        binds: list[tuple[str, str, int, KeyInfo]] = []
        for job_id in sorted(snap.active_in_pool(self.pool)):
            job = snap[job_id]
            run = job.runs[-1] if job.runs else None
            queue = job.spec.queue
            if run is None or run.state.terminal:
                continue
            info = self.c.info(job)
            self.running[job_id] = job
            self.started[job_id] = run.running_at or run.leased_at
            if queue in queues:  # a deleted queue's jobs still hold their nodes
                counts[(queue, info.key.id)] = counts.get((queue, info.key.id), 0) + 1
            node = index.get((run.executor, run.node))
            if node is not None:
                binds.append((job_id, queue, node, info))
        self.db.bind_many(
            [
                (job_id, queue, node, info.vector, info.bind_priority)
                for job_id, queue, node, info in binds
            ]
        )
        self.add_counts(counts, 1, "running")

    def add_counts(self, counts: dict[tuple[str, int], int], sign: int, stat: str) -> None:
        for (queue, key_id), n in counts.items():
            info = self.c.infos[key_id]
            self.add_alloc(queue, info.key.priority_class, [n * v for v in info.request], sign)
            self.stat(queue, stat, n)

    def compute_shares(self) -> None:
        """Fair shares among the queues active *in this pool*: with running jobs here, or with
        queued jobs that may run here and were not leased in an earlier pool this round."""
        snap, pool = self.c.snap, self.pool
        leased = self._leased_earlier()
        demand_vectors = {q: list(alloc) for q, alloc in self.alloc.items()}
        self.queued_here: dict[str, int] = {}
        for q in snap.queues_with_queued_jobs():
            if q not in self.c.queues:
                continue
            count, want = leased.get(q, (0, self.zero))
            count = -count  # start from what earlier pools took, then add the groups
            want = [-v for v in want]
            for group_id, group in snap.queued_groups(q).items():
                shared = snap.groups[group_id]
                if not shared.admits(pool):
                    continue
                n = len(group)
                request = self.c.info_of_key(shared.key).request
                want = [a + n * b for a, b in zip(want, request, strict=True)]
                count += n
            if count > 0:
                self.queued_here[q] = count
                held = demand_vectors.get(q)
                demand_vectors[q] = want if held is None else list(map(add, held, want))
        self.active = sorted(demand_vectors)
        self.weights = {q: self.c.queues[q].weight for q in self.active}
        self.demand = {q: self.cost(want) for q, want in demand_vectors.items()}
        self.fair = fair_shares(self.weights)
        self.adjusted = demand_capped_shares(self.weights, self.demand)
        self.actual_start = {q: self.cost(self.alloc.get(q, self.zero)) for q in self.active}

    def _leased_earlier(self) -> dict[str, tuple[int, list[int]]]:
        """queue -> (count, total request) of its queued jobs that may run in this pool but
        were leased in a pool scheduled earlier this round (``Cycle.taken``, read before this
        pool adds its own leases; every job in it is queued in the snapshot)."""
        snap, pool, info = self.c.snap, self.pool, self.c.info
        counts: dict[tuple[str, int], int] = {}
        for job_id in self.c.taken:
            job = snap[job_id]
            if not job.validated_pools or pool in job.validated_pools:
                where = (job.spec.queue, info(job).key.id)
                counts[where] = counts.get(where, 0) + 1
        leased: dict[str, tuple[int, list[int]]] = {}
        for (queue, key_id), n in counts.items():
            count, total = leased.get(queue, (0, self.zero))
            request = self.c.infos[key_id].request
            leased[queue] = (count + n, [a + n * b for a, b in zip(total, request, strict=True)])
        return leased

    def share_ratio(self, queue: str) -> float:
        """Actual share over the share protected from fair-share preemption."""
        share = max(self.fair.get(queue, 0.0), self.adjusted.get(queue, 0.0))
        actual = self.cost(self.alloc.get(queue, self.zero))
        return actual / share if share > 0 else float("inf") if actual > 0 else 0.0

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        started = self.c.monotonic()
        self.bind_running()
        self.compute_shares()
        self.evictions.evict()
        self.cands = {
            q: QueueCandidates(
                queue=q,
                pool=self.pool,
                snap=self.c.snap,
                evicted=self.evictions.items.get(q, []),
                info_of=self.c.info,
                taken=self.c.taken,
            )
            for q in self.active
        }
        heap: list[tuple[float, str]] = []
        for q in self.active:
            self._prepare_queue(q)
            self._push(heap, q)
        q = ""
        while heap or q:
            if not q:
                _, q = heapq.heappop(heap)
            cands = self.cands[q]
            item = cands.peek()
            if item is None:
                q = ""
                continue
            if item.evicted:
                self.evictions.restore(item)
                cands.advance()
            elif not self.stop_reason and self.c.monotonic() > self.c.deadline:
                self.stop_round(STOP_TIME)
            elif self.admission.admit(q, cands, item):
                self._schedule_new(q, cands, item)
            q = self._next_queue(heap, q)
        for q, cands in self.cands.items():
            self._close_queue(q, cands)
        self.undo.restore_where_room_came_back()
        self.evictions.preempt_unrestored()
        duration = self.c.monotonic() - started
        self.c.reports.append(build_report(self, duration))

    def _next_queue(self, heap: list[tuple[float, str]], queue: str) -> str:
        """Keep going with ``queue`` while it still has the smallest score, else switch."""
        if self.to_rescore:
            self._rescore(heap)
        score = self._score(queue)
        if score is None:
            return ""
        if heap and heap[0] < (score, queue):
            return heapq.heapreplace(heap, (score, queue))[1]
        return queue

    def _score(self, queue: str) -> float | None:
        """The queue's cost after its next item, over its weight (None: nothing left)."""
        item = self.cands[queue].peek()
        if item is None:
            return None
        alloc = self.alloc.get(queue, self.zero)
        return self.cost.with_extra(alloc, item.total) / self.weights[queue]

    def _push(self, heap: list[tuple[float, str]], queue: str) -> None:
        score = self._score(queue)
        if score is not None:
            heapq.heappush(heap, (score, queue))

    def _rescore(self, heap: list[tuple[float, str]]) -> None:
        """Queues whose allocation changed while they waited get their score recomputed: it
        falls when a job of theirs is preempted by urgency or a lease of theirs is undone, so
        they come up as soon as is fair, and rises again when a victim is put back."""
        to_rescore = self.to_rescore
        for i, (old, q) in enumerate(heap):
            if q in to_rescore:
                score = self._score(q)
                heap[i] = (old if score is None else score, q)
        heapq.heapify(heap)
        to_rescore.clear()

    def _prepare_queue(self, queue: str) -> None:
        if self.c.queues[queue].cordoned:
            self.stop_queue(queue, "queue cordoned")

    def stop_queue(self, queue: str, reason: str, item: Item | None = None) -> None:
        cands = self.cands[queue]
        if cands.new_stopped:
            return
        if item is not None:
            for job in item.jobs:
                self.c.note(job.job_id, self.pool, reason)
        cands.stop_new()
        for group_id, count in cands.remaining_groups():
            self._key_reason(queue, group_id, reason, count)

    def stop_round(self, reason: str) -> None:
        self.stop_reason = reason
        for q in self.active:
            item = self.cands[q].peek()
            self.stop_queue(q, reason, item if item is not None and not item.evicted else None)

    def _key_reason(self, queue: str, group_id: int, reason: str, count: int) -> None:
        key = self.c.snap.groups[group_id].key
        self.c.key_reasons.append(
            KeyReason(
                pool=self.pool,
                queue=queue,
                key_id=key.id,
                key=key.describe(),
                reason=reason,
                jobs=count,
            )
        )

    def reject(self, queue: str, cands: QueueCandidates, item: Item, reason: str) -> None:
        """The item stays queued; a plain job's reason covers its whole group."""
        for job in item.jobs:
            self.c.note(job.job_id, self.pool, reason)
        cands.advance()
        if item.group >= 0 and not item.jobs[0].avoid_nodes:
            left = cands.skip_group(item.group)
            if left:
                cands.considered_new += left  # twins set aside were looked at, as in Armada
                self._key_reason(queue, item.group, reason, left)

    # -- placing --------------------------------------------------------------------------
    def avoid_mask(self, job: JobRecord) -> Mask | None:
        if not job.avoid_nodes:
            return None
        avoid = set(job.avoid_nodes)
        return np.array([n.name not in avoid for n in self.db.nodes], dtype=np.bool_)

    def _schedule_new(self, queue: str, cands: QueueCandidates, item: Item) -> None:
        outcome = self.placer.place(item)
        if isinstance(outcome, str):
            self.reject(queue, cands, item, outcome)
            return
        cands.advance()
        uniformity_value, placements, victims = outcome
        if len(placements) == 1 and not victims:  # the common case, kept short
            info, node, job_id = item.infos[0], placements[0].node, placements[0].job_id
            self.new_here[job_id] = NewLease(queue, info, node, "", uniformity_value)
            self.c.taken.add(job_id)
            self.add_alloc(queue, info.key.priority_class, info.request, 1)
            self.scheduled_round = list(map(add, self.scheduled_round, info.request))
            self.c.global_tokens -= 1
            self.c.queue_tokens[queue] -= 1
            return
        gang_id = item.gang.id if item.gang is not None and len(item.jobs) > 1 else ""
        taken = self.c.taken
        for info, placement in zip(item.infos, placements, strict=True):
            job_id = placement.job_id
            self.new_here[job_id] = NewLease(queue, info, placement.node, gang_id, uniformity_value)
            taken.add(job_id)
            self.add_alloc(queue, info.key.priority_class, info.request, 1)
        size = len(placements)
        self.scheduled_round = list(map(add, self.scheduled_round, item.total))
        self.c.global_tokens -= size
        self.c.queue_tokens[queue] -= size
        on_node = {p.node: i for i, p in enumerate(placements)}
        for victim in victims:  # each preempted by the member placed on its node
            i = on_node[victim.node]
            self.preempt_victim(victim, item.jobs[i], item.infos[i])
            self.undo.note_victim(item.jobs[i].job_id, victim)

    def leases(self) -> list[Lease]:
        """The round's new leases, in the order they were made."""
        nodes = self.db.nodes
        return [
            Lease(
                job_id=job_id,
                queue=new.queue,
                executor=nodes[new.node].executor,
                node=nodes[new.node].name,
                pool=self.pool,
                scheduled_at_priority=new.info.key.pc_priority,
                gang_id=new.gang_id,
                gang_uniformity_value=new.uniformity_value,
            )
            for job_id, new in self.new_here.items()
        ]

    def victim_rank(self, p: Placement) -> tuple[object, ...]:
        """Urgency victims on a node: lowest priority first, then the queue furthest above its
        fair share, then the youngest (a lease of this round first, then latest started, then
        latest submitted), as Armada's second pass puts the oldest back first."""
        job = self.c.snap[p.job_id]
        started = self.started.get(p.job_id, float("inf"))
        return (p.priority, -self.share_ratio(p.queue), -started, -job.submitted_at, p.job_id)

    def choose(self, info: KeyInfo, restrict: Mask | None) -> Choice | None:
        return self.db.select(
            info.key, info.vector, info.key.pc_priority, restrict=restrict, urgency=self.urgency
        )

    def preempt_victim(self, victim: Placement, preemptor: JobRecord, info: KeyInfo) -> None:
        """Urgency preemption of a bound job (already unbound from its node by the placer)."""
        self.undo.note_lost(victim)
        node = self.db.nodes[victim.node].name
        reason = (
            f"preempted by job {preemptor.job_id} of priority class {info.key.priority_class} "
            f"(priority {info.key.pc_priority}), which needed room on node {node}"
        )
        self.drop(victim.job_id, reason, "urgency", preemptor.job_id)

    def drop(self, job_id: str, reason: str, kind: str, preemptor: str = "") -> None:
        """A job bound in this round loses its place: preempt it, or un-lease a new one."""
        if job_id in self.preempted:
            return
        new = self.new_here.pop(job_id, None)
        if new is not None:
            self.add_alloc(new.queue, new.info.key.priority_class, new.info.request, -1)
            self.scheduled_round = list(map(sub, self.scheduled_round, new.info.request))
            self.c.global_tokens += 1
            self.c.queue_tokens[new.queue] += 1
            self.to_rescore.add(new.queue)
            self.c.taken.discard(job_id)
            self.c.note(job_id, self.pool, f"displaced this round: {reason}")
            self.undo.lease_undone(job_id, new.node)
            self._cascade_gang(self.c.snap[job_id])
            return
        job = self.running[job_id]
        run = job.active_run
        assert run is not None
        info = self.c.info(job)
        if job_id not in self.db.evicted:  # an evicted job's share was given up on eviction
            self.add_alloc(job.spec.queue, info.key.priority_class, info.request, -1)
            self.to_rescore.add(job.spec.queue)
        self.preempted.add(job_id)
        self.stat(job.spec.queue, "preempted")
        self.c.preemptions.append(
            Preemption(
                job_id=job_id,
                run_id=run.run_id,
                queue=job.spec.queue,
                pool=self.pool,
                reason=reason,
                kind=kind,
                preempting_job_id=preemptor,
            )
        )
        self._cascade_gang(job)

    def _cascade_gang(self, job: JobRecord) -> None:
        gang = job.spec.gang
        if gang is None or gang.cardinality <= 1:
            return
        for member_id in sorted(self.c.snap.gang(job.spec.queue, gang.id)):
            if member_id == job.job_id:
                continue
            if member_id not in self.running and member_id not in self.new_here:
                continue
            if member_id in self.db.placed:
                self.undo.note_lost(self.db.unbind(member_id))
                self.drop(member_id, f"preempted with its gang {gang.id}", "gang")
            elif member_id in self.db.evicted:
                self.doomed.add(member_id)

    def _close_queue(self, queue: str, cands: QueueCandidates) -> None:
        cands.note_unfinished_gangs()
        for job_id, reason in cands.notes:
            self.c.note(job_id, self.pool, reason)
        if not cands.new_stopped:
            for group_id, count in cands.remaining_groups():
                self._key_reason(queue, group_id, "not reached this round", count)
