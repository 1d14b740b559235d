"""Shared by the benchmarks: start `armada dev` in a subprocess, build Armada requests."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core
from armada_client.k8s.io.apimachinery.pkg.api.resource import generated_pb2 as resource
from tests.server_process import OPEN_AUTH_ENV

# Benchmarks start components as a trusted operator would for a test: anonymous callers may do
# everything (`armada server` has no anonymous default), HTTP on any free port.
BENCH_ENV = {**OPEN_AUTH_ENV, "ARMADA_HTTP__PORT": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def armada_dev(
    *extra: str, env: dict[str, str] | None = None, component: str = "dev"
) -> Iterator[str]:
    """A fresh `armada dev` (or another component: `server`) with its own data directory, in
    a subprocess; yields its address."""
    with armada_process(*extra, env=env, component=component) as (address, _):
        yield address


@contextmanager
def armada_process(
    *extra: str, env: dict[str, str] | None = None, component: str = "dev"
) -> Iterator[tuple[str, int]]:
    """:func:`armada_dev`, yielding its address and its process id (to read its CPU time)."""
    with tempfile.TemporaryDirectory(prefix="armada-bench-") as data:
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "armada.cli.armada_main",
                component,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                data,
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **BENCH_ENV, **(env or {})},
        )
        address = f"127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with grpc.insecure_channel(address) as ch:
                        ArmadaClient(ch).submit_health()
                    break
                except grpc.RpcError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("armada dev did not start") from None
                    time.sleep(0.1)
            yield address, proc.pid
        finally:
            proc.terminate()
            proc.wait(30)


def sleep_job_pod() -> core.PodSpec:
    """The seed's example job: busybox sleeping, 150m CPU and 64Mi."""
    quantity = {"cpu": resource.Quantity(string="150m"), "memory": resource.Quantity(string="64Mi")}
    return core.PodSpec(
        restartPolicy="Never",
        terminationGracePeriodSeconds=0,
        containers=[
            core.Container(
                name="sleep",
                image="busybox:latest",
                imagePullPolicy="IfNotPresent",
                args=["sleep", "60s"],
                resources=core.ResourceRequirements(requests=quantity, limits=quantity),
            )
        ],
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process (all its threads) has used so far: fields 14 and
    15 of /proc/PID/stat, in clock ticks; 0 for a process that has gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float:
    return statistics.median(values)
