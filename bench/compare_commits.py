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
libraries; a commit that changed the dependencies is not comparable this way).

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
_FIGURE = re.compile(r"^(scheduler_\w+): ([0-9.]+) s", re.MULTILINE)


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


def run_once(tree: Path, bench: str, seed: int, runs: int, cpu: int | None) -> float:
    """One process of ``bench`` from ``tree``: the median round it prints, in seconds."""
    command = [sys.executable, "-m", f"bench.{bench}", "--runs", str(runs)]
    if shutil.which("setarch"):
        command = ["setarch", platform.machine(), "-R", *command]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": f"{tree}/src:{tree}"}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    found = _FIGURE.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{bench} at {tree} failed:\n{done.stdout}\n{done.stderr}")
    return float(found.group(2))


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
            pairs: list[tuple[float, float]] = []
            for seed in range(1, args.seeds + 1):
                b = run_once(before, bench, seed, args.runs, args.cpu)
                a = run_once(after, bench, seed, args.runs, args.cpu)
                pairs.append((b, a))
                print(f"  {bench} seed {seed}: before {b:.3f} s, after {a:.3f} s", flush=True)
            ratio = statistics.median(a / b for b, a in pairs)
            print(
                f"{bench}: before {statistics.median(b for b, _ in pairs):.3f} s, after"
                f" {statistics.median(a for _, a in pairs):.3f} s, median ratio of pairs"
                f" {ratio:.3f} ({(ratio - 1) * 100:+.1f} %), {len(pairs)} pairs",
                flush=True,
            )


if __name__ == "__main__":
    main()
