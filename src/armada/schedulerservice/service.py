"""The scheduler service: the I/O shell around the pure scheduling core and lifecycle rules.

It keeps its job database in step with the log (``ingest``), and on every tick carries out
the duties that need no executor: lease expiry for silent executors, the submit check of new
jobs, users' preemption requests, failing whole fail-fast gangs, and (every
``schedulePeriod``) a scheduling round. Everything it decides is appended to the log first and
only then applied to its job database, by reading the log back: its state is always exactly
the replay of the log, which is what makes a restarted scheduler decide the same.

What executors report is not in the log. The first ``ingest`` is the start: executors holding
runs are put back in the registry (so that their leases expire if they never return), and if
the log was not empty the submit check rejects nothing for ``executorTimeout``, the time the
executors known before the start have to report their nodes again.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from armada.config.scheduler import SchedulerLoopSettings
from armada.config.scheduling import SchedulingSettings
from armada.domain import events as ev
from armada.domain.clock import Clock, IdSource
from armada.domain.lifecycle import JobRecord, StaleEvent, apply_event
from armada.domain.states import InvalidTransition
from armada.schedulerservice.executors import ExecutorRegistry
from armada.schedulerservice.rules import (
    RetryRules,
    RunReport,
    events_for_expired_executor,
    events_for_failed_gang,
    events_for_preemption_requests,
    events_for_report,
)
from armada.scheduling import (
    JobDb,
    JobDbSnapshot,
    Node,
    RateLimiterState,
    SchedulingResult,
    SchedulingSnapshot,
    gc_paused,
)
from armada.scheduling import schedule as run_scheduling_round
from armada.scheduling.reports import ReportHistory
from armada.scheduling.submitcheck import SubmitChecker
from armada.views.storage import Storage

log = logging.getLogger(__name__)

# Log entries read (and decoded) at a time. An entry may carry thousands of events (a
# submission of 1,000 jobs, a round's leases): a small batch keeps a replay's transient
# memory small, and costs nothing else, since a replay applies all batches in one transaction.
INGEST_BATCH = 20
FREEZE_AFTER_ENTRIES = 1000
REMEMBERED_PREEMPTIONS = 100_000


@dataclass(frozen=True)
class SchedulerConfig:
    scheduling: SchedulingSettings
    loop: SchedulerLoopSettings


class SchedulerService:
    def __init__(
        self,
        storage: Storage,
        config: SchedulerConfig,
        clock: Clock,
        ids: IdSource,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.config = config
        self.clock = clock
        self.ids = ids
        self.monotonic = monotonic
        classes = config.scheduling.domain_priority_classes()
        self.jobdb = JobDb(classes, config.scheduling.default_priority_class_name)
        self.executors = ExecutorRegistry()
        self.history = ReportHistory(config.scheduling.report_rounds_kept)
        self.rules = RetryRules(
            max_retries=config.loop.max_retries,
            requeue_expired_leases=config.loop.requeue_expired_leases,
        )
        self.offset = 0
        self.cycle = 0
        self.rate_limits = RateLimiterState()
        self.last_round_at = float("-inf")
        self._jobs_arrived = False
        self._capacity_freed = False  # a run ended since the last round
        self._ingest_lock = threading.Lock()
        self._unchecked: dict[str, None] = {}
        self._preemption_requests: dict[str, None] = {}
        self._failed_gang_members: list[JobRecord] = []
        self.preempted_runs: OrderedDict[str, None] = OrderedDict()
        self._checker: SubmitChecker | None = None
        self._checker_nodes: tuple[object, ...] = ()
        self._checker_node_list: list[Node] = []
        self.started_at: float | None = None  # when the first ingest (the replay) ended
        self.rejections_from = float("inf")  # the submit check rejects no job before this
        self._deferred: dict[str, str] = {}  # job -> why no node fits it (yet)
        self._listeners: list[Callable[[], None]] = []
        # The active runs, by executor, kept in step with the job database after every write
        # (see _track_active_runs): what an executor holds is then found without walking the
        # job database on every LeaseRequest.
        self._active_runs: dict[str, dict[str, str]] = {}  # executor -> {run id: job id}
        self._run_of: dict[str, tuple[str, str]] = {}  # job id -> (executor, run id)

    # --- the log ---------------------------------------------------------------------------

    def ingest(self) -> int:
        """Apply every log entry after ``offset`` to the job database; return the new offset.
        The first call is the start (see :meth:`_start`)."""
        with self._ingest_lock, gc_paused():
            offset = self._read_log()
            if self.started_at is None:
                self._start(replayed=offset > 0)
        return offset

    def _read_log(self) -> int:
        """Apply what the log holds after ``offset``; return the new offset."""
        start = offset = self.offset
        entries = self.storage.log.read(offset, INGEST_BATCH)
        if not entries:
            return offset
        # The start (a replay of the whole log) builds the active runs afresh, once, after it;
        # later reads update them for the jobs their events touch.
        touched: set[str | None] | None = None if self.started_at is None else set()
        # One transaction for everything there is to read: a replay of a long log then
        # copies each container of the job database once, not once per batch.
        with self.jobdb.write() as txn:
            while entries:
                self._note(entries, txn.get)
                if touched is not None:
                    for entry in entries:
                        touched.update(map(ev.event_job_id, entry.sequence.events))
                txn.apply(entries)
                offset = entries[-1].offset
                entries = []  # let this batch go before the next one is decoded
                entries = self.storage.log.read(offset, INGEST_BATCH)
        self.offset = offset
        if touched is None:
            self._active_runs, self._run_of = _active_runs_of(self.jobdb.read())
        else:
            self._track_active_runs(touched)
        if offset - start >= FREEZE_AFTER_ENTRIES:
            # A big replay (a restart): what was just loaded lives long. Moving it out of
            # the collector's generations keeps later collections from walking it again
            # and again; doing so before the collector is resumed spares it one full walk.
            gc.freeze()
        return offset

    def _track_active_runs(self, job_ids: Iterable[str | None]) -> None:
        """Bring the active runs of ``job_ids`` (None: no job) in step with the job database."""
        snap = self.jobdb.read()
        run_of = self._run_of
        for job_id in job_ids:
            if job_id is None:
                continue
            job = snap.get(job_id)
            run = job.active_run if job is not None else None
            after = (run.executor, run.run_id) if run is not None else None
            before = run_of.get(job_id)
            if before == after:
                continue
            if before is not None:
                executor, run_id = before
                runs = self._active_runs[executor]
                del runs[run_id]
                if not runs:
                    del self._active_runs[executor]
                del run_of[job_id]
            if after is not None:
                run_of[job_id] = after
                self._active_runs.setdefault(after[0], {})[after[1]] = job_id

    def runs_on_executor(self, executor_id: str) -> Mapping[str, str]:
        """The active runs on an executor, whichever node (reported or not) they are on:
        run id -> job id. Read-only; it changes with the next read of the log."""
        return self._active_runs.get(executor_id, _NO_RUNS)

    def validate(self) -> None:
        """Check the job database, and that the active runs kept by executor are exactly
        those it holds; raise AssertionError if not. Safe from any thread."""
        with self._ingest_lock:
            self._validate()

    def _validate(self) -> None:
        self.jobdb.validate()
        snap = self.jobdb.read()
        by_executor: dict[str, dict[str, str]] = defaultdict(dict)
        run_of: dict[str, tuple[str, str]] = {}
        for job in snap.jobs():
            run = job.active_run
            if run is not None:
                by_executor[run.executor][run.run_id] = job.job_id
                run_of[job.job_id] = (run.executor, run.run_id)
        assert self._active_runs == by_executor, "active runs by executor out of step"
        assert self._run_of == run_of, "active run of each job out of step"
        assert all(self._active_runs.values()), "an executor kept with no active runs"
        assert _active_runs_of(snap) == (self._active_runs, run_of)

    def _start(self, *, replayed: bool) -> None:
        """After the first read of the log: know again the executors that hold runs, as if
        heard from now, so that one that never returns times out; and, if there was a past to
        replay, reject no job for lack of capacity until the executors known before the start
        have had ``executorTimeout`` to report their nodes again."""
        now = self.clock.now()
        self.started_at = now
        grace = self.config.loop.executor_timeout.total_seconds() if replayed else 0.0
        self.rejections_from = now + grace
        restored = [
            e
            for e in self.jobdb.read().active_executors()
            if self.executors.restore(e, self.monotonic())
        ]
        if restored:
            log.info("start: %d executors hold runs: %s", len(restored), ", ".join(restored))

    def _note(
        self, entries: Sequence[ev.LogEntry], before: Callable[[str], JobRecord | None]
    ) -> None:
        """Remember what the duties must look at; ``before`` reads the job database as it is
        before ``entries`` are applied."""
        unchecked = self._unchecked  # a million times on a restart: keep the loop lean
        for entry in entries:
            for event in entry.sequence.events:
                if isinstance(event, ev.SubmitJob):
                    unchecked[event.spec.job_id] = None
                    self._jobs_arrived = True
                elif isinstance(event, _FREES_CAPACITY):
                    self._capacity_freed = True
                    if isinstance(event, ev.JobRunPreempted):
                        self._remember_preemption(event.run_id)
                elif isinstance(event, ev.JobPreemptionRequested):
                    self._preemption_requests[event.job_id] = None
                elif isinstance(event, ev.JobFailed | ev.JobRejected):
                    job = before(event.job_id)
                    if job is not None and job.spec.gang is not None:
                        self._failed_gang_members.append(job)

    def _remember_preemption(self, run_id: str) -> None:
        self.preempted_runs[run_id] = None
        if len(self.preempted_runs) > REMEMBERED_PREEMPTIONS:
            self.preempted_runs.popitem(last=False)

    def append(
        self, events_by_job: Iterable[tuple[JobRecord, ev.Event]], who: str, cause: str
    ) -> int:
        """Append events (grouped per job set, order kept), then read them back."""
        grouped: dict[tuple[str, str], list[ev.Event]] = defaultdict(list)
        for job, event in events_by_job:
            grouped[(job.spec.queue, job.spec.job_set)].append(event)
        if not grouped:
            return 0
        now = self.clock.now()
        self.storage.append(
            [
                ev.EventSequence(
                    queue=q, job_set=s, user=who, created=now, events=events, cause=cause
                )
                for (q, s), events in grouped.items()
            ]
        )
        self.ingest()
        return sum(len(events) for events in grouped.values())

    def on_new_leases(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from any thread) after a round leased something."""
        self._listeners.append(listener)

    # --- duties ----------------------------------------------------------------------------

    def tick(self) -> SchedulingResult | None:
        """One pass of every duty; a scheduling round when one is due. Thread-safe to call
        from one worker thread at a time."""
        self.ingest()
        self.expire_silent_executors(self.monotonic())
        self.check_submissions()
        self.carry_out_requests()
        if self._round_due():
            self.last_round_at = self.monotonic()
            self._jobs_arrived = self._capacity_freed = False
            return self.schedule_round()
        return None

    def _round_due(self) -> bool:
        """Every schedulePeriod; sooner (after scheduleNewJobsAfter) when new jobs arrived, or
        when runs ended while jobs wait (short jobs would otherwise leave their room idle
        until the period is over)."""
        since = self.monotonic() - self.last_round_at
        if since >= self.config.loop.schedule_period.total_seconds():
            return True
        early = self.config.loop.schedule_new_jobs_after.total_seconds()
        if early <= 0 or since < early:
            return False
        return self._jobs_arrived or (self._capacity_freed and self.jobdb.read().has_queued())

    def expire_silent_executors(self, now: float) -> None:
        timeout = self.config.loop.executor_timeout.total_seconds()
        for state in self.executors.timed_out(now, timeout):
            snap = self.jobdb.read()
            jobs = self.jobs_on_executor(snap, state.executor_id)
            events = events_for_expired_executor(jobs.values(), state.executor_id, self.rules)
            self.append(
                _paired(jobs, events), "scheduler", f"scheduler/lease-expiry/{state.executor_id}"
            )
            log.warning(
                "executor %s silent for over %ss: %d runs lost their lease",
                state.executor_id,
                timeout,
                len(jobs),
            )
            self.executors.forget(state.executor_id)

    def jobs_on_executor(self, snap: JobDbSnapshot, executor_id: str) -> dict[str, JobRecord]:
        """Jobs with an active run on the executor, whichever node (reported or not) it is on."""
        jobs: dict[str, JobRecord] = {}
        for job_id in self.runs_on_executor(executor_id).values():
            job = snap.get(job_id)
            if job is not None:
                jobs[job_id] = job
        return jobs

    def live_nodes(self) -> list[Node]:
        """Nodes to schedule onto: those of executors heard from within executorStaleAfter."""
        stale = self.config.loop.executor_stale_after.total_seconds()
        return self.executors.live_nodes(self.monotonic(), stale)

    def known_nodes(self) -> list[Node]:
        """Nodes to check submissions against: the last known nodes of every executor not
        timed out. A stale executor gets no new jobs, but it may come back."""
        timeout = self.config.loop.executor_timeout.total_seconds()
        return self.executors.live_nodes(self.monotonic(), timeout)

    def _submit_checker(self, nodes: list[Node]) -> tuple[SubmitChecker, bool]:
        """A checker for ``nodes``, and whether it is new (the nodes changed)."""
        previous = self._checker_node_list
        if (
            self._checker is not None
            and len(previous) == len(nodes)
            and all(a is b for a, b in zip(previous, nodes, strict=True))
        ):
            return self._checker, False  # the same parsed nodes: nothing can have changed
        self._checker_node_list = nodes
        shape = tuple(
            sorted(
                (
                    n.executor,
                    n.name,
                    n.pool,
                    tuple(sorted(n.allocatable.items())),
                    tuple(sorted(n.labels.items())),
                    n.taints,
                )
                for n in nodes
            )
        )
        if self._checker is None or shape != self._checker_nodes:
            self._checker = SubmitChecker(nodes, self.config.scheduling)
            self._checker_nodes = shape
            return self._checker, True
        return self._checker, False

    def check_submissions(self) -> None:
        """Validate new jobs against the farm: which pools could ever run them.

        The farm is :meth:`known_nodes`. With no nodes at all nothing is judged: jobs wait.
        A job that fits nowhere is rejected only from ``rejections_from`` on (after a start,
        the executors known before it may not have reported yet); until then it waits,
        checked again whenever the nodes change.
        """
        if not self._unchecked and not self._deferred:
            return
        nodes = self.known_nodes()
        if not nodes:
            return  # no executor has reported its nodes: nothing to judge against
        checker, changed = self._submit_checker(nodes)
        rejecting = self.clock.now() >= self.rejections_from
        if self._deferred and (changed or rejecting):
            self._unchecked.update(dict.fromkeys(self._deferred))
            self._deferred.clear()
        if not self._unchecked:
            return
        snap = self.jobdb.read()
        pairs: list[tuple[JobRecord, ev.Event]] = []
        unchecked, self._unchecked = self._unchecked, {}
        for job_id in unchecked:
            job = snap.get(job_id)
            if job is None or job.validated_pools or job.state.terminal:
                continue
            result = checker.check_submittable(job.spec.requirements, job.spec.gang)
            if result.ok:
                pairs.append((job, ev.JobValidated(job_id=job_id, pools=result.pools)))
            elif rejecting:
                pairs.append((job, ev.JobRejected(job_id=job_id, reason=result.reason)))
            else:
                self._deferred[job_id] = result.reason
        self.append(pairs, "scheduler", "scheduler/submit-check")

    def submit_check_pending(self, job_id: str) -> str | None:
        """Why the submit check has not judged a job yet, in words; None if it has."""
        if job_id in self._deferred:
            left = max(0.0, self.rejections_from - self.clock.now())
            return (
                f"no node known now could ever run it ({self._deferred[job_id]}); the "
                "scheduler started recently and not every executor may have reported its "
                f"nodes yet: it is rejected in {left:.0f}s if that is still so"
            )
        if job_id in self._unchecked:
            if not self.known_nodes():
                return "no executor has reported its nodes yet: the submit check waits for one"
            return "not checked yet"
        return None

    def carry_out_requests(self) -> None:
        snap = self.jobdb.read()
        pairs: list[tuple[JobRecord, ev.Event]] = []
        if self._preemption_requests:
            jobs = [j for j in map(snap.get, self._preemption_requests) if j is not None]
            self._preemption_requests.clear()
            by_id = {j.job_id: j for j in jobs}
            pairs += _paired(by_id, events_for_preemption_requests(jobs))
        failed, self._failed_gang_members = self._failed_gang_members, []
        for member in failed:
            gang = member.spec.gang
            assert gang is not None
            others = [j for j in map(snap.get, snap.gang(member.spec.queue, gang.id)) if j]
            by_id = {j.job_id: j for j in others}
            pairs += _paired(by_id, events_for_failed_gang(member, others))
        self.append(pairs, "scheduler", "scheduler/requests")

    def schedule_round(self) -> SchedulingResult:
        self.cycle += 1
        snap = self.jobdb.read()
        settings = self.storage.store.list_executor_settings()
        snapshot = SchedulingSnapshot(
            jobs=snap,
            nodes=self.live_nodes(),
            queues=self.storage.store.list_queues(),
            now=self.clock.now(),
            cordoned_executors=frozenset(s.executor for s in settings if s.cordoned),
            rate_limits=self.rate_limits,
            cycle=self.cycle,
        )
        with gc_paused():  # see armada.scheduling.gcpause: rounds allocate but leave no cycles
            result = run_scheduling_round(
                snapshot, self.config.scheduling, monotonic=self.monotonic
            )
        self.rate_limits = result.rate_limits
        self.history.record(result)
        pairs: list[tuple[JobRecord, ev.Event]] = []
        for preemption in result.preemptions:
            job = snap.get(preemption.job_id)
            if job is not None and job.active_run is not None:
                pairs.append(
                    (
                        job,
                        ev.JobRunPreempted(
                            job_id=job.job_id,
                            run_id=preemption.run_id,
                            executor=job.active_run.executor,
                            reason=preemption.reason,
                            preempting_job_id=preemption.preempting_job_id,
                        ),
                    )
                )
        for lease in result.leases:
            job = snap.get(lease.job_id)
            if job is not None:
                pairs.append(
                    (
                        job,
                        ev.JobRunLeased(
                            job_id=lease.job_id,
                            run_id=self.ids.run_id(),
                            executor=lease.executor,
                            node=lease.node,
                            pool=lease.pool,
                            scheduled_at_priority=lease.scheduled_at_priority,
                            gang_uniformity_value=lease.gang_uniformity_value,
                        ),
                    )
                )
        self.append(pairs, "scheduler", f"scheduler/cycle-{self.cycle}")
        if result.leases or result.preemptions:
            for listener in self._listeners:
                listener()
        return result

    # --- executors' reports ----------------------------------------------------------------

    def handle_reports(self, executor_id: str, reports: Sequence[RunReport]) -> int:
        """Turn an executor's run reports into events; return how many were appended."""
        snap = self.jobdb.read()
        pairs: list[tuple[JobRecord, ev.Event]] = []
        pending: dict[str, JobRecord] = {}
        for report in reports:
            job = pending.get(report.job_id) or snap.get(report.job_id)
            if job is None and report.kind == "utilisation":  # the last period of an ended
                job = self.storage.store.get_job(report.job_id)  # job the database let go
            events = events_for_report(job, report, self.rules, executor_id)
            if job is None or not events:
                continue
            pairs += [(job, e) for e in events]
            # Later reports in the same batch must see this one's effect.
            pending[job.job_id] = _after(job, events, self.clock.now())
        return self.append(pairs, executor_id, f"executor/{executor_id}")


