"""How the process backend starts a container, and how a restarted executor finds it again.

Every container's command runs under a small ``sh`` wrapper, so that what the backend needs
survives the executor itself (a SIGKILLed executor leaves its jobs running, as a crashed
kubelet leaves its containers):

* the wrapper sends the command's output (stdout and stderr) straight to ``<stem>.log``, which
  the executor stamps with the time each line was written (:mod:`.procstamps`): nothing stands
  between the command and its file, so the output of a container taken back after a restart
  goes on being kept;
* it writes its pid and start time (``/proc/<pid>/stat`` field 22, to tell a reused pid) to
  ``<stem>.pid``, and the command's exit status to ``<stem>.exit`` (one ``write`` of a few
  bytes: a reader sees it whole or not at all), so that an executor that did not start the
  process, and cannot wait for it, still learns how it ended;
* it joins the container's cgroups or sets its address-space limit
  (:mod:`armada.executor.proclimits`) before running the command;
* when the command ends, everything left in its process group is killed, as Kubernetes kills
  what a container's main process leaves behind: once the wrapper has ended, nothing of the
  container writes to its log any more.

The wrapper catches SIGTERM, SIGINT and SIGHUP from its first line (the command gets them with
their default action) and outlives the command only to record its status. A signal that came
before the command started does not start it (status 128 + the signal's number). One that
comes as the wrapper forks the command reaches the child before its exec, in the wrapper's
handler, and the exec drops it: the executor then sends it again (:func:`resend_missed`).
Per container it costs two ``exec`` s (the wrapper, the command), one of them by the
executor. The pod's plan is kept beside them in ``<pod>_<run>.pod.json``, written before
anything starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from armada.executor.children import Child, start
from armada.executor.model import PodPlan
from armada.executor.podspec import containers, init_containers
from armada.executor.proclimits import Confined

_SUFFIXES = (".log", ".stamps", ".pid", ".exit")
_ADOPTED_POLL = 0.2  # seconds between liveness checks of a process this executor did not start

# $1 log, $2 pid file, $3 exit file, $4 cgroup.procs files, $5 address-space limit (KiB); the
# command follows. (A redirection that fails makes a non-interactive sh exit: status 2.)
WRAPPER = """
sig=
trap sig=15 TERM
trap sig=2 INT
trap sig=1 HUP
log=$1 pidfile=$2 exitfile=$3 procs=$4 vmem=$5
shift 5
exec >>"$log" 2>&1
ticks() { t="$1 ${22}"; }
read -r stat < /proc/$$/stat && ticks $stat
echo "$t" > "$pidfile"
for f in $procs; do echo $$ > "$f" || exit 125; done
if [ -n "$vmem" ]; then ulimit -v "$vmem"; fi
if [ -z "$sig" ]; then "$@"; status=$?; else status=$((128 + sig)); fi
echo $status > "$exitfile"
kill -KILL 0
"""


def exit_code(returncode: int | None) -> int:
    """A return code as a container's exit code (killed by signal N: 128 + N)."""
    if returncode is None:
        return -1
    return 128 - returncode if returncode < 0 else returncode


@functools.cache
def _shell() -> str:
    """sh's path, found once (not searched along PATH at every start)."""
    return shutil.which("sh") or "sh"


def missing_tools() -> list[str]:
    """Programs the wrapper needs that this machine lacks."""
    return [tool for tool in ("sh",) if shutil.which(tool) is None]


@dataclass(frozen=True, slots=True)
class ContainerFiles:
    """A container's files: its output, when each part of it was written (see
    :mod:`.procstamps`), the wrapper's pid and start time, and the command's exit status."""

    log: Path
    stamps: Path
    pid: Path
    exit: Path

    @classmethod
    def at(cls, stem: Path) -> ContainerFiles:
        log, stamps, pid, exit_ = (stem.with_name(stem.name + s) for s in _SUFFIXES)
        return cls(log=log, stamps=stamps, pid=pid, exit=exit_)

    def all(self) -> list[Path]:
        return [self.log, self.stamps, self.pid, self.exit]


