"""`armadactl submit` of one large job file: wall time and peak memory of the whole command.

Usage: python -m bench.submit_armadactl [--jobs 10000] [--runs 3]

Writes a job file of --jobs jobs (Armada's job file format: each job its own podSpec with a
container, resources, labels and annotations, as a script generating jobs writes them), starts
a fresh `armada dev` (SQLite store, no clusters) in its own process, and runs
`armadactl submit FILE` against it --runs times, each into a new job set, measuring from
start to exit: wall time, and peak RSS of the armadactl process (GNU ``/usr/bin/time``).

The ceiling printed beside it is what PyYAML's C loader alone takes to parse the same file
(``yaml.load(text, Loader=yaml.CSafeLoader)``, in this process): reading a file of this size
as YAML cannot be cheaper than that with the libraries the project uses.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from armada_client.armada import submit_pb2

from armada.client import Client, ConnectionDetails
from bench.harness import armada_dev, median

ARMADACTL = str(Path(sys.executable).with_name("armadactl"))
TIME = "/usr/bin/time"  # GNU time: the command's own peak RSS

JOB = """\
  - priority: 0
    namespace: default
    labels:
      app: bench
      index: "{i}"
    annotations:
      example.com/owner: bench
    podSpec:
      terminationGracePeriodSeconds: 0
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:latest
          imagePullPolicy: IfNotPresent
          command: ["sh", "-c"]
          args: ["sleep {seconds}s && echo done {i}"]
          env:
            - name: JOB_INDEX
              value: "{i}"
          resources:
            requests:
              cpu: 150m
              memory: 64Mi
            limits:
              cpu: 150m
              memory: 64Mi
"""


def job_file(jobs: int, job_set: str) -> str:
    header = f"queue: bench\njobSetId: {job_set}\njobs:\n"
    return header + "".join(JOB.format(i=i, seconds=1 + i % 60) for i in range(jobs))


def yaml_ceiling(text: str) -> float:
    started = time.perf_counter()
    yaml.load(text, Loader=yaml.CSafeLoader)
    return time.perf_counter() - started


def armadactl_submit(address: str, path: Path, jobs: int) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system: less at the mercy of other
    work on the machine than wall time) of one `armadactl submit`, from /usr/bin/time: a child
    of this (large) process would report this process's peak as its own (Linux carries the
    high-water mark across fork and exec)."""
    command = [ARMADACTL, "--armadaUrl", address, "submit", str(path)]
    with tempfile.NamedTemporaryFile("r") as measured:
        started = time.perf_counter()
        done = subprocess.run(
            [TIME, "-f", "%M %U %S", "-o", measured.name, *command],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        peak_kib, user, system = measured.read().split()[-3:]
    if done.returncode:
        raise RuntimeError(f"armadactl submit failed: {done.stderr[-2000:]}")
    submitted = done.stdout.count("Submitted job with id")
    assert submitted == jobs, (submitted, jobs)
    return elapsed, int(peak_kib) / 1024, float(user) + float(system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times: list[float] = []
    peaks: list[float] = []
    cpus: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="armada-bench-") as folder,
        armada_dev("--clusters", "0") as address,
    ):
        client = Client.connect(ConnectionDetails(url=address, timeout=600))
        client.create_queue(submit_pb2.Queue(name="bench", priority_factor=1))
        client.close()
        for run in range(args.runs):
            path = Path(folder) / f"jobs-{run}.yaml"
            text = job_file(args.jobs, f"submit-{run}")
            path.write_text(text)
            if run == 0:
                size = len(text.encode()) / 2**20
                print(f"job file: {args.jobs:,} jobs, {size:.1f} MiB", flush=True)
                print(f"ceiling: yaml.CSafeLoader parse {yaml_ceiling(text):.2f} s", flush=True)
            elapsed, peak, cpu = armadactl_submit(address, path, args.jobs)
            times.append(elapsed)
            peaks.append(peak)
            cpus.append(cpu)
            print(
                f"run {run + 1}: {elapsed:.2f} s, peak RSS {peak:.0f} MiB, "
                f"armadactl CPU {cpu:.2f} s",
                flush=True,
            )
    print(f"submit_armadactl_cpu: {median(cpus):.2f} s (armadactl's own user + system time)")
    print(f"submit_armadactl_peak_rss: {median(peaks):.0f} MiB (target: <= 150 MiB)")
    print(f"submit_armadactl: {median(times):.2f} s for {args.jobs:,} jobs (target: <= 3 s)")


if __name__ == "__main__":
    main()
