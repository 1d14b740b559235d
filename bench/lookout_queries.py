"""The Lookout API's queries over 1,000,000 jobs: the first page, groups, one job's data.

Usage: python -m bench.lookout_queries [--jobs 1000000] [--queues 100] [--postgres]
       [--repeat 15]

Builds the views directly, in bulk (the rows the updater writes, in 10,000-row batches):
--jobs jobs over --queues queues, 100 jobs to a job set, in a mix of states (60 % succeeded,
15 % queued, 10 % failed, 5 % each running, pending and cancelled), each with one annotation.
Then times, through the Lookout API's own reader (what the HTTP routes call, without HTTP):

* first page: queue = qN and state = QUEUED (and anyOf QUEUED/RUNNING), ordered by submitted
  descending, 100 jobs (target <= 100 ms);
* groups: all jobs grouped by job set with state counts, ordered by count, first 100 groups
  (target <= 500 ms), and the same within one queue;
* a job's data: the job by id (POST /api/v1/jobs, jobId exact) and its spec (target <= 50 ms).

Each is run --repeat times (median and worst reported). The ceiling beside each is the bare
SQL of the first page (no decoding, no shaping), measured in the same run.

--postgres keeps the views in PostgreSQL instead (a fresh schema in the server at
ARMADA_TEST_POSTGRES_DSN, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.postgres_support import fresh_schema

from armada.domain.jobs import JobSpec, SchedulingRequirements
from armada.domain.lifecycle import JobRecord, RunRecord
from armada.domain.states import JobState, RunState
from armada.lookout.api import LookoutReader
from armada.lookout.api.requests import GetJobsRequest, GroupJobsRequest, decode
from armada.views.store import JOB_COLUMNS, QueryStore, job_row

START = 1_790_000_000.0
STATES = (
    [JobState.SUCCEEDED] * 12
    + [JobState.QUEUED] * 3
    + [JobState.FAILED] * 2
    + [JobState.RUNNING, JobState.PENDING, JobState.CANCELLED]
)
_RUN_STATE = {
    JobState.SUCCEEDED: RunState.SUCCEEDED,
    JobState.FAILED: RunState.FAILED,
    JobState.RUNNING: RunState.RUNNING,
    JobState.PENDING: RunState.PENDING,
}


def job(i: int, queues: int) -> JobRecord:
    state = STATES[(i // queues) % len(STATES)]
    submitted = START + i * 0.01
    spec = JobSpec(
        job_id=f"job{i:010d}",
        queue=f"q{i % queues}",
        job_set=f"set{(i // queues) // 100}",
        namespace="default",
        priority=1,
        requirements=SchedulingRequirements(
            resources={"cpu": 1000, "memory": 4 * 2**30 * 1000}, priority_class="armada-default"
        ),
        pod_spec=b"\x12\x04main" * 8,
        submitted=submitted,
        owner=f"user{i % 37}",
        annotations={"team": f"team{i % 10}"},
    )
    runs: tuple[RunRecord, ...] = ()
    run_state = _RUN_STATE.get(state)
    if run_state is not None:
        runs = (
            RunRecord(
                run_id=f"run{i:010d}",
                job_id=spec.job_id,
                executor=f"cluster{i % 4}",
                node=f"node{i % 1000}",
                pool="default",
                state=run_state,
                leased_at=submitted + 1,
            ),
        )
    return JobRecord(
        spec=spec,
        state=state,
        priority=1,
        submitted_at=submitted,
        last_transition=submitted + 2,
        runs=runs,
    )


def build(store: QueryStore, jobs: int, queues: int, url: str | None) -> None:
    insert = (
        f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) VALUES ({', '.join('?' * len(JOB_COLUMNS))})"
    )
    batch = 10_000
    started = time.perf_counter()
    for start in range(0, jobs, batch):
        records = [job(i, queues) for i in range(start, min(jobs, start + batch))]
        with store.write() as conn:
            conn.executemany(insert, [job_row(r) for r in records])
            conn.executemany(
                "INSERT INTO job_annotations (job_id, key, value) VALUES (?, ?, ?)",
                [(r.job_id, k, v) for r in records for k, v in r.spec.annotations.items()],
            )
            conn.executemany(
                "INSERT INTO runs (run_id, job_id) VALUES (?, ?)",
                [(run.run_id, r.job_id) for r in records for run in r.runs],
            )
        done = start + len(records)
        if done % 100_000 == 0:
            print(f"  built {done:,} jobs in {time.perf_counter() - started:.0f} s", flush=True)
    with store.write() as conn:
        conn.execute(
            "INSERT INTO job_set_counts (queue, job_set, state, n)"
            " SELECT queue, job_set, state, COUNT(*) FROM jobs GROUP BY queue, job_set, state"
        )
    if url is None:
        with store.write() as conn:
            conn.execute("ANALYZE")
    else:  # what autovacuum does after a bulk load: statistics and the visibility map
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE")


def timed(what: Callable[[], Any], repeat: int) -> tuple[float, float]:
    what()  # warm: the first run reads the pages from disk
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        what()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def run(store: QueryStore, jobs: int, queues: int, repeat: int, label: str) -> None:
    reader = LookoutReader(store, time.time)

    def jobs_request(body: dict[str, Any]) -> Callable[[], Any]:
        request = decode(json.dumps(body).encode(), GetJobsRequest)
        return lambda: reader.jobs(request)

    def groups_request(body: dict[str, Any]) -> Callable[[], Any]:
        request = decode(json.dumps(body).encode(), GroupJobsRequest)
        return lambda: reader.groups(request)

    queue = f"q{queues // 2}"
    in_queue = {"field": "queue", "match": "exact", "value": queue}
    by_count = {"field": "count", "direction": "DESC"}
    newest = {"field": "submitted", "direction": "DESC"}
    queued = {"field": "state", "match": "exact", "value": "QUEUED"}
    queued_or_running = {"field": "state", "match": "anyOf", "value": ["QUEUED", "RUNNING"]}
    page = jobs_request({"filters": [in_queue, queued], "order": newest, "take": 100})
    page_any = jobs_request(
        {"filters": [in_queue, queued_or_running], "order": newest, "take": 100}
    )
    by_job_set = {"field": "jobSet"}
    groups = groups_request(
        {"order": by_count, "groupedField": by_job_set, "aggregates": ["state"], "take": 100}
    )
    groups_queue = groups_request(
        {
            "filters": [in_queue],
            "order": by_count,
            "groupedField": by_job_set,
            "aggregates": ["state", "submitted"],
            "take": 100,
        }
    )
    job_id = f"job{jobs // 2 + 1:010d}"
    one = jobs_request({"filters": [{"field": "jobId", "match": "exact", "value": job_id}]})

    def job_page() -> None:
        assert len(one()["jobs"]) == 1
        reader.job(job_id)  # as /api/v1/jobSpec reads it

    def bare() -> None:
        with store.read() as conn:
            conn.execute(
                "SELECT record FROM jobs WHERE queue = ? AND state = ? ORDER BY submitted DESC"
                " LIMIT 100",
                (queue, "QUEUED"),
            ).fetchall()

    def every_row() -> None:
        with store.read() as conn:
            conn.execute(
                "SELECT job_set, state, COUNT(*) FROM jobs GROUP BY job_set, state"
            ).fetchall()

    rows = timed(every_row, max(3, repeat // 3))
    print(
        f"{label}: bare SQL grouping every job's row by job set and state (what the counts"
        f" spare): median {rows[0]:.1f} ms, worst {rows[1]:.1f}"
    )
    ceiling = timed(bare, repeat)
    print(
        f"{label}: bare SQL of the first page: median {ceiling[0]:.1f} ms, worst {ceiling[1]:.1f}"
    )
    medians = []
    for name, what, target in (
        ("first page, queue + state exact, by submitted", page, 100),
        ("first page, queue + state anyOf, by submitted", page_any, 100),
        ("groups by job set, state counts, all jobs", groups, 500),
        ("groups by job set, state counts + submitted, one queue", groups_queue, 500),
        ("a job's data (job by id + spec)", job_page, 50),
    ):
        median, worst = timed(what, repeat)
        medians.append(median)
        print(
            f"{label}: {name}: median {median:.1f} ms, worst {worst:.1f} (target: <= {target} ms)"
        )
    page_ms, _, groups_ms, _, job_ms = medians
    print(
        f"lookout_queries ({label}): first page {page_ms:.1f} ms, groups {groups_ms:.1f} ms,"
        f" job {job_ms:.1f} ms (target: <= 100, <= 500, <= 50 ms)"
    )


@contextmanager
def open_store(postgres: bool, stack: ExitStack) -> Iterator[tuple[QueryStore, str | None]]:
    url: str | None = None
    if not postgres:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        store = QueryStore(Path(folder) / "views.db")
    else:
        from armada.eventlog.postgres import PostgresEventLog
        from armada.views.postgres import PostgresViews

        url = stack.enter_context(fresh_schema())
        log = PostgresEventLog(url, 4, 30.0)
        stack.callback(log.close)
        store = QueryStore(backend=PostgresViews(log.pool, url))
    try:
        yield store, url
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    label = "postgresql" if args.postgres else "sqlite"
    print(f"{label}: building the views: {args.jobs:,} jobs, load {os.getloadavg()[0]:.1f}")
    with ExitStack() as stack, open_store(args.postgres, stack) as (store, url):
        build(store, args.jobs, args.queues, url)
        print(f"{label}: load average {os.getloadavg()[0]:.1f} before timing")
        run(store, args.jobs, args.queues, args.repeat, label)


if __name__ == "__main__":
    main()
