"""Retention: finished jobs, and the log entries of their job sets, deleted once expired.

A job set expires when every job in it has finished and the last of them finished more than
``storage.expireAfter`` ago (Armada's ``expireAfter``). Its log entries are deleted first, a
batch per transaction, then its jobs' rows in the views and the keys of their client ids (so
the client ids may be used again); a crash in between is finished by the next pass, since the
views still show the job set as expired. Only entries the views have applied are deleted, and
only jobs that are still finished and expired, so a submission racing the pruning is kept.
Batches are small and a pass yields between them, so the live system is never stalled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from armada.eventlog.base import EventLogError
from armada.eventlog.keys import client_id_key
from armada.views.storage import Storage

log = logging.getLogger(__name__)

JOB_SETS_PER_PASS = 100
BATCH_PAUSE = 0.01  # seconds between batches, for other writers


def _pause() -> None:
    time.sleep(BATCH_PAUSE)


@dataclass(frozen=True)
class Pruned:
    job_sets: int = 0
    entries: int = 0
    jobs: int = 0


def prune_expired(
    storage: Storage, before: float, batch: int, pause: Callable[[], None] = lambda: None
) -> Pruned:
    """Delete the job sets whose jobs all finished before ``before``; ``pause`` is called
    between batches."""
    storage.catch_up()
    up_to = storage.store.checkpoint()
    job_sets = entries = jobs = 0
    for queue, job_set in storage.store.expired_job_sets(before, JOB_SETS_PER_PASS):
        job_sets += 1
        while (deleted := storage.log.prune(queue, job_set, up_to, batch)) > 0:
            entries += deleted
            pause()
        while forgotten := storage.store.forget_jobs(queue, job_set, before, batch):
            jobs += len(forgotten)
            keys = [client_id_key(queue, j.spec.client_id) for j in forgotten if j.spec.client_id]
            if keys:
                storage.log.drop_keys(keys)
            pause()
    return Pruned(job_sets=job_sets, entries=entries, jobs=jobs)


async def keep_pruning(
    storage: Storage,
    expire_after: float,
    interval: float,
    batch: int,
    now: Callable[[], float],
) -> None:
    """Prune every ``interval`` seconds (runs until cancelled)."""
    while True:
        await asyncio.sleep(interval)
        try:
            pruned = await asyncio.to_thread(
                prune_expired, storage, now() - expire_after, batch, _pause
            )
        except EventLogError as exc:
            log.warning("retention: %s; trying again later", exc)
            continue
        if pruned.job_sets:
            log.info(
                "retention: deleted %d job sets (%d log entries, %d jobs)",
                pruned.job_sets,
                pruned.entries,
                pruned.jobs,
            )
