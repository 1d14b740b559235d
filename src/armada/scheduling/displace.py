"""A job bound in a pool round losing its place: preempted, or its new lease undone.

Urgency preemption, fair-share preemption and a gang going with one of its members all end
here; :class:`Displacer` keeps the books (the queue's holding, tokens, the cycle's decisions)
and tells :class:`~armada.scheduling.lease_undo.LeaseUndo` what it may later put back.
"""

from __future__ import annotations

from operator import sub

from armada.domain.lifecycle import JobRecord
from armada.scheduling.candidates import KeyInfo
from armada.scheduling.lease_undo import LeaseUndo
from armada.scheduling.nodedb import Placement
from armada.scheduling.pool_state import FillState, PoolContext, Running
from armada.scheduling.round_data import Preemption
from armada.scheduling.shares import Shares


class Displacer:
    def __init__(
        self,
        ctx: PoolContext,
        running: Running,
        shares: Shares,
        state: FillState,
        undo: LeaseUndo,
    ) -> None:
        self.ctx = ctx
        self.running = running
        self.shares = shares
        self.state = state
        self.undo = undo

    def victim_rank(self, p: Placement) -> tuple[object, ...]:
        """Urgency victims on a node: lowest priority first, then the queue furthest above its
        fair share, then the youngest (a lease of this round first, then latest started, then
        latest submitted), as Armada's second pass puts the oldest back first."""
        job = self.ctx.cycle.snap[p.job_id]
        started = self.running.started.get(p.job_id, float("inf"))
        ratio = self.shares.ratio(self.ctx, p.queue, self.running.ledger.alloc)
        return (p.priority, -ratio, -started, -job.submitted_at, p.job_id)

    def preempt_victim(self, victim: Placement, preemptor: JobRecord, info: KeyInfo) -> None:
        """Urgency preemption of a bound job (already unbound from its node by the placer)."""
        self.undo.note_lost(victim)
        node = self.ctx.db.nodes[victim.node].name
        reason = (
            f"preempted by job {preemptor.job_id} of priority class {info.key.priority_class} "
            f"(priority {info.key.pc_priority}), which needed room on node {node}"
        )
        self.drop(victim.job_id, reason, "urgency", preemptor.job_id)

    def drop(self, job_id: str, reason: str, kind: str, preemptor: str = "") -> None:
        """A job bound in this round loses its place: preempt it, or un-lease a new one."""
        state, ctx, ledger = self.state, self.ctx, self.running.ledger
        cycle = ctx.cycle
        if job_id in state.preempted:
            return
        new = state.new_here.pop(job_id, None)
        if new is not None:
            ledger.add_alloc(new.queue, new.info.key.priority_class, new.info.request, -1)
            ledger.scheduled_round = list(map(sub, ledger.scheduled_round, new.info.request))
            cycle.global_tokens += 1
            cycle.queue_tokens[new.queue] += 1
            state.to_rescore.add(new.queue)
            cycle.taken.discard(job_id)
            cycle.note(job_id, ctx.pool, f"displaced this round: {reason}")
            self.undo.lease_undone(job_id, new.node)
            self._cascade_gang(cycle.snap[job_id])
            return
        job = self.running.jobs[job_id]
        run = job.active_run
        assert run is not None
        info = cycle.info(job)
        if job_id not in ctx.db.evicted:  # an evicted job's share was given up on eviction
            ledger.add_alloc(job.spec.queue, info.key.priority_class, info.request, -1)
            state.to_rescore.add(job.spec.queue)
        state.preempted.add(job_id)
        ledger.stat(job.spec.queue, "preempted")
        cycle.preemptions.append(
            Preemption(
                job_id=job_id,
                run_id=run.run_id,
                queue=job.spec.queue,
                pool=ctx.pool,
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
        db, state, running = self.ctx.db, self.state, self.running.jobs
        for member_id in sorted(self.ctx.cycle.snap.gang(job.spec.queue, gang.id)):
            if member_id == job.job_id:
                continue
            if member_id not in running and member_id not in state.new_here:
                continue
            if member_id in db.placed:
                self.undo.note_lost(db.unbind(member_id))
                self.drop(member_id, f"preempted with its gang {gang.id}", "gang")
            elif member_id in db.evicted:
                state.doomed.add(member_id)
