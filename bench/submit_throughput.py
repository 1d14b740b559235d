"""Submit 100,000 jobs through armada-client in batches of 1,000 into the embedded store.

Usage: python -m bench.submit_throughput [--jobs 100000] [--batch 1000] [--runs 3]

Each run starts a fresh `armada dev` (SQLite store) in its own process and submits from this
one, so client and server each have a core, as in a real deployment. It compares the durable
default (synchronous=FULL: on disk before acknowledged) with synchronous=NORMAL in the same run.
"""

from __future__ import annotations

import argparse
import time

import grpc
from armada_client.client import ArmadaClient

from bench.harness import armada_dev, median, sleep_job_pod


def one_run(jobs: int, batch: int, synchronous: str) -> float:
    env = {"ARMADA_STORAGE__SQLITE_SYNCHRONOUS": synchronous}
    with (
        armada_dev("--clusters", "0", env=env) as address,
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
        started = time.perf_counter()
        for i, items in enumerate(batches, 1):
            response = client.submit_jobs("bench", f"set-{i % 10}", items)
            assert len(response.job_response_items) == batch
            if i % 20 == 0:
                elapsed = time.perf_counter() - started
                print(f"  [{synchronous}] {i * batch:,} jobs in {elapsed:.2f}s", flush=True)
        return jobs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"FULL": [], "NORMAL": []}
    for run in range(args.runs):
        for mode, rates in results.items():
            rate = one_run(args.jobs, args.batch, mode)
            rates.append(rate)
            print(f"run {run + 1} synchronous={mode}: {rate:,.0f} jobs/s", flush=True)
    print(f"submit_throughput_normal: {median(results['NORMAL']):,.0f} jobs/s (median)")
    print(f"submit_throughput: {median(results['FULL']):,.0f} jobs/s (target: >= 20,000)")


if __name__ == "__main__":
    main()
