"""Before and after: one scheduler benchmark run from two commits, alternately, paired.

The scheduler benchmarks differ by up to ±15 % from one process to the next on these machines
even with nothing else running: the hash seed changes the order of every dict and set of
strings, and address-space randomisation the layout of the heap. Comparing two medians of a
few processes each then says little about a 5 % difference. This runs the same benchmark from
both commits with the same hash seed (``PYTHONHASHSEED=1, 2, ...``) and randomisation off
(``setarch -R``), alternately (before, after, before, after: the machine's own drift falls on
both), pinned to one CPU when ``--cpu`` is given; it prints each pair and the median of the
ratios after/before, with the median time of each side.

Each commit is checked out into a temporary worktree of this repository and run with
``PYTHONPATH`` at its ``src`` on this virtual environment (so both use the same Python and
libraries; a commit that changed the dependencies is not comparable this way). The benchmark
scripts are this checkout's (``bench/``), so both commits are timed by the same harness; the
scheduling core's API they call must exist in both.

Each process gives two figures, both compared: the round's wall time and its CPU time (this
process's, from ``time.process_time``). On a virtual machine whose host takes the CPU away now
and then, the guest does not count the stolen time as the process's, so CPU time should vary
less from one process to the next (cache misses caused by neighbours remain in both).

Run: .venv/bin/python -m bench.compare_commits BEFORE AFTER [--bench scheduler_place ...]
     [--seeds 8] [--runs 5] [--cpu 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEDULER_BENCHMARKS = (
    "scheduler_place",
    "scheduler_preempt",
    "scheduler_fairshare_preempt",
    "scheduler_million",
)
_FIGURES = {
    "wall": re.compile(r"^scheduler_\w+: ([0-9.]+) s", re.MULTILINE),
    "cpu": re.compile(r"^  round CPU median: ([0-9.]+) s", re.MULTILINE),
}


def worktree(commit: str, stack: ExitStack) -> Path:
    """A detached worktree of ``commit`` in a temporary directory, removed at the end."""
    where = Path(tempfile.mkdtemp(prefix="armada-compare-"))
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(where), commit],
        check=True,
    )

    def remove() -> None:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(where)], check=False
        )
        shutil.rmtree(where, ignore_errors=True)

    stack.callback(remove)
    return where


def run_once(tree: Path, bench: str, seed: int, runs: int, cpu: int | None) -> dict[str, float]:
    """One process of ``bench`` on ``tree``'s core: its median round, wall and CPU, in seconds."""
    command = [sys.executable, "-m", f"bench.{bench}", "--runs", str(runs)]
    if shutil.which("setarch"):
        command = ["setarch", platform.machine(), "-R", *command]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": f"{tree}/src"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    found = {measure: pattern.search(done.stdout) for measure, pattern in _FIGURES.items()}
    if done.returncode != 0 or None in found.values():
        raise SystemExit(f"{bench} at {tree} failed:\n{done.stdout}\n{done.stderr}")
    return {measure: float(match.group(1)) for measure, match in found.items() if match}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--bench", nargs="+", default=list(SCHEDULER_BENCHMARKS))
    parser.add_argument("--seeds", type=int, default=8, help="pairs per benchmark")
    parser.add_argument("--runs", type=int, default=5, help="rounds per process (median)")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU (taskset)")
    args = parser.parse_args()
    unknown = set(args.bench) - set(SCHEDULER_BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; known: {SCHEDULER_BENCHMARKS}")
    with ExitStack() as stack:
        trees = {name: worktree(name, stack) for name in (args.before, args.after)}
        before, after = trees[args.before], trees[args.after]
        for bench in args.bench:
            pairs: list[tuple[dict[str, float], dict[str, float]]] = []
            for seed in range(1, args.seeds + 1):
                b = run_once(before, bench, seed, args.runs, args.cpu)
                a = run_once(after, bench, seed, args.runs, args.cpu)
                pairs.append((b, a))
                print(
                    f"  {bench} seed {seed}: before {b['wall']:.3f} s (CPU {b['cpu']:.3f} s),"
                    f" after {a['wall']:.3f} s (CPU {a['cpu']:.3f} s)",
                    flush=True,
                )
            for measure in _FIGURES:
                ratio = statistics.median(a[measure] / b[measure] for b, a in pairs)
                print(
                    f"{bench} ({measure}): before"
                    f" {statistics.median(b[measure] for b, _ in pairs):.3f} s, after"
                    f" {statistics.median(a[measure] for _, a in pairs):.3f} s, median ratio of"
                    f" pairs {ratio:.3f} ({(ratio - 1) * 100:+.1f} %), {len(pairs)} pairs",
                    flush=True,
                )


if __name__ == "__main__":
    main()
