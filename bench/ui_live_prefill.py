"""Fill the store with finished jobs before bench.lookout_ui_live's load, through the API.

A farm's store holds mostly finished jobs. They are put there the way a farm accumulates them:
submitted through armada-client in batches of 1,000 into cordoned queues (a cordoned queue
accepts jobs and never schedules them, docs/api.md), then cancelled by job set (CancelJobSet),
so the log, the scheduler and the views agree, and the scheduler forgets them once cancelled.
CancelJobSet cancels the jobs the views hold, so a sweep misses jobs the views have not taken
in yet: the job sets are swept again until the Lookout API counts every job cancelled.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from armada_client.armada import submit_pb2
from armada_client.client import ArmadaClient
from armada_client.typings import JobState

PREFIX = "farm-"
BATCH = 1_000
SWEEP_EVERY = 50  # batches between cancel sweeps while submitting


def state_counts(http_url: str) -> dict[str, int]:
    """Jobs of the prefill queues by state, as the Lookout API counts them."""
    body = {
        "groupedField": {"field": "state"},
        "filters": [{"field": "queue", "match": "startsWith", "value": PREFIX}],
        "order": {"field": "count", "direction": "DESC"},
        "aggregates": [],
        "skip": 0,
        "take": 20,
    }
    request = urllib.request.Request(
        f"{http_url}/api/v1/jobGroups",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as answer:
        groups = json.loads(answer.read())["groups"]
    return {g["name"]: int(g["count"]) for g in groups}


class Prefill:
    """``jobs`` finished jobs over ``queues`` cordoned queues and ``job_sets`` job sets."""

    def __init__(
        self,
        client: ArmadaClient,
        http_url: str,
        make_items: Callable[[int], list[submit_pb2.JobSubmitRequestItem]],
        jobs: int,
        queues: int = 5,
        job_sets: int = 1_000,
    ) -> None:
        self.client = client
        self.http_url = http_url
        self.make_items = make_items
        self.jobs = jobs
        self.queues = [f"{PREFIX}{i}" for i in range(queues)]
        self.job_sets = job_sets
        self.touched: set[tuple[str, str]] = set()

    def _where(self, batch: int) -> tuple[str, str]:
        return self.queues[batch % len(self.queues)], f"{PREFIX}set-{batch % self.job_sets}"

    def _sweep(self, pool: ThreadPoolExecutor, where: list[tuple[str, str]]) -> None:
        def cancel(queue: str, job_set: str) -> None:
            self.client.cancel_jobset(queue, job_set, [JobState.QUEUED])

        for future in [pool.submit(cancel, q, s) for q, s in where]:
            future.result()

    def run(self) -> float:
        """Fills the store; returns the seconds it took (until the API counts all cancelled)."""
        started = time.perf_counter()
        for queue in self.queues:
            queue_spec = submit_pb2.Queue(name=queue, priority_factor=1.0, cordoned=True)
            self.client.create_queue(queue_spec)
        batches = -(-self.jobs // BATCH)
        items = self.make_items(BATCH)
        with ThreadPoolExecutor(4) as pool:
            recent: list[tuple[str, str]] = []
            futures = []
            for batch in range(batches):
                queue, job_set = self._where(batch)
                count = min(BATCH, self.jobs - batch * BATCH)
                futures.append(pool.submit(self.client.submit_jobs, queue, job_set, items[:count]))
                self.touched.add((queue, job_set))
                recent.append((queue, job_set))
                if len(futures) >= 8:
                    futures.pop(0).result()
                if batch % SWEEP_EVERY == SWEEP_EVERY - 1:
                    for future in futures:
                        future.result()
                    futures = []
                    self._sweep(pool, recent)
                    recent = []
                    print(
                        f"  prefill: {(batch + 1) * BATCH:,} submitted in "
                        f"{time.perf_counter() - started:.0f} s",
                        flush=True,
                    )
            for future in futures:
                future.result()
            submitted = time.perf_counter() - started
            print(f"  prefill: all {self.jobs:,} submitted in {submitted:.0f} s", flush=True)
            while True:
                self._sweep(pool, sorted(self.touched))
                counts = state_counts(self.http_url)
                print(
                    f"  prefill: after {time.perf_counter() - started:.0f} s the API counts "
                    f"{counts}",
                    flush=True,
                )
                if counts.get("CANCELLED", 0) >= self.jobs:
                    return time.perf_counter() - started
                time.sleep(2)  # the views take in the submissions and the cancellations
