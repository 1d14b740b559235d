"""The scheduler's state, as plain data, and the one stimulus that changes its job database:
log entries read.

:class:`SchedulerState` holds everything the scheduler knows between two ticks: the job
database (always exactly the replay of the log), the active runs by executor, the executors
heard from, the work the log left for the duties (new jobs to check, preemption requests,
failed gang members) and what the scheduling rounds carry from one to the next. It does no I/O:
the shell (:class:`~armada.schedulerservice.service.SchedulerService`) reads the log and hands
the entries to :meth:`SchedulerState.apply_log`; the duties
(:mod:`armada.schedulerservice.duties`) read and update it and return the events to append.

It is not thread-safe, and does not need to be: one thread at a time owns it (see
:mod:`armada.schedulerservice.worker`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from armada.config.scheduler import SchedulerLoopSettings
from armada.config.scheduling import SchedulingSettings
from armada.domain import events as ev
from armada.domain.lifecycle import JobRecord
from armada.schedulerservice.active_runs import ActiveRuns
from armada.schedulerservice.executors import ExecutorRegistry
from armada.schedulerservice.rules import RetryRules
from armada.schedulerservice.submissions import SubmitCheckState
from armada.scheduling import JobDb, RateLimiterState, WriteTxn
from armada.scheduling.reports import ReportHistory

REMEMBERED_PREEMPTIONS = 100_000


@dataclass(frozen=True)
class SchedulerConfig:
    scheduling: SchedulingSettings
    loop: SchedulerLoopSettings

    def retry_rules(self) -> RetryRules:
        return RetryRules(
            max_retries=self.loop.max_retries,
            requeue_expired_leases=self.loop.requeue_expired_leases,
        )


class SchedulerState:
    """What the scheduler knows; changed by :meth:`apply_log` and by the duties only."""

    def __init__(self, config: SchedulerConfig) -> None:
        classes = config.scheduling.domain_priority_classes()
        self.jobdb = JobDb(classes, config.scheduling.default_priority_class_name)
        self.active_runs = ActiveRuns()
        self.executors = ExecutorRegistry()
        self.history = ReportHistory(config.scheduling.report_rounds_kept)
        self.offset = 0  # of the last log entry applied
        self.started_at: float | None = None  # when the first read of the log (a replay) ended
        # The rounds: their count, when the last began (monotonic), the rate limiters they
        # carry on, and whether a round is worth running before the period is over.
        self.cycle = 0
        self.last_round_at = float("-inf")
        self.rate_limits = RateLimiterState()
        self.jobs_arrived = False
        self.capacity_freed = False  # a run ended since the last round
        # Work the log left for the duties.
        self.submissions = SubmitCheckState()
        self.preemption_requests: dict[str, None] = {}
        self.failed_gang_members: list[JobRecord] = []
        # Runs preempted (as opposed to cancelled), newest last: a lease stream tells the
        # executor to preempt, not cancel, them.
        self.preempted_runs: OrderedDict[str, None] = OrderedDict()

    def apply_log(self, batches: Iterable[Sequence[ev.LogEntry]]) -> int:
        """Apply log entries, read in batches, to the job database, in one transaction (a
        replay of a long log then copies each container of the job database once); note what
        the duties must look at; return how many entries were applied. The first call is the
        replay: it builds the active runs afresh, once, after it; later calls update them for
        the jobs their events touch."""
        replay = self.started_at is None
        touched: set[str | None] = set()
        start = self.offset
        with ExitStack() as stack:
            txn: WriteTxn | None = None
            for entries in batches:
                if txn is None:  # no write at all when there is nothing to read
                    txn = stack.enter_context(self.jobdb.write())
                self._note(entries, txn.get)
                if not replay:
                    for entry in entries:
                        touched.update(map(ev.event_job_id, entry.sequence.events))
                txn.apply(entries)
                self.offset = entries[-1].offset
                del entries  # let this batch go before the next one is decoded
        if txn is None:
            return 0
        if replay:
            self.active_runs.rebuild(self.jobdb.read())
        elif touched:
            self.active_runs.track(self.jobdb.read(), touched)
        return self.offset - start

    def start(self, *, now: float, monotonic: float, grace: float) -> list[str]:
        """After the first read of the log: know again the executors that hold runs, as if
        heard from now, so that one that never returns times out; and reject no job for lack
        of capacity before ``now + grace``. Return the executors put back."""
        self.started_at = now
        self.submissions.rejections_from = now + grace
        return [
            e for e in self.jobdb.read().active_executors() if self.executors.restore(e, monotonic)
        ]

    def validate(self) -> None:
        """Check the job database, and that the active runs kept by executor are exactly
        those it holds; raise AssertionError if not."""
        self.jobdb.validate()
        self.active_runs.validate(self.jobdb.read())

    def _note(
        self, entries: Sequence[ev.LogEntry], before: Callable[[str], JobRecord | None]
    ) -> None:
        """Remember what the duties must look at; ``before`` reads the job database as it is
        before ``entries`` are applied."""
        unchecked = self.submissions.unchecked  # a million times on a restart: keep it lean
        for entry in entries:
            for event in entry.sequence.events:
                if isinstance(event, ev.SubmitJob):
                    unchecked[event.spec.job_id] = None
                    self.jobs_arrived = True
                elif isinstance(event, _FREES_CAPACITY):
                    self.capacity_freed = True
                    if isinstance(event, ev.JobRunPreempted):
                        self._remember_preemption(event.run_id)
                elif isinstance(event, ev.JobPreemptionRequested):
                    self.preemption_requests[event.job_id] = None
                elif isinstance(event, ev.JobFailed | ev.JobRejected):
                    job = before(event.job_id)
                    if job is not None and job.spec.gang is not None:
                        self.failed_gang_members.append(job)

    def _remember_preemption(self, run_id: str) -> None:
        self.preempted_runs[run_id] = None
        if len(self.preempted_runs) > REMEMBERED_PREEMPTIONS:
            self.preempted_runs.popitem(last=False)


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
