"""The process backend enforces what Kubernetes would: memory and CPU limits (an OOM kill is
reported as the kubelet reports it), existing namespaces only, timestamped output."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from armada.executor.cluster import ClusterError
from armada.executor.process import ProcessCluster
from tests.executor.test_process_backend import cluster_in, final, plan, until_running

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def cgroups_in(tmp_path: Path) -> ProcessCluster:
    cluster = cluster_in(tmp_path, resource_limits="auto")
    if cluster.limits_enforced_by not in ("cgroup1", "cgroup2"):
        pytest.skip("no writable cgroup on this machine (the rlimit tests cover it)")
    return cluster


async def test_a_container_outgrowing_its_memory_limit_is_oom_killed(tmp_path: Path) -> None:
    """Armada's failure_oom case: ``tail /dev/zero`` under a 25Mi limit."""
    cluster = cgroups_in(tmp_path)
    await cluster.create_run(plan("j1", ["tail", "/dev/zero"], memory="25Mi"))
    pod = await final(cluster, "j1")
    main = pod.containers[0]
    assert (pod.phase, main.reason, main.exit_code) == ("Failed", "OOMKilled", 137)
    await cluster.close()


async def test_memory_written_to_shared_memory_counts_against_the_limit(tmp_path: Path) -> None:
    """Armada's categorization/oom case: tmpfs pages are the container's memory too."""
    cluster = cgroups_in(tmp_path)
    fill = f"/dev/shm/armada-test-{tmp_path.name}"
    command = ["sh", "-c", f"dd if=/dev/zero of={fill} bs=1M count=256"]
    await cluster.create_run(plan("j1", command, memory="25Mi"))
    pod = await final(cluster, "j1")
    Path(fill).unlink(missing_ok=True)
    assert (pod.containers[0].reason, pod.containers[0].exit_code) == ("OOMKilled", 137)
    await cluster.close()


async def test_a_cpu_limit_caps_the_cpu_a_container_gets(tmp_path: Path) -> None:
    """100m: a busy loop of 1.5 s wall time gets about 0.15 s of CPU."""
    cluster = cgroups_in(tmp_path)
    spin = "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass\n"
    spin += "print(round(time.process_time(), 2))"
    await cluster.create_run(plan("j1", ["python3", "-c", spin], cpu="100m", memory="256Mi"))
    pod = await final(cluster, "j1")
    assert pod.phase == "Succeeded"
    (line,) = await cluster.read_log("default", "armada-j1-0")
    assert float(line.line) < 0.5
    await cluster.close()


async def test_under_an_rlimit_a_failed_allocation_is_reported_as_oom(tmp_path: Path) -> None:
    cluster = cluster_in(tmp_path, resource_limits="rlimit")
    assert cluster.limits_enforced_by == "rlimit"
    grow = ["python3", "-c", "x = bytearray(200 * 2**20)"]
    await cluster.create_run(plan("j1", grow, memory="64Mi"))
    await cluster.create_run(plan("j2", ["tail", "/dev/zero"], memory="25Mi"))
    await cluster.create_run(plan("j3", ["python3", "-c", "raise SystemExit(1)"], memory="64Mi"))
    for job in ("j1", "j2"):
        main = (await final(cluster, job)).containers[0]
        assert (main.reason, main.exit_code) == ("OOMKilled", 137), job
    other = (await final(cluster, "j3")).containers[0]
    assert (other.reason, other.exit_code) == ("Error", 1), "a plain failure stays one"
    await cluster.close()


async def test_a_pod_in_a_namespace_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    cluster = cluster_in(tmp_path, namespaces=["default", "team-a"])
    run = plan("j1", ["true"])
    elsewhere = dataclasses.replace(run, namespace="invalid-namespace")
    with pytest.raises(ClusterError, match='namespaces "invalid-namespace" not found') as refused:
        await cluster.create_run(elsewhere)
    assert refused.value.fatal, "the job fails, as pod creation fails on Kubernetes"
    await cluster.create_run(dataclasses.replace(run, namespace="team-a"))
    await cluster.close()


async def test_every_line_of_output_has_the_time_it_was_written(tmp_path: Path) -> None:
    cluster = cluster_in(tmp_path)
    await cluster.create_run(plan("j1", ["sh", "-c", "echo one; echo two >&2"]))
    await final(cluster, "j1")
    lines = await cluster.read_log("default", "armada-j1-0")
    assert [line.line for line in lines] == ["one", "two"]
    assert all(RFC3339.match(line.timestamp) for line in lines), lines
    await cluster.close()


async def test_two_backends_of_one_name_keep_their_cgroups_apart(tmp_path: Path) -> None:
    """Two test runs (or two `armada dev`) under one cgroup, same cluster name, same run ids:
    each has its own cgroups, and its own go when it stops."""
    go = tmp_path / "go"
    wait = ["sh", "-c", f"while [ ! -e {go} ]; do sleep 0.01; done"]
    first, second = cgroups_in(tmp_path / "a"), cgroups_in(tmp_path / "b")
    assert not set(first._limits.roots) & set(second._limits.roots)
    for cluster in (first, second):
        await cluster.create_run(plan("j1", wait, memory="64Mi"))
        await until_running(cluster, "j1")
    go.touch()
    for cluster in (first, second):
        main = (await final(cluster, "j1")).containers[0]
        assert (main.reason, main.exit_code) == ("Completed", 0)
    await first.close()
    assert not any(root.exists() for root in first._limits.roots)
    assert all(root.exists() for root in second._limits.roots), "the other's are left"
    await second.close()
    assert not any(root.exists() for root in second._limits.roots)
