"""2,000 trivial jobs (`true`) through `armada dev --backend process`: submit -> all complete.

Usage: python -m bench.process_jobs [--jobs 2000] [--runs 3]

The whole system, one process (API server, scheduler, one executor running each job as a
local process), scheduling rate limits raised as in `bench.dev_load`; the client submits all
the jobs at once (1,000 per request) and waits until every one has succeeded. DESIGN's
comparison: Slurm on the same 2-core box ran 36 jobs/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import grpc
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from bench.dev_load import CONFIG, wait_for_success
from bench.harness import armada_dev, median, sleep_job_pod


def run(jobs: int, config: Path) -> float:
    with (
        armada_dev(
            "--backend",
            "process",
            "--clusters",
            "1",
            "--node-resources",
            "cpu=64,memory=256Gi",
            "--config",
            str(config),
        ) as address,
        grpc.insecure_channel(address) as channel,
    ):
        client = ArmadaClient(channel)
        client.create_queue(client.create_queue_request("load", 1.0))
        container = sleep_job_pod().containers[0]
        del container.args[:]
        container.command[:] = ["true"]
        pod = core.PodSpec(restartPolicy="Never", containers=[container])
        started = time.perf_counter()
        ids: list[str] = []
        for start in range(0, jobs, 1000):
            items = [
                client.create_job_request_item(priority=0, pod_spec=pod, namespace="default")
                for _ in range(min(1000, jobs - start))
            ]
            ids.extend(
                r.job_id for r in client.submit_jobs("load", "set", items).job_response_items
            )
        wait_for_success(client, ids, started)
        return jobs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "load.yaml"
        config.write_text(CONFIG)
        for i in range(args.runs):
            rates.append(run(args.jobs, config))
            print(f"run {i + 1}: {rates[-1]:,.0f} jobs/s", flush=True)
    print(f"process_jobs: {median(rates):,.0f} jobs/s (target: >= 180; Slurm on this box: 36)")


if __name__ == "__main__":
    main()
