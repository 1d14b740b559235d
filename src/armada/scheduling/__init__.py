"""The scheduling core: pure functions from a snapshot of the world to decisions.

No I/O, no wall clock, no ids: see docs/scheduling.md. The public surface is re-exported here.
"""

from armada.scheduling.gcpause import gc_paused
from armada.scheduling.jobdb import ApplyNote, ApplyReport, JobDb, JobDbSnapshot, WriteTxn
from armada.scheduling.keys import SchedulingKey
from armada.scheduling.nodes import Node
from armada.scheduling.ratelimit import Bucket, RateLimiterState
from armada.scheduling.reports import ReportHistory, job_report, queue_report, scheduling_report
from armada.scheduling.resources import ResourceSpace
from armada.scheduling.round_data import (
    KeyReason,
    Lease,
    PoolReport,
    Preemption,
    QueueRound,
    SchedulingResult,
    SchedulingSnapshot,
)
from armada.scheduling.scheduler import schedule
from armada.scheduling.submitcheck import SubmitChecker, SubmitCheckResult

__all__ = [
    "ApplyNote",
    "ApplyReport",
    "Bucket",
    "JobDb",
    "JobDbSnapshot",
    "KeyReason",
    "Lease",
    "Node",
    "PoolReport",
    "Preemption",
    "QueueRound",
    "RateLimiterState",
    "ReportHistory",
    "ResourceSpace",
    "SchedulingKey",
    "SchedulingResult",
    "SchedulingSnapshot",
    "SubmitCheckResult",
    "SubmitChecker",
    "WriteTxn",
    "gc_paused",
    "job_report",
    "queue_report",
    "schedule",
    "scheduling_report",
]
