"""How long the scheduler goes without hearing its executor, under load (issue 14.2).

Usage: python -m bench.heartbeat_gap [--jobs 2000] [--hold-store SECONDS]

Starts `armada dev --backend process` in this process (``EmbeddedArmada``, one node offering
cpu=64, scheduling rate limits raised as in `bench.dev_load`), submits --jobs `true` jobs and
waits until all succeeded. Meanwhile it reads, every 10 ms, how long ago the scheduler last
heard the executor (its ``last_seen``, what lease expiry judges by) and reports the longest.
With --hold-store another connection holds the store's write lock for that long once the jobs
run (what a view rebuild, a backup or a second process on the store does).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import grpc
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.config.dev import DevSettings
from armada.dev.embedded import EmbeddedArmada
from bench.dev_load import TERMINAL_FAILURES
from bench.harness import sleep_job_pod

RATES = {
    "maximumSchedulingRate": 10000,
    "maximumSchedulingBurst": 10000,
    "maximumPerQueueSchedulingRate": 10000,
    "maximumPerQueueSchedulingBurst": 10000,
}


def submit(client: ArmadaClient, jobs: int) -> list[str]:
    container = sleep_job_pod().containers[0]
    del container.args[:]
    container.command[:] = ["true"]
    pod = core.PodSpec(restartPolicy="Never", containers=[container])
    ids: list[str] = []
    for start in range(0, jobs, 1000):
        items = [
            client.create_job_request_item(priority=0, pod_spec=pod, namespace="default")
            for _ in range(min(1000, jobs - start))
        ]
        ids += [r.job_id for r in client.submit_jobs("load", "set", items).job_response_items]
    return ids


def done(client: ArmadaClient, ids: list[str]) -> int:
    count = 0
    for i in range(0, len(ids), 500):
        states = client.get_job_status(ids[i : i + 500]).job_states
        assert not [j for j, s in states.items() if s in TERMINAL_FAILURES], "a job failed"
        count += sum(1 for s in states.values() if s == 3)
    return count


def measure(jobs: int, hold: float) -> tuple[float, float]:
    """(longest time unheard in seconds, jobs/s)."""
    with tempfile.TemporaryDirectory(prefix="armada-bench-") as data:
        settings = DevSettings.model_validate(
            {
                "grpc": {"host": "127.0.0.1", "port": 0},
                "storage": {"data_dir": data},
                "backend": "process",
                "node_resources": "cpu=64,memory=256Gi",
                "scheduling": RATES,
            }
        )
        with (
            EmbeddedArmada(settings) as armada,
            grpc.insecure_channel(armada.address) as channel,
        ):
            client = ArmadaClient(channel)
            client.create_queue(client.create_queue_request("load", 1.0))
            assert armada.system.scheduler is not None
            service = armada.system.scheduler.service
            longest = [0.0]
            stop = threading.Event()

            def watch() -> None:
                while not stop.is_set():
                    state = service.executors.get("cluster-1")
                    if state is not None:
                        longest[0] = max(longest[0], service.monotonic() - state.last_seen)
                    time.sleep(0.01)

            watcher = threading.Thread(target=watch, daemon=True)
            started = time.perf_counter()
            ids = submit(client, jobs)
            watcher.start()
            if hold > 0:
                hold_store(Path(settings.storage.database_path), hold)
            while (count := done(client, ids)) < len(ids):
                print(f"  {count:,} succeeded, longest unheard {longest[0]:.3f}s", flush=True)
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
            stop.set()
            watcher.join()
            return longest[0], jobs / elapsed


def hold_store(path: Path, seconds: float) -> None:
    blocker = sqlite3.connect(path, timeout=30)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)  # the lock held: what is being measured
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--hold-store", type=float, default=0.0)
    args = parser.parse_args()
    longest, rate = measure(args.jobs, args.hold_store)
    print(f"heartbeat_gap: {longest:.3f} s longest unheard ({rate:.0f} jobs/s)")


if __name__ == "__main__":
    main()
