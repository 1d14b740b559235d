"""Memory soak: waves of short jobs through an in-process `armada dev`; what grows wave after wave.

Usage: python -m bench.soak_memory [--waves 5] [--jobs 5000] [--clusters 2] [--nodes 10]
                                   [--settle 5]

Starts `armada dev` (fake backend) in this process (``EmbeddedArmada``), submits --jobs jobs
sleeping 0.1 s, waits until all have succeeded and then --settle seconds more (pods are deleted,
reports delivered), and records the process's RSS and, for every live object of a class of
``armada.*``, the size of each of its dict/set/list/deque attributes (summed over the class's
instances). After the last wave it prints every container whose size rose in each of the last
waves: a container that grows by about the number of jobs per wave, and never shrinks, is a
leak. The query store on disk grows by design and is not measured.
"""

from __future__ import annotations

import argparse
import collections
import gc
import itertools
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import grpc
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.config.dev import DevSettings
from armada.dev.embedded import EmbeddedArmada
from bench.harness import sleep_job_pod

SIZED = (dict, set, frozenset, list, collections.deque)


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _attributes(obj: Any) -> Iterator[tuple[str, Any]]:
    seen: set[str] = set()
    for name, value in getattr(obj, "__dict__", {}).items():
        seen.add(name)
        yield name, value
    for klass in type(obj).__mro__:
        for name in getattr(klass, "__slots__", ()):
            if name not in seen and hasattr(obj, name):
                seen.add(name)
                yield name, getattr(obj, name)


def container_sizes() -> dict[str, int]:
    """``Class.attribute`` -> total length over the live instances of armada's classes."""
    gc.collect()
    sizes: dict[str, int] = collections.Counter()
    for obj in gc.get_objects():
        klass = type(obj)
        module = klass.__dict__.get("__module__")
        if not isinstance(module, str) or not module.startswith("armada.") or isinstance(obj, type):
            continue
        for name, value in _attributes(obj):
            if isinstance(value, SIZED):
                sizes[f"{klass.__module__}.{klass.__qualname__}.{name}"] += len(value)
    return dict(sizes)


def object_counts() -> dict[str, int]:
    counts: dict[str, int] = collections.Counter()
    for obj in gc.get_objects():
        counts[type(obj).__qualname__] += 1
    return dict(counts)


def submit_wave(client: ArmadaClient, jobs: int, wave: int) -> list[str]:
    pod = sleep_job_pod()
    pod.containers[0].args[:] = ["sleep", "0.1s"]
    ids: list[str] = []
    for start in range(0, jobs, 1000):
        items = [
            client.create_job_request_item(
                priority=0,
                pod_spec=core.PodSpec(restartPolicy="Never", containers=pod.containers),
                namespace="default",
            )
            for _ in range(min(1000, jobs - start))
        ]
        response = client.submit_jobs("soak", f"wave-{wave}", items)
        ids.extend(r.job_id for r in response.job_response_items)
    return ids


def wait_for_success(client: ArmadaClient, ids: list[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = 0
        for i in range(0, len(ids), 500):
            states = client.get_job_status(ids[i : i + 500]).job_states
            done += sum(1 for s in states.values() if s == 3)
            assert not [s for s in states.values() if s in (4, 8, 9, 10)], "a job did not succeed"
        if done == len(ids):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done}/{len(ids)} succeeded")
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--clusters", type=int, default=2)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="armada-soak-")
    settings = DevSettings.model_validate(
        {
            "clusters": args.clusters,
            "nodesPerCluster": args.nodes,
            "grpc": {"host": "127.0.0.1", "port": 0},
            "storage": {"dataDir": data, "sqliteSynchronous": "NORMAL"},
            "scheduling": {
                "maximumSchedulingRate": 10000,
                "maximumSchedulingBurst": 10000,
                "maximumPerQueueSchedulingRate": 10000,
                "maximumPerQueueSchedulingBurst": 10000,
            },
        }
    )
    history: list[dict[str, int]] = []
    counts: list[dict[str, int]] = []
    with EmbeddedArmada(settings) as armada, grpc.insecure_channel(armada.address) as channel:
        client = ArmadaClient(channel)
        client.create_queue(client.create_queue_request("soak", 1.0))
        history.append(container_sizes())
        counts.append(object_counts())
        print(f"start: RSS {rss_mib():.0f} MiB", flush=True)
        for wave in range(1, args.waves + 1):
            started = time.perf_counter()
            ids = submit_wave(client, args.jobs, wave)
            wait_for_success(client, ids)
            time.sleep(args.settle)
            history.append(container_sizes())
            counts.append(object_counts())
            print(
                f"wave {wave}: {len(ids):,} jobs in {time.perf_counter() - started:.1f}s, "
                f"RSS {rss_mib():.0f} MiB, {sum(counts[-1].values()):,} objects",
                flush=True,
            )
    shutil.rmtree(data, ignore_errors=True)
    print("\ncontainers that grew in every one of the last waves (size after each wave):")
    last = history[-min(3, len(history) - 1) - 1 :]
    for name in sorted(history[-1]):
        series = [h.get(name, 0) for h in last]
        if all(b > a for a, b in itertools.pairwise(series)):
            print(f"  {name}: " + " -> ".join(str(h.get(name, 0)) for h in history))
    print("\nobject types that grew by more than 1,000 over the waves:")
    first, final = counts[1], counts[-1]
    grown = sorted(((final[k] - first.get(k, 0), k) for k in final), reverse=True)
    for delta, name in grown[:20]:
        if delta > 1000:
            print(f"  {name}: +{delta:,} ({' -> '.join(str(c.get(name, 0)) for c in counts)})")


if __name__ == "__main__":
    main()
