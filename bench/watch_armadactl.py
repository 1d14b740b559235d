"""Watch one job set: events per second delivered to armadactl, through armada.client.

Usage: python -m bench.watch_armadactl [--jobs 25000] [--runs 3]

Starts a fresh `armada dev` (SQLite store) in its own process, submits --jobs jobs to one job
set and cancels them all (4 events per job: submitted, queued, cancelling, cancelled), then
measures, from this process:

* client: the whole job set replayed through `armada.client.JobSetFollower` (events/s);
* armadactl: `armadactl watch --raw --exit-if-inactive` run as a command, output to a pipe that
  is read and discarded, from start to exit (events/s, start-up included).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from armada_client.armada import submit_pb2
from armada_client.armada.submit_pb2 import JobSubmitRequestItem

from armada.client import Client, ConnectionDetails, JobSetFollower
from bench.harness import armada_dev, median, sleep_job_pod

ARMADACTL = str(Path(sys.executable).with_name("armadactl"))


def prepare(client: Client, jobs: int) -> int:
    client.create_queue(submit_pb2.Queue(name="bench", priority_factor=1))
    item = JobSubmitRequestItem(priority=0, namespace="default", pod_spec=sleep_job_pod())
    for start in range(0, jobs, 1000):
        client.submit_jobs("bench", "watched", [item] * min(1000, jobs - start))
    client.cancel_jobs("bench", "watched")
    return sum(1 for _ in client.job_set_events("bench", "watched"))


def through_client(client: Client, events: int) -> float:
    started = time.perf_counter()
    seen = sum(1 for _ in JobSetFollower(client, "bench", "watched", watch=False))
    assert seen == events, (seen, events)
    return events / (time.perf_counter() - started)


def through_armadactl(address: str, events: int) -> float:
    started = time.perf_counter()
    command = [ARMADACTL, "--armadaUrl", address, "watch", "bench", "watched", "--raw"]
    result = subprocess.run(
        [*command, "--exit-if-inactive"], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - started
    assert result.stdout.count("\n") == events + 1, "every event and the header"
    return events / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=25_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    client_rates: list[float] = []
    command_rates: list[float] = []
    with armada_dev("--clusters", "0") as address:
        client = Client.connect(ConnectionDetails(url=address, timeout=600))
        print(f"preparing {args.jobs:,} jobs ...", flush=True)
        events = prepare(client, args.jobs)
        print(f"  {events:,} events in the job set", flush=True)
        for run in range(args.runs):
            client_rates.append(through_client(client, events))
            command_rates.append(through_armadactl(address, events))
            print(
                f"run {run + 1}: client {client_rates[-1]:,.0f} events/s, "
                f"armadactl watch --raw {command_rates[-1]:,.0f} events/s",
                flush=True,
            )
        client.close()
    print(f"watch_throughput_armadactl: {median(command_rates):,.0f} events/s (median)")
    print(f"watch_throughput: {median(client_rates):,.0f} events/s (target: >= 50,000)")


if __name__ == "__main__":
    main()
