"""Memory and CPU limits for the process backend, as Slurm's cgroup plugin enforces them.

A container's ``resources.limits`` are enforced with a cgroup of its own where the machine lets
the executor make one: cgroup v2 (``memory.max``, ``cpu.max``) when the executor's own cgroup
delegates the memory and cpu controllers, else cgroup v1 (``memory.limit_in_bytes``,
``cpu.cfs_quota_us``) when those hierarchies are mounted writable. The kernel then kills a
container that outgrows its memory (SIGKILL, exit code 137) and counts the kill in the
cgroup's ``oom_kill``: the backend reports it as the kubelet does, reason ``OOMKilled``.

Where no cgroup can be made, memory is limited with ``RLIMIT_AS`` (``ulimit -v``): an
allocation past the limit fails, and a container that then exits non-zero saying so (Python's
``MemoryError``, coreutils' ``memory exhausted``, ``Cannot allocate memory``...) is reported
``OOMKilled`` with exit code 137. CPU has no rlimit that caps a rate, so it is not limited
there. docs/executor.md says what is enforced where.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from armada.domain.resources import MILLI, InvalidQuantity, parse_quantity

LimitMode = Literal["auto", "cgroup", "rlimit", "off"]

_CPU_PERIOD_US = 100_000
_ALLOCATION_FAILED = re.compile(
    r"MemoryError|memory exhausted|Cannot allocate memory|out of memory|bad_alloc", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Limits:
    """A container's limits: memory in bytes, CPU in millicores (None: unlimited)."""

    memory: int | None = None
    cpu_millis: int | None = None

    @property
    def any(self) -> bool:
        return self.memory is not None or self.cpu_millis is not None


def container_limits(spec: dict[str, Any]) -> Limits:
    """``resources.limits`` of a container spec (a quantity that does not parse is ignored:
    the API server validated it)."""
    limits = spec.get("resources", {}).get("limits", {}) or {}
    found: dict[str, int | None] = {"memory": None, "cpu": None}
    for name in found:
        if name in limits:
            with contextlib.suppress(InvalidQuantity, TypeError):
                found[name] = parse_quantity(str(limits[name]))
    memory = found["memory"]
    return Limits(
        memory=None if memory is None else max(1, memory // MILLI), cpu_millis=found["cpu"]
    )


@dataclass(frozen=True, slots=True)
class Confined:
    """What the wrapper does for one container: join these ``cgroup.procs`` files and set
    this address-space limit (KiB) before running the command."""

    procs: tuple[str, ...] = ()
    vmem_kib: int | None = None


def _own_cgroup(controller: str) -> str | None:
    """The executor's cgroup path in ``controller``'s hierarchy ('' for cgroup v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def scope_name(cluster: str, data_dir: Path) -> str:
    """The cgroup that holds one backend's containers' cgroups: named for its cluster and its
    data directory, so that two executors (two test runs, two ``armada dev``) under one cgroup
    never share one, while an executor restarted on the same directory finds its own again
    (it takes back the containers left running there)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", cluster)[:40]
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return f"armada-{readable}-{digest}"


class Confinement:
    """Prepares, checks and removes each container's cgroup (or rlimit) by a unique name."""

    def __init__(self, mode: LimitMode, scope: str, root: Path = Path("/sys/fs/cgroup")) -> None:
        self._roots: dict[str, Path] = {}
        self.kind = "off"
        if mode == "off":
            return
        if mode in ("auto", "cgroup"):
            self.kind = self._find_cgroups(root, scope)
        if self.kind == "off":
            if mode == "cgroup":
                raise ValueError(f"no writable cgroup (v2 or v1) for memory and cpu under {root}")
            self.kind = "rlimit"

    def _find_cgroups(self, root: Path, scope: str) -> str:
        own = _own_cgroup("")
        if (root / "cgroup.controllers").exists() and own is not None:
            base = root / own.lstrip("/")
            wanted = {"memory", "cpu"}
            try:
                enabled = set((base / "cgroup.subtree_control").read_text().split())
                if not wanted <= enabled:
                    (base / "cgroup.subtree_control").write_text("+memory +cpu")
            except OSError:
                return "off"
            if _writable_dir(base / scope):
                self._roots = {"v2": base / scope}
                return "cgroup2"
            return "off"
        for controller in ("memory", "cpu"):
            path = _own_cgroup(controller)
            mount = next(
                (m for m in root.glob("*") if controller in m.name.split(",")),
                None,
            )
            if path is None or mount is None or not _writable_dir(mount / path.lstrip("/") / scope):
                self._roots = {}
                return "off"
            self._roots[controller] = mount / path.lstrip("/") / scope
        return "cgroup1"

    def prepare(self, name: str, limits: Limits) -> Confined:
        """Make ``name``'s cgroup with ``limits`` (or say which rlimit to set)."""
        if not limits.any or self.kind == "off":
            return Confined()
        if self.kind == "rlimit":
            return Confined(vmem_kib=None if limits.memory is None else -(-limits.memory // 1024))
        procs = []
        for controller, settings in self._settings(limits).items():
            group = self._roots[controller] / name
            try:
                group.mkdir()
            except FileExistsError:  # left by an earlier start: its counters must not carry over
                group.rmdir()
                group.mkdir()
            for file, value in settings:
                (group / file).write_text(value)
            procs.append(str(group / "cgroup.procs"))
        return Confined(procs=tuple(procs))

    def _settings(self, limits: Limits) -> dict[str, list[tuple[str, str]]]:
        quota = None
        if limits.cpu_millis is not None:
            quota = max(1000, limits.cpu_millis * _CPU_PERIOD_US // 1000)
        if self.kind == "cgroup2":
            files = []
            if limits.memory is not None:
                files += [("memory.max", str(limits.memory)), ("memory.swap.max", "0")]
            if quota is not None:
                files.append(("cpu.max", f"{quota} {_CPU_PERIOD_US}"))
            return {"v2": files}
        found: dict[str, list[tuple[str, str]]] = {"memory": [], "cpu": []}
        if limits.memory is not None:
            found["memory"].append(("memory.limit_in_bytes", str(limits.memory)))
        if quota is not None:
            found["cpu"] += [
                ("cpu.cfs_period_us", str(_CPU_PERIOD_US)),
                ("cpu.cfs_quota_us", str(quota)),
            ]
        return found

    def oom_killed(self, name: str, exit_code: int, output_tail: Sequence[str]) -> bool:
        """Whether the container ``name`` ended because it ran out of memory."""
        if self.kind == "rlimit":
            return exit_code != 0 and any(_ALLOCATION_FAILED.search(line) for line in output_tail)
        for controller, file in (("v2", "memory.events"), ("memory", "memory.oom_control")):
            root = self._roots.get(controller)
            if root is None:
                continue
            try:
                text = (root / name / file).read_text()
            except OSError:
                continue
            counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
            if int(counts.get("oom_kill", "0")) > 0:
                return True
        return False

    @property
    def roots(self) -> tuple[Path, ...]:
        """The cgroups (one per hierarchy) that hold the containers' cgroups."""
        return tuple(self._roots.values())

    def release(self, name: str) -> None:
        """Remove ``name``'s cgroups, once their processes are gone (with the pod)."""
        for root in self._roots.values():
            with contextlib.suppress(OSError):
                (root / name).rmdir()

    def close(self) -> None:
        """Remove the cgroups that held the containers' (kept while any container is left)."""
        for root in self._roots.values():
            with contextlib.suppress(OSError):
                root.rmdir()
