"""The process backend's node offers what this machine has, within its cgroup's limits, unless
the settings say otherwise (resource by resource)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from armada.domain.resources import parse_quantity
from armada.executor.machine import machine_resources, node_resources, own_cgroup

MI = 2**20


def physical_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_without_limits_the_machine_offers_its_cpus_memory_and_free_disk(tmp_path: Path) -> None:
    offered = machine_resources(tmp_path, cgroup=tmp_path / "no-such-cgroup")
    assert offered["cpu"] == str(len(os.sched_getaffinity(0)))
    assert offered["memory"] == f"{physical_memory() // MI}Mi"
    free = parse_quantity(offered["ephemeral-storage"]) // 1000
    assert abs(free - shutil.disk_usage(tmp_path).free) < 2**30  # the disk moves a little


def test_a_cgroup_quota_and_memory_limit_lower_than_the_hardware_win(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    (tmp_path / "memory.max").write_text(f"{3 * 2**30}\n")
    offered = machine_resources(tmp_path, cgroup=tmp_path)
    assert offered["cpu"] == "500m"
    assert offered["memory"] == "3072Mi"


def test_unlimited_cgroup_files_leave_the_hardware(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")
    (tmp_path / "memory.max").write_text("max\n")
    offered = machine_resources(tmp_path, cgroup=tmp_path)
    assert offered["cpu"] == str(len(os.sched_getaffinity(0)))
    assert offered["memory"] == f"{physical_memory() // MI}Mi"


def test_given_resources_replace_the_machines_one_by_one(tmp_path: Path) -> None:
    offered = node_resources({"cpu": "64"}, tmp_path)
    assert offered["cpu"] == "64"
    assert offered["memory"] == machine_resources(tmp_path)["memory"]
    assert "ephemeral-storage" in offered


def test_own_cgroup_reads_the_unified_hierarchy_line(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    proc.write_text("0::/user.slice/session-1.scope\n")
    assert own_cgroup(proc) == Path("/sys/fs/cgroup/user.slice/session-1.scope")
    proc.write_text("12:memory:/docker/abc\n")  # cgroup v1 only: no limits read
    assert own_cgroup(proc) is None
    assert own_cgroup(tmp_path / "missing") is None
