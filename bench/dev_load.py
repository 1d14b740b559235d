"""10,000 short jobs through `armada dev` with 2 simulated clusters of 500 nodes each.

Usage: python -m bench.dev_load [--jobs 10000] [--runtime 1s] [--runs 1] [--rate 0]
                                [--separate-executors]

Starts `armada dev --clusters 2 --nodes-per-cluster 500` in its own process (scheduling rate
limits raised to 10,000 jobs/s, since Armada's defaults of 100/s would make the queueing delay,
not the system, the measure), submits --jobs jobs sleeping --runtime through armada-client, and
waits until every one has succeeded. Reports the time from the first submission to the last
success, and each job's submit -> running latency (from the event stream's timestamps:
Submitted.created to Running.created), p50 and p95, with the median time to each stage.
By default all jobs are submitted at once (1,000-job batches): latency in a burst. With
--rate the jobs are submitted at that pace: latency in a steady state.

With --separate-executors the two clusters' executors run as processes of their own
(`armada dev --clusters 0` plus two `armada executor --backend fake`, with armada dev's
executor settings), as in a real deployment, instead of inside armada dev's one process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import grpc
from armada_client.armada import event_pb2
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from bench.harness import armada_dev, median, sleep_job_pod

CONFIG = """
scheduling:
  maximumSchedulingRate: 10000
  maximumSchedulingBurst: 10000
  maximumPerQueueSchedulingRate: 10000
  maximumPerQueueSchedulingBurst: 10000
"""
EXECUTOR = """
clusterId: {cluster}
schedulerAddress: {address}
heartbeatInterval: 1s
maxLeasedJobs: 1000
submitConcurrency: 64
deleteConcurrency: 64
binoculars: {{port: 0}}
fake:
  nodeGroups:
    - name: {cluster}-node
      count: 500
      resources: {{cpu: "32", memory: 256Gi, ephemeral-storage: 1Ti}}
"""
TERMINAL_FAILURES = (4, 8, 9, 10)  # FAILED, PREEMPTED, CANCELLED, REJECTED


def seconds(ts: Any) -> float:
    return float(ts.seconds + ts.nanos / 1e9)


def submit(client: ArmadaClient, jobs: int, runtime: str, rate: float) -> list[str]:
    pod = sleep_job_pod()
    pod.containers[0].args[:] = ["sleep", runtime]
    batch = 1000 if rate <= 0 else max(1, int(rate // 10))
    started = time.perf_counter()
    ids: list[str] = []
    for start in range(0, jobs, batch):
        if rate > 0:  # paced: the batch starting at job i goes at i / rate seconds
            time.sleep(max(0.0, started + start / rate - time.perf_counter()))
        items = [
            client.create_job_request_item(
                priority=0,
                pod_spec=core.PodSpec(restartPolicy="Never", containers=pod.containers),
                namespace="default",
            )
            for _ in range(min(batch, jobs - start))
        ]
        response = client.submit_jobs("load", "set", items)
        ids.extend(r.job_id for r in response.job_response_items)
    print(f"  submitted {len(ids):,} jobs in {time.perf_counter() - started:.1f}s", flush=True)
    return ids


def wait_for_success(client: ArmadaClient, ids: list[str], started: float) -> None:
    done = 0
    while done < len(ids):
        time.sleep(1)
        done = 0
        for i in range(0, len(ids), 500):
            states = client.get_job_status(ids[i : i + 500]).job_states
            done += sum(1 for s in states.values() if s == 3)
            failed = [j for j, s in states.items() if s in TERMINAL_FAILURES]
            assert not failed, f"jobs did not succeed: {failed[:5]}"
        print(f"  {done:,} succeeded after {time.perf_counter() - started:.1f}s", flush=True)


def latencies(client: ArmadaClient) -> list[float]:
    submitted: dict[str, float] = {}
    running: list[float] = []
    stages: dict[str, list[float]] = {"leased": [], "pending": [], "running": []}
    for message in client.event_stub.GetJobSetEvents(
        event_pb2.JobSetRequest(queue="load", id="set")
    ):
        kind = message.message.WhichOneof("events")
        body = getattr(message.message, kind)
        at = seconds(body.created)
        if kind == "submitted":
            submitted[body.job_id] = at
        if kind in stages:
            stages[kind].append(at - submitted[body.job_id])
        if kind == "running":
            running.append(at - submitted[body.job_id])
    print(
        "  median since submission: "
        + ", ".join(f"{k} {statistics.median(v):.2f}s" for k, v in stages.items() if v),
        flush=True,
    )
    return sorted(running)


@contextmanager
def executors(address: str, folder: Path) -> Iterator[None]:
    """Two `armada executor` processes on simulated clusters of 500 nodes, reporting to
    ``address``; waits until the scheduler has heard from both."""
    procs = []
    for cluster in ("cluster-1", "cluster-2"):
        config = folder / f"{cluster}.yaml"
        config.write_text(EXECUTOR.format(cluster=cluster, address=address))
        command = [sys.executable, "-m", "armada.cli.armada_main", "executor", "--config"]
        procs.append(
            subprocess.Popen([*command, str(config)], stdout=subprocess.DEVNULL, stderr=None)
        )
    try:
        time.sleep(3)  # the executors connect and send their nodes (heartbeat 1 s)
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


def run(
    jobs: int, runtime: str, config: Path, rate: float, separate: bool
) -> tuple[float, float, float]:
    clusters = "0" if separate else "2"
    with (
        armada_dev(
            "--clusters", clusters, "--nodes-per-cluster", "500", "--config", str(config)
        ) as address,
        grpc.insecure_channel(address) as channel,
        executors(address, config.parent) if separate else nullcontext(),
    ):
        client = ArmadaClient(channel)
        client.create_queue(client.create_queue_request("load", 1.0))
        started = time.perf_counter()
        ids = submit(client, jobs, runtime, rate)
        wait_for_success(client, ids, started)
        total = time.perf_counter() - started
        ordered = latencies(client)
        return total, statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runtime", default="1s")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="submit at this many jobs/s (0: all at once)"
    )
    parser.add_argument(
        "--separate-executors",
        action="store_true",
        help="run each cluster's executor as its own process",
    )
    args = parser.parse_args()
    totals, p50s, p95s = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "load.yaml"
        config.write_text(CONFIG)
        for i in range(args.runs):
            total, p50, p95 = run(
                args.jobs, args.runtime, config, args.rate, args.separate_executors
            )
            totals.append(total)
            p50s.append(p50)
            p95s.append(p95)
            print(
                f"run {i + 1}: all {args.jobs:,} succeeded in {total:.1f}s; submit->running "
                f"p50 {p50:.2f}s p95 {p95:.2f}s",
                flush=True,
            )
    mode = f"paced at {args.rate:,.0f} jobs/s" if args.rate > 0 else "all at once"
    if args.separate_executors:
        mode += ", executors in their own processes"
    print(f"dev_load_total: {median(totals):.1f} s for {args.jobs:,} jobs submitted {mode}")
    print(f"dev_load_submit_to_running_p95: {median(p95s):.2f} s")
    print(f"dev_load_submit_to_running_p50: {median(p50s):.2f} s (target: <= 1 s)")


if __name__ == "__main__":
    main()
