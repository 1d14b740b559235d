"""The scheduler service: the thin I/O shell around the scheduler's state and duties.

The state (:mod:`armada.schedulerservice.state`) is plain data; the duties
(:mod:`armada.schedulerservice.duties`, :mod:`armada.schedulerservice.submissions`) are
functions of the state and one stimulus that return what to do. This shell does the rest: it
reads the log into the state, gathers what a duty needs from outside (the clocks, the queues),
and carries out the instructions a duty returns: events are appended to the log first and only
then applied to the job database, by reading the log back, so that the state is always exactly
the replay of the log, which is what makes a restarted scheduler decide the same.

On every tick it carries out the duties that need no executor: lease expiry for silent
executors, the submit check of new jobs, users' preemption requests, failing whole fail-fast
gangs, and (every ``schedulePeriod``) a scheduling round. Executors' reports come in through
:meth:`SchedulerService.handle_reports`.

What executors report is not in the log. The first :meth:`~SchedulerService.ingest` is the
start: executors holding runs are put back in the registry (so that their leases expire if they
never return), and if the log was not empty the submit check rejects nothing for
``executorTimeout``, the time the executors known before the start have to report their nodes.

One thread at a time owns the state (:mod:`armada.schedulerservice.worker`); every entry point
but :meth:`~SchedulerService.validate` asserts that it is called from that thread.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from armada.domain import events as ev
from armada.domain.clock import Clock, IdSource
from armada.schedulerservice import duties
from armada.schedulerservice.duties import Append, ForgetExecutor, Instruction, WakeLeaseStreams
from armada.schedulerservice.executors import ExecutorRegistry
from armada.schedulerservice.state import SchedulerConfig, SchedulerState
from armada.schedulerservice.submissions import check_submissions, pending_reason
from armada.schedulerservice.worker import OwnerThread
from armada.scheduling import JobDb, JobDbSnapshot, Node, SchedulingResult, gc_paused
from armada.scheduling.reports import ReportHistory
from armada.views.storage import Storage

__all__ = ["INGEST_BATCH", "EntryListener", "RoundOutcome", "SchedulerConfig", "SchedulerService"]

log = logging.getLogger(__name__)

# Log entries read (and decoded) at a time. An entry may carry thousands of events (a
# submission of 1,000 jobs, a round's leases): a small batch keeps a replay's transient
# memory small, and costs nothing else, since a replay applies all batches in one transaction.
INGEST_BATCH = 20
FREEZE_AFTER_ENTRIES = 1000

# Told of log entries read after the start, with the job database as it was before them.
EntryListener = Callable[[Sequence[ev.LogEntry], JobDbSnapshot], None]


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    """A scheduling round as its listeners see it: what it decided, the nodes it had, the
    job database it started from, and how long it took with its appends (seconds)."""

    result: SchedulingResult
    nodes: list[Node]
    jobs: JobDbSnapshot
    seconds: float


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
        self.rules = config.retry_rules()
        self.state = SchedulerState(config)
        self.owner = OwnerThread()
        # Held while the log is read: validate() may be called from any thread.
        self._ingest_lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._round_listeners: list[Callable[[RoundOutcome], None]] = []
        self._entry_listeners: list[EntryListener] = []

    # --- views of the state ----------------------------------------------------------------

    @property
    def jobdb(self) -> JobDb:
        return self.state.jobdb

    @property
    def executors(self) -> ExecutorRegistry:
        return self.state.executors

    @property
    def history(self) -> ReportHistory:
        return self.state.history

    @property
    def preempted_runs(self) -> OrderedDict[str, None]:
        return self.state.preempted_runs

    def runs_on_executor(self, executor_id: str) -> Mapping[str, str]:
        """The active runs on an executor, whichever node (reported or not) they are on:
        run id -> job id. Read-only; it changes with the next read of the log."""
        return self.state.active_runs.on(executor_id)

    def live_nodes(self) -> list[Node]:
        """Nodes to schedule onto: those of executors heard from within executorStaleAfter."""
        stale = self.config.loop.executor_stale_after.total_seconds()
        return self.state.executors.live_nodes(self.monotonic(), stale)

    def known_nodes(self) -> list[Node]:
        """Nodes to check submissions against: the last known nodes of every executor not
        timed out. A stale executor gets no new jobs, but it may come back."""
        timeout = self.config.loop.executor_timeout.total_seconds()
        return self.state.executors.live_nodes(self.monotonic(), timeout)

    def submit_check_pending(self, job_id: str) -> str | None:
        """Why the submit check has not judged a job yet, in words; None if it has."""
        self.owner.check()
        return pending_reason(self.state.submissions, job_id, self.clock.now(), self.known_nodes)

    def validate(self) -> None:
        """Check the job database, and that the active runs kept by executor are exactly
        those it holds; raise AssertionError if not. Safe from any thread."""
        with self._ingest_lock:
            self.state.validate()

    def on_new_leases(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from the worker thread) after a round leased something."""
        self._listeners.append(listener)

    def on_round(self, listener: Callable[[RoundOutcome], None]) -> None:
        """Call ``listener`` (from the worker thread) after every scheduling round."""
        self._round_listeners.append(listener)

    def on_log_entries(self, listener: EntryListener) -> None:
        """Call ``listener`` (from the worker thread) with the log entries read after the
        start, and the job database as it was before them (the replay at the start is not
        shown: it is history, not news)."""
        self._entry_listeners.append(listener)

    # --- the log ---------------------------------------------------------------------------

    def ingest(self) -> int:
        """Apply every log entry after the last one read to the state; return the new offset.
        The first call is the start (see :meth:`SchedulerState.start`)."""
        self.owner.check()
        with self._ingest_lock, gc_paused():
            state = self.state
            batches = self._log_batches(state.offset)
            if state.started_at is not None and self._entry_listeners:
                batches = self._shown(batches, state.jobdb.read())
            read = state.apply_log(batches)
            if read >= FREEZE_AFTER_ENTRIES:
                # A big replay (a restart): what was just loaded lives long. Moving it out of
                # the collector's generations keeps later collections from walking it again
                # and again; doing so before the collector is resumed spares it one full walk.
                gc.freeze()
            if state.started_at is None:
                grace = self.config.loop.executor_timeout.total_seconds() if read else 0.0
                restored = state.start(
                    now=self.clock.now(), monotonic=self.monotonic(), grace=grace
                )
                if restored:
                    log.info(
                        "start: %d executors hold runs: %s", len(restored), ", ".join(restored)
                    )
            return state.offset

    def _log_batches(self, offset: int) -> Iterator[Sequence[ev.LogEntry]]:
        """The log after ``offset``, ``INGEST_BATCH`` entries at a time."""
        while entries := self.storage.log.read(offset, INGEST_BATCH):
            offset = entries[-1].offset
            yield entries
            del entries  # let this batch go before the next one is decoded

    def _shown(
        self, batches: Iterator[Sequence[ev.LogEntry]], before: JobDbSnapshot
    ) -> Iterator[Sequence[ev.LogEntry]]:
        for entries in batches:
            for listener in self._entry_listeners:
                listener(entries, before)
            yield entries

    def _carry_out(self, instructions: Iterable[Instruction]) -> int:
        """Do what a duty decided, in order; return how many events were appended."""
        appended = 0
        for instruction in instructions:
            match instruction:
                case Append():
                    appended += self._append(instruction)
                case ForgetExecutor(executor_id=executor_id, why=why):
                    log.warning("executor %s %s", executor_id, why)
                    self.state.executors.forget(executor_id)
                case WakeLeaseStreams():
                    for listener in self._listeners:
                        listener()
        return appended

    def _append(self, append: Append) -> int:
        """Append events (grouped per job set, order kept), then read them back."""
        grouped: dict[tuple[str, str], list[ev.Event]] = defaultdict(list)
        for job, event in append.events:
            grouped[(job.spec.queue, job.spec.job_set)].append(event)
        if not grouped:
            return 0
        now = self.clock.now()
        self.storage.append(
            [
                ev.EventSequence(
                    queue=q,
                    job_set=s,
                    user=append.who,
                    created=now,
                    events=events,
                    cause=append.cause,
                )
                for (q, s), events in grouped.items()
            ]
        )
        self.ingest()
        return sum(len(events) for events in grouped.values())

    # --- the stimuli -----------------------------------------------------------------------

    def tick(self) -> SchedulingResult | None:
        """One pass of every duty; a scheduling round when one is due."""
        self.owner.check()
        self.ingest()
        state, loop = self.state, self.config.loop
        timeout = loop.executor_timeout.total_seconds()
        self._carry_out(
            duties.expire_silent_executors(state, self.monotonic(), timeout, self.rules)
        )
        pairs = check_submissions(
            state.submissions,
            state.jobdb.read(),
            self.known_nodes(),
            self.config.scheduling,
            self.clock.now(),
        )
        self._carry_out([Append(pairs, "scheduler", "scheduler/submit-check")])
        self._carry_out(duties.carry_out_requests(state))
        period = loop.schedule_period.total_seconds()
        early = loop.schedule_new_jobs_after.total_seconds()
        if duties.round_due(state, self.monotonic(), period, early):
            state.last_round_at = self.monotonic()
            state.jobs_arrived = state.capacity_freed = False
            return self.schedule_round()
        return None

    def schedule_round(self) -> SchedulingResult:
        """A scheduling round, now: its leases and preemptions are appended to the log."""
        self.owner.check()
        settings = self.storage.store.list_executor_settings()
        inputs = duties.RoundInputs(
            nodes=self.live_nodes(),
            queues=self.storage.store.list_queues(),
            cordoned_executors=frozenset(s.executor for s in settings if s.cordoned),
            now=self.clock.now(),
            monotonic=self.monotonic,
            ids=self.ids,
        )
        began, before = self.monotonic(), self.state.jobdb.read()
        result, instructions = duties.schedule_round(self.state, inputs, self.config.scheduling)
        self._carry_out(instructions)
        outcome = RoundOutcome(result, inputs.nodes, before, self.monotonic() - began)
        for listener in self._round_listeners:
            listener(outcome)
        return result

    def handle_reports(self, executor_id: str, reports: Sequence[ev.RunEvent]) -> int:
        """Turn an executor's run reports into events; return how many were appended."""
        self.owner.check()
        instructions = duties.handle_reports(
            self.state,
            executor_id,
            reports,
            rules=self.rules,
            now=self.clock.now(),
            stored_job=self.storage.store.get_job,
        )
        return self._carry_out(instructions)