class PodLayout:
    """Where a pod's files are in ``logDir``, and the names of its cgroups."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir

    def names(self, plan: PodPlan) -> list[str]:
        """The main containers' names."""
        return [c.get("name", "main") for c in containers(plan.pod)]

    def all_names(self, plan: PodPlan) -> list[str]:
        return [c.get("name", "main") for c in init_containers(plan.pod)] + self.names(plan)

    def files(self, plan: PodPlan, container: str) -> ContainerFiles:
        return ContainerFiles.at(self.log_dir / f"{plan.pod_name}_{plan.run_id}_{container}")

    def record(self, plan: PodPlan) -> Path:
        return self.log_dir / f"{plan.pod_name}_{plan.run_id}.pod.json"

    def cgroup(self, plan: PodPlan, container: str) -> str:
        return f"{plan.pod_name}_{plan.run_id}_{container}"

    def all_files(self, plan: PodPlan) -> list[Path]:
        found = [self.record(plan)]
        for name in self.all_names(plan):
            found += self.files(plan, name).all()
        return found


def _runnable(program: str, env: Mapping[str, str], cwd: str) -> None:
    """Raise FileNotFoundError as ``exec`` would, before anything starts (the kubelet reports
    a command it cannot start as StartError, not as the command's failure)."""
    if "/" in program:
        path = os.path.join(cwd, program)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise FileNotFoundError(f"exec: {program!r}: no such file or not executable")
    elif shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        raise FileNotFoundError(f'exec: "{program}": executable file not found in $PATH')


