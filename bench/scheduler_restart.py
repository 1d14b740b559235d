"""Restart the scheduler with 1,000,000 jobs in the log: time until its first scheduling cycle.

Usage: python -m bench.scheduler_restart [--jobs 1000000] [--queues 100] [--nodes 10000]
       [--views-behind] [--postgres]

Builds a SQLite store of --jobs queued jobs (in 1,000-job submissions across --queues queues),
appended as the API server appends them, so that the query store is in step with the log.
Then, in a fresh process, opens the store and starts a scheduler service on it: it replays the
log into its job database and runs one scheduling round over --nodes nodes. Reports when the
store was open, the replay done and the first round done, and the process's peak RSS.

--views-behind appends to the log alone, leaving the query store empty: the restarting process
then also brings the query store up to date (``open_storage`` does that for every process),
which is not the scheduler's work but weighs on its start-up; see bench/RESULTS.md.

--postgres keeps the store in PostgreSQL instead (a fresh schema in the server at
ARMADA_TEST_POSTGRES_DSN, dropped afterwards).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from tests.postgres_support import fresh_schema

from armada.config.scheduler import SchedulerLoopSettings
from armada.config.scheduling import SchedulingSettings
from armada.config.server import StorageSettings
from armada.domain import events as ev
from armada.domain.clock import RandomIds, SystemClock
from armada.domain.jobs import JobSpec, SchedulingRequirements
from armada.domain.queues import Queue
from armada.rpc.gen import executorapi_pb2 as pb
from armada.views.storage import open_storage
from bench.harness import sleep_job_pod


def build_log(
    settings: StorageSettings, jobs: int, queues: int, views_behind: bool = False
) -> None:
    storage = open_storage(settings)
    storage.append(
        [
            ev.EventSequence(
                queue="",
                job_set="",
                user="admin",
                created=time.time(),
                events=[ev.QueueCreated(queue=Queue(name=f"q{i}"))],
            )
            for i in range(queues)
        ]
    )
    pod = sleep_job_pod().SerializeToString()
    requirements = SchedulingRequirements(
        resources={"cpu": 1000, "memory": 4 * 2**30 * 1000, "ephemeral-storage": 8 * 2**30 * 1000},
        priority_class="armada-default",
    )
    ids = RandomIds()
    started = time.perf_counter()
    for batch in range(jobs // 1000):
        queue = f"q{batch % queues}"
        now = time.time()
        specs = [
            JobSpec(
                job_id=ids.job_id(),
                queue=queue,
                job_set=f"set-{batch % 10}",
                namespace="default",
                priority=0,
                requirements=requirements,
                pod_spec=pod,
                submitted=now,
            )
            for _ in range(1000)
        ]
        sequence = ev.EventSequence(
            queue=queue,
            job_set=f"set-{batch % 10}",
            user="bench",
            created=now,
            events=[ev.SubmitJob(spec=s) for s in specs],
        )
        if views_behind:
            storage.log.append([sequence])
        else:
            storage.append([sequence])  # the log, then the query store: as the API server does
        if (batch + 1) % 100 == 0:
            print(
                f"  log: {(batch + 1) * 1000:,} jobs ({time.perf_counter() - started:.0f}s)",
                flush=True,
            )
    storage.close()


def restart(settings: StorageSettings, nodes: int) -> None:
    """Runs in a fresh process: start the service, replay, first round."""
    from armada.schedulerservice.service import SchedulerConfig, SchedulerService

    started = time.perf_counter()
    storage = open_storage(settings)  # catches up the query store
    opened = time.perf_counter() - started
    config = SchedulerConfig(scheduling=SchedulingSettings(), loop=SchedulerLoopSettings())
    service = SchedulerService(storage, config, SystemClock(), RandomIds())
    service.ingest()
    replayed = time.perf_counter() - started
    for e in range(nodes // 500):
        request = pb.LeaseRequest(executor_id=f"cluster-{e}", pool="default")
        for i in range(500):
            request.nodes.add(
                name=f"n{e}-{i}",
                total_resources={"cpu": "32", "memory": "256Gi", "ephemeral-storage": "1Ti"},
            )
        service.executors.heartbeat(request, service.monotonic())
    service.schedule_round()
    first_round = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"store open at {opened:.1f}s, replay done at {replayed:.1f}s, "
        f"first round done at {first_round:.1f}s, {len(service.jobdb.read()):,} jobs, "
        f"peak RSS {rss:.2f} GiB",
        flush=True,
    )
    print(f"scheduler_restart_to_first_cycle: {first_round:.1f} s (target: <= 30 s)")
    print(f"scheduler_restart_rss: {rss:.2f} GiB (peak)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument(
        "--views-behind",
        action="store_true",
        help="leave the query store empty: the restart must also catch it up",
    )
    parser.add_argument("--postgres", action="store_true", help="the store in PostgreSQL")
    parser.add_argument("--restart-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.restart_only:
        restart(StorageSettings(data_dir=args.restart_only, store=args.store), args.nodes)
        return
    with tempfile.TemporaryDirectory(prefix="armada-restart-") as tmp, ExitStack() as stack:
        store = stack.enter_context(fresh_schema()) if args.postgres else ""
        settings = StorageSettings(data_dir=Path(tmp), sqlite_synchronous="NORMAL", store=store)
        build_log(settings, args.jobs, args.queues, args.views_behind)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.scheduler_restart",
                "--restart-only",
                tmp,
                "--store",
                store,
                "--nodes",
                str(args.nodes),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
