"""`armada server` killed (SIGKILL) and restarted on a store of 20,000 jobs: time to listen.

Usage: python -m bench.server_restart [--jobs 20000] [--runs 3] [--compare DIR]

Builds the store with a real `armada dev` (2 simulated clusters of 500 nodes): --jobs jobs
sleeping 1 s, submitted in 1,000-job batches across 4 job sets, run to success, then the
process is killed with SIGKILL (its WAL is left behind, as after a crash). Then, --runs times
each, on a fresh copy of that store:

* restart: `armada server` started on the store as the kill left it (the views within an
  append of the log);
* views behind: the same with the views emptied (as `armada rebuild-views` does), so that
  they must replay the whole log, the most a restart can have to catch up;

timing from the spawn of the process to the line that says it listens, to the first answered
health check, to the first answered GetJobStatus (which reads the views), and to the replay
of a job set's events (from the log). Each server is killed with SIGKILL again.

--compare DIR also runs every scenario with the servers started from another checkout's
``src`` (through PYTHONPATH), to time the code before a change on the same store in the same
run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from armada_client.armada import event_pb2
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.config.server import StorageSettings
from armada.views.storage import open_storage
from bench.dev_load import CONFIG
from bench.harness import BENCH_ENV, free_port, sleep_job_pod

ARMADA = [sys.executable, "-m", "armada.cli.armada_main"]


def build(data: Path, jobs: int) -> None:
    config = data.parent / "dev.yaml"
    config.write_text(CONFIG)
    port = free_port()
    command = [*ARMADA, "dev", "--config", str(config), "--clusters", "2"]
    command += ["--nodes-per-cluster", "500", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **BENCH_ENV},
    )
    assert proc.stdout is not None
    assert "is serving on" in proc.stdout.readline().decode()
    pod = sleep_job_pod()
    pod.containers[0].args[:] = ["sleep", "1s"]
    spec = core.PodSpec(restartPolicy="Never", containers=pod.containers)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        client = ArmadaClient(channel)
        client.create_queue(client.create_queue_request("bench", 1.0))
        ids: list[str] = []
        for batch in range(jobs // 1000):
            items = [
                client.create_job_request_item(priority=0, pod_spec=spec, namespace="default")
                for _ in range(1000)
            ]
            response = client.submit_jobs("bench", f"set-{batch % 4}", items)
            ids += [r.job_id for r in response.job_response_items]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            states = [
                s
                for i in range(0, len(ids), 500)
                for s in client.get_job_status(ids[i : i + 500]).job_states.values()
            ]
            if all(s == 3 for s in states):  # SUCCEEDED
                break
            time.sleep(1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    print(f"  store: {jobs:,} jobs run, killed; {du(data) / 2**20:.0f} MiB", flush=True)


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def empty_views(data: Path) -> None:
    storage = open_storage(StorageSettings(data_dir=data), catch_up=False)
    try:
        storage.store.reset()
    finally:
        storage.close()


def restart(data: Path, source: str | None) -> dict[str, float]:
    """Spawn `armada server` on ``data``; seconds to each milestone; SIGKILL it."""
    env = {**os.environ, **BENCH_ENV}
    if source:
        env["PYTHONPATH"] = source
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*ARMADA, "server", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    assert "is serving on" in line, line
    times = {"listening": time.perf_counter() - started}
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        client = ArmadaClient(channel)
        client.submit_health()
        times["health"] = time.perf_counter() - started
        request = event_pb2.JobSetRequest(queue="bench", id="set-0")
        stream = client.event_stub.GetJobSetEvents(request)
        first = next(stream)
        stream.cancel()  # the rest of its replay would compete with the views' catch-up
        times["events"] = time.perf_counter() - started
        client.get_job_status([first.message.submitted.job.id])
        times["job status"] = time.perf_counter() - started
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    return times


def scenario(name: str, store: Path, runs: int, source: str | None, behind: bool) -> None:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="armada-restart-run-") as tmp:
            data = Path(tmp) / "data"
            shutil.copytree(store, data)
            if behind:
                empty_views(data)
            results.append(restart(data, source))
    summary = ", ".join(
        f"{key} {statistics.median(r[key] for r in results):.2f}s" for key in results[0]
    )
    label = f" [{source}]" if source else ""
    print(f"server_restart_{name}{label}: {summary} (median of {runs})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", help="also run the servers from this src directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="armada-restart-") as tmp:
        store = Path(tmp) / "data"
        build(store, args.jobs)
        for source in [None, args.compare] if args.compare else [None]:
            scenario("after_sigkill", store, args.runs, source, behind=False)
            scenario("views_behind", store, args.runs, source, behind=True)


if __name__ == "__main__":
    main()
