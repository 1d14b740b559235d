"""Submit 100,000 jobs through armada-client in batches of 1,000 into the embedded store.

Usage: python -m bench.submit_throughput [--jobs 100000] [--batch 1000] [--runs 3]

Each run starts a fresh `armada server` (the API server on the SQLite store; in production the
scheduler runs in its own process) and submits from this process, so client and server each
have a core. Variants in the same run: the durable default (synchronous=FULL: on disk before
acknowledged), synchronous=NORMAL, and `armada dev` (API server and scheduler sharing one
process and its GIL: the scheduler replays every submitted job into its job database), and
`armada server` on PostgreSQL (a fresh schema in the server at ARMADA_TEST_POSTGRES_DSN, as the
tests use), beside the ceiling of PostgreSQL itself in the same run: the same entries written
with raw COPY by one client, one transaction per batch. And the ceiling of the gRPC stack:
`noop` is a do-nothing Submit server (bench/noop_submit_server.py: grpc.aio, the same options,
parsing each request and answering with made-up ids) driven by the same client loop.

Beside jobs/s, each run records CPU time per job, which a loaded machine disturbs far less
than wall time: the server process's (all its threads: gRPC, submission, the log append and
the views, read from /proc) and, on PostgreSQL, its database backends' (the connections named
by a per-run ``application_name``), from just before the first batch to just after the last.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
import psycopg
from armada_client.client import ArmadaClient
from tests.postgres_support import fresh_schema

from bench.harness import armada_process, cpu_seconds, free_port, median, sleep_job_pod

VARIANTS = {
    "server/FULL": ("server", "FULL", ()),
    "server/NORMAL": ("server", "NORMAL", ()),
    "dev/FULL": ("dev", "FULL", ("--clusters", "0")),
    "server/postgres": ("server", "FULL", ()),
    "noop": ("noop", "", ()),
}


@dataclass(frozen=True)
class Run:
    rate: float  # jobs/s
    server_us: float  # the server process's CPU µs per job
    database_us: float  # its PostgreSQL backends' CPU µs per job (0 without PostgreSQL)


@contextmanager
def noop_server() -> Iterator[tuple[str, int]]:
    """The do-nothing Submit server in its own process (its own core, as `armada server`)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.noop_submit_server", str(port)])
    address = f"127.0.0.1:{port}"
    try:
        with grpc.insecure_channel(address) as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
        yield address, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def one_run(jobs: int, batch: int, variant: str) -> Run:
    if variant != "server/postgres":
        return submit_run(jobs, batch, variant, {}, lambda: 0.0)
    with fresh_schema() as url:
        name = f"armada-bench-{uuid.uuid4().hex[:8]}"
        run = submit_run(
            jobs,
            batch,
            variant,
            {"ARMADA_STORAGE__STORE": f"{url}&application_name={name}"},
            lambda: backends_cpu(url, name),
        )
        ceiling = copy_ceiling(url)
        print(f"  [postgres COPY ceiling] {jobs / ceiling:,.0f} jobs/s", flush=True)
        COPY_SECONDS.append(ceiling / jobs * 100_000)
    return run


def backends_cpu(url: str, application_name: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving ``application_name``."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchall()
    return sum(cpu_seconds(pid) for (pid,) in pids)


COPY_SECONDS: list[float] = []  # per 100,000 jobs


def copy_ceiling(url: str) -> float:
    """Seconds to write the log's entries again with raw COPY, a transaction per entry."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            'SELECT "offset", queue, job_set, created, payload FROM event_log ORDER BY "offset"'
        ).fetchall()
        conn.execute("CREATE TABLE copy_ceiling (LIKE event_log INCLUDING ALL)")
        started = time.perf_counter()
        for row in rows:
            with (
                conn.transaction(),
                conn.cursor().copy(
                    'COPY copy_ceiling ("offset", queue, job_set, created, payload) FROM STDIN'
                ) as copy,
            ):
                copy.write_row(row)
        return time.perf_counter() - started


def submit_run(
    jobs: int,
    batch: int,
    variant: str,
    store_env: dict[str, str],
    database_cpu: Callable[[], float],
) -> Run:
    component, synchronous, extra = VARIANTS[variant]
    env = {"ARMADA_STORAGE__SQLITE_SYNCHRONOUS": synchronous, **store_env}
    with (
        noop_server()
        if component == "noop"
        else armada_process(*extra, env=env, component=component) as (address, pid),
        grpc.insecure_channel(
            address, options=[("grpc.max_send_message_length", 64 * 2**20)]
        ) as channel,
    ):
        client = ArmadaClient(channel)
        client.create_queue(client.create_queue_request("bench", 1.0))
        pod = sleep_job_pod()
        batches = [
            [
                client.create_job_request_item(priority=0, pod_spec=pod, namespace="default")
                for _ in range(batch)
            ]
            for _ in range(jobs // batch)
        ]
        cpu_before = cpu_seconds(pid), database_cpu()
        started = time.perf_counter()
        for i, items in enumerate(batches, 1):
            response = client.submit_jobs("bench", f"set-{i % 10}", items)
            assert len(response.job_response_items) == batch
            if i % 20 == 0:
                elapsed = time.perf_counter() - started
                print(f"  [{variant}] {i * batch:,} jobs in {elapsed:.2f}s", flush=True)
        rate = jobs / (time.perf_counter() - started)
        server, database = cpu_seconds(pid), database_cpu()
    return Run(
        rate=rate,
        server_us=(server - cpu_before[0]) / jobs * 1e6,
        database_us=(database - cpu_before[1]) / jobs * 1e6,
    )


def shown(run: Run) -> str:
    database = f", database {run.database_us:.0f}" if run.database_us else ""
    return f"{run.rate:,.0f} jobs/s, CPU µs per job: server {run.server_us:.0f}{database}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS)
    )
    args = parser.parse_args()
    results: dict[str, list[Run]] = {v: [] for v in args.variants.split(",")}
    for number in range(args.runs):
        for variant, runs in results.items():
            run = one_run(args.jobs, args.batch, variant)
            runs.append(run)
            print(f"run {number + 1} {variant}: {shown(run)}", flush=True)
    for variant, runs in results.items():
        middle = Run(
            rate=median([r.rate for r in runs]),
            server_us=median([r.server_us for r in runs]),
            database_us=median([r.database_us for r in runs]),
        )
        print(f"submit_throughput[{variant}]: {shown(middle)} (medians)")
    if COPY_SECONDS:
        ceiling = 100_000 / median(COPY_SECONDS)
        print(f"submit_throughput[postgres COPY ceiling]: {ceiling:,.0f} jobs/s (median)")


if __name__ == "__main__":
    main()
