"""What this machine has to offer: the process backend's node, when no one says otherwise.

The process backend's one node offers the machine's own resources by default: the CPUs this
process may run on, its memory, and the free disk where pods write (as ephemeral-storage).
Inside a container (or a systemd slice) the cgroup's limits are what jobs can really use, so
a CPU quota or a memory limit lower than the hardware wins. Quantities are written as a person
reads them (``2``, ``1500m``, ``23552Mi``), rounded down to whole MiB: a node never claims
more than there is.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

_MI = 2**20
CGROUP_ROOT = Path("/sys/fs/cgroup")


def own_cgroup(proc_self_cgroup: Path = Path("/proc/self/cgroup")) -> Path | None:
    """This process's cgroup (v2) directory, or None when there is no unified hierarchy."""
    try:
        lines = proc_self_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return CGROUP_ROOT / line[3:].lstrip("/")
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def cgroup_cpu_limit(cgroup: Path | None) -> float | None:
    """CPUs allowed by ``cpu.max`` ("<quota> <period>", or "max ..." for none), or None."""
    if cgroup is None:
        return None
    quota, _, period = _read(cgroup / "cpu.max").partition(" ")
    if not quota or quota == "max" or not period:
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


def cgroup_memory_limit(cgroup: Path | None) -> int | None:
    """Bytes allowed by ``memory.max`` ("max" for none), or None."""
    if cgroup is None:
        return None
    text = _read(cgroup / "memory.max")
    return int(text) if text.isdigit() else None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpu_quantity(cores: float) -> str:
    milli = max(1, math.floor(cores * 1000))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def machine_resources(where: Path, *, cgroup: Path | None = None) -> dict[str, str]:
    """This machine's CPUs and memory (within this process's cgroup limits), and the free
    disk under ``where``, as Kubernetes quantities.

    ``cgroup``: the cgroup directory whose limits apply (default: this process's own)."""
    group = own_cgroup() if cgroup is None else cgroup
    cores: float = _cpus()
    quota = cgroup_cpu_limit(group)
    if quota is not None:
        cores = min(cores, quota)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = cgroup_memory_limit(group)
    if limit is not None:
        memory = min(memory, limit)
    disk = shutil.disk_usage(where).free
    return {
        "cpu": _cpu_quantity(cores),
        "memory": f"{memory // _MI}Mi",
        "ephemeral-storage": f"{disk // _MI}Mi",
    }


def node_resources(given: dict[str, str], where: Path) -> dict[str, str]:
    """The node's allocatable resources: ``given`` over the machine's own (a resource not
    given is the machine's)."""
    return {**machine_resources(where), **given}