def launch(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str,
    files: ContainerFiles,
    confined: Confined,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` under the wrapper, in a new session (its pid leads the container's
    process group). Raises OSError if it cannot. Safe in any thread."""
    _runnable(argv[0], env, cwd)
    vmem = "" if confined.vmem_kib is None else str(confined.vmem_kib)
    wrapper = [_shell(), "-c", WRAPPER, "armada-container", str(files.log), str(files.pid)]
    wrapper += [str(files.exit), " ".join(confined.procs), vmem]
    return start([*wrapper, *argv], env=env, cwd=cwd)


async def ended(
    files: ContainerFiles, pid: int, start_ticks: int | None, wrapper: Child | None
) -> int | None:
    """Wait until a container has ended; return its exit status (None if it vanished without
    recording one). ``wrapper`` is None for a container taken back after a restart: not ours
    to wait for, so its pid is polled (with its start time: a reused pid is not mistaken for
    it)."""
    returncode = None
    if wrapper is not None:
        returncode = await wrapper.wait()
    elif start_ticks is not None:
        await _gone(pid, start_ticks, _ADOPTED_POLL)
    code = read_exit(files)
    return code if code is not None or returncode is None else exit_code(returncode)


async def _gone(pid: int, start_ticks: int, every: float) -> None:
    while alive(pid, start_ticks):
        await asyncio.sleep(every)


def container_env(plan: PodPlan, spec: dict[str, Any], node: str) -> dict[str, str]:
    """The container's ``env``: values, and the pod fields the process backend knows."""
    fields = {
        "metadata.name": plan.pod_name,
        "metadata.namespace": plan.namespace,
        "spec.nodeName": node,
        "status.podIP": "127.0.0.1",
    }
    env = {}
    for item in spec.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "valueFrom" in item:
            path = item["valueFrom"].get("fieldRef", {}).get("fieldPath", "")
            if path in fields:
                env[item["name"]] = fields[path]
    return env


def read_exit(files: ContainerFiles) -> int | None:
    """The exit status the wrapper recorded, if the command has ended."""
    try:
        text = files.exit.read_text()
    except OSError:
        return None
    return int(text) if text.endswith("\n") and text.strip().isdigit() else None


def read_pid(files: ContainerFiles) -> tuple[int, int] | None:
    """(pid, start time in clock ticks) of the wrapper, once it has written them."""
    try:
        fields = files.pid.read_text().split()
    except OSError:
        return None
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        return None
    return int(fields[0]), int(fields[1])


def alive(pid: int, start_ticks: int) -> bool:
    """Whether the process ``pid`` that started at ``start_ticks`` still runs (a zombie, or
    another process that got the pid since, does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rfind(")") + 2 :].split()
    return len(fields) > 19 and fields[0] != "Z" and fields[19] == str(start_ticks)


def output_tail(path: Path, size: int = 4096) -> list[str]:
    """The last lines of a container's output (for recognising a failed allocation)."""
    try:
        with open(path, "rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - size))
            return file.read().decode(errors="replace").splitlines()[-5:]
    except OSError:
        return []


# --- the pod's record -----------------------------------------------------------------------


def save_plan(path: Path, plan: PodPlan, created: float) -> None:
    """Write what the backend is about to start, before it starts anything (so a record torn
    by a crash, which :func:`load_plan` cannot read, is of a pod that never started)."""
    record = {
        "run_id": plan.run_id,
        "job_id": plan.job_id,
        "namespace": plan.namespace,
        "pod_name": plan.pod_name,
        "node": plan.node,
        "pod": plan.pod,
        "created": created,
    }
    path.write_text(json.dumps(record))


def load_plan(path: Path) -> tuple[PodPlan, float] | None:
    """A record written by :func:`save_plan`; None if it cannot be read."""
    try:
        record: dict[str, Any] = json.loads(path.read_text())
        plan = PodPlan(
            run_id=record["run_id"],
            job_id=record["job_id"],
            namespace=record["namespace"],
            pod_name=record["pod_name"],
            node=record["node"],
            pod=record["pod"],
        )
        return plan, float(record["created"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def kill_group(pid: int, start_ticks: int | None, sig: int) -> None:
    """Signal the process group led by ``pid``, unless the pid now names another process."""
    if start_ticks is not None and not alive(pid, start_ticks):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


_SIGNAL_MASKS = ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")


def resend_missed(pid: int, start_ticks: int | None, sig: int) -> bool:
    """Send ``sig`` again to the command of the wrapper ``pid`` if the ``sig`` sent to the
    group cannot have reached it: the command alive with the signal's default action (neither
    pending, blocked, ignored nor caught), which a delivered SIGTERM would have ended. That is
    a command forked just as the signal came: between the fork and the exec, the child still
    has the wrapper's handler, takes the signal there, and the exec drops it. True if sent."""
    if start_ticks is not None and not alive(pid, start_ticks):
        return False
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return False
    bit, sent = 1 << (sig - 1), False
    for child in children:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "Z").strip().startswith("Z"):
            continue
        masks = 0
        for name in _SIGNAL_MASKS:
            masks |= int(fields.get(name, "0").strip() or "0", 16)
        if not masks & bit:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(child), sig)
                sent = True
    return sent


# --- after a restart ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """A main container an earlier executor started: running if ``code`` is None."""

    name: str
    files: ContainerFiles
    pid: int
    start_ticks: int
    code: int | None
    started: float


def find_containers(plan: PodPlan, layout: PodLayout, created: float) -> list[Found] | None:
    """The pod's main containers as an earlier executor left them; None if the pod is lost
    (a container never started, or its process vanished without recording how it ended).
    A lost pod's processes that still run (an init container, say) are killed."""
    found = []
    for name in layout.names(plan):
        files = layout.files(plan, name)
        pid = read_pid(files)
        code = read_exit(files)
        if pid is None or (code is None and not alive(*pid)):
            for other in layout.all_names(plan):
                left = read_pid(layout.files(plan, other))
                if left is not None:
                    kill_group(left[0], left[1], signal.SIGKILL)
            return None
        try:
            started = files.pid.stat().st_mtime
        except OSError:
            started = created
        found.append(Found(name, files, pid[0], pid[1], code, started))
    return found