# Events after which a run no longer holds its node's resources.
_FREES_CAPACITY = (
    ev.JobRunSucceeded,
    ev.JobRunFailed,
    ev.JobRunCancelled,
    ev.CancelledJob,
    ev.JobRunPreempted,
    ev.JobRunLeaseReturned,
    ev.JobRunLeaseExpired,
)


_NO_RUNS: Mapping[str, str] = MappingProxyType({})


def _active_runs_of(
    snap: JobDbSnapshot,
) -> tuple[dict[str, dict[str, str]], dict[str, tuple[str, str]]]:
    """The active runs of the job database, by executor and by job, from its per-node index."""
    by_executor: dict[str, dict[str, str]] = {}
    run_of: dict[str, tuple[str, str]] = {}
    for executor in snap.active_executors():
        runs: dict[str, str] = {}
        for job_id in snap.active_on_executor(executor):
            run = snap[job_id].active_run
            assert run is not None
            runs[run.run_id] = job_id
            run_of[job_id] = (executor, run.run_id)
        if runs:
            by_executor[executor] = runs
    return by_executor, run_of


def _paired(
    jobs: dict[str, JobRecord], events: Iterable[ev.Event]
) -> list[tuple[JobRecord, ev.Event]]:
    """Each event with the job it is about (events about unknown jobs are dropped)."""
    pairs = []
    for event in events:
        job = jobs.get(ev.event_job_id(event) or "")
        if job is not None:
            pairs.append((job, event))
    return pairs


def _after(job: JobRecord, events: Iterable[ev.Event], at: float) -> JobRecord:
    for event in events:
        try:
            job = apply_event(job, event, at)  # type: ignore[arg-type]
        except (StaleEvent, InvalidTransition):
            continue
    return job
