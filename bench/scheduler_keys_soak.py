"""Soak: jobs that each have their own shape, through the job database; does memory stay flat?

Every job asks for its own amount of memory, so each is a scheduling key of its own (the
workload of issue #13, point 5). Waves of --wave such jobs are submitted to a job database in
this process (``SubmitJob`` events, through ``WriteTxn.apply`` as the scheduler service applies
the log), checked by a ``SubmitChecker`` (``JobValidated``), scheduled by rounds of the
scheduling core on --nodes 32-CPU nodes, and run to success (leased, running, succeeded), until
--jobs jobs have gone through. As in the service, each round's snapshot is kept until the next
round. After each wave the cyclic collector runs and the process RSS is sampled, with the
sizes of the key and group tables.

Prints one line per wave and ends with the RSS growth from the end of wave --steady to the end
of the last wave. ``--no-reclaim`` turns reclamation off (the tables only grow, as before), as
the comparison.

Run: .venv/bin/python -m bench.scheduler_keys_soak [--jobs 1000000] [--wave 20000]
"""

from __future__ import annotations

import argparse
import gc
import time

from armada.domain import events as ev
from armada.domain.jobs import JobSpec, SchedulingRequirements
from armada.scheduling import JobDb, SchedulingSnapshot, schedule
from armada.scheduling.gcpause import gc_paused
from armada.scheduling.keys import GroupTable, KeyTable
from armada.scheduling.submitcheck import SubmitChecker
from bench import scheduler_world as world


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1_000_000, help="jobs in all")
    parser.add_argument("--wave", type=int, default=20_000, help="jobs submitted per wave")
    parser.add_argument("--nodes", type=int, default=200, help="32-CPU nodes")
    parser.add_argument("--queues", type=int, default=10)
    parser.add_argument("--steady", type=int, default=5, help="wave after which RSS is steady")
    parser.add_argument("--no-reclaim", action="store_true", help="never forget keys")
    return parser.parse_args()


def shaped_spec(n: int, queue: str) -> JobSpec:
    """Job ``n``: 1 CPU and 4Gi plus n bytes of memory, a shape no other job has."""
    req = SchedulingRequirements(
        resources={"cpu": world.CPU, "memory": 4 * world.GI + n * 1000},
        priority_class="armada-default",
    )
    return world.spec(f"job-{n:08d}", queue, req, world.T0 + n * 1e-3)


def seq(events: list[ev.Event], at: float) -> ev.EventSequence:
    return ev.EventSequence(queue="", job_set="bench", user="bench", created=at, events=events)


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.config = world.settings()
        self.db = JobDb(self.config.domain_priority_classes())
        self.nodes = world.nodes(args.nodes)
        self.queues = world.make_queues(args.queues)
        self.checker = SubmitChecker(self.nodes, self.config)
        self.submitted = 0
        self.runs = 0
        self.rounds = 0
        self.round_seconds = 0.0
        self.kept: SchedulingSnapshot | None = None  # the last round's snapshot, as the service

    def submit_wave(self) -> None:
        args, at = self.args, world.T0 + self.submitted * 1e-3
        names = [q.name for q in self.queues]
        specs = [
            shaped_spec(n, names[n % len(names)])
            for n in range(self.submitted, min(self.submitted + args.wave, args.jobs))
        ]
        self.submitted += len(specs)
        self.db.apply([seq([ev.SubmitJob(spec=s) for s in specs], at)])
        snap = self.db.read()
        validated: list[ev.Event] = []
        for s in specs:
            job = snap[s.job_id]
            result = self.checker.check_submittable(job.spec.requirements, job.spec.gang)
            assert result.ok, result.reason
            validated.append(ev.JobValidated(job_id=s.job_id, pools=result.pools))
        self.db.apply([seq(validated, at)])

    def run_until_drained(self) -> None:
        while self.db.read().has_queued():
            snapshot = SchedulingSnapshot(
                jobs=self.db.read(), nodes=self.nodes, queues=self.queues, now=world.T0 + 1e6
            )
            start = time.perf_counter()
            with gc_paused():
                result = schedule(snapshot, self.config, monotonic=time.monotonic)
            self.round_seconds += time.perf_counter() - start
            self.rounds += 1
            self.kept = snapshot
            assert result.leases, "a round on empty nodes leased nothing"
            leased: list[ev.Event] = []
            done: list[ev.Event] = []
            for lease in result.leases:
                self.runs += 1
                run_id = f"run-{self.runs}"
                leased.append(
                    ev.JobRunLeased(
                        job_id=lease.job_id,
                        run_id=run_id,
                        executor=lease.executor,
                        node=lease.node,
                        pool=lease.pool,
                    )
                )
                done += [
                    ev.JobRunRunning(job_id=lease.job_id, run_id=run_id),
                    ev.JobRunSucceeded(job_id=lease.job_id, run_id=run_id),
                    ev.JobSucceeded(job_id=lease.job_id),
                ]
            at = world.T0 + self.rounds
            self.db.apply([seq(leased, at)])
            self.db.apply([seq(done, at + 0.5)])


def main() -> None:
    args = parse_args()
    if args.no_reclaim:

        def never(self: KeyTable, oldest_version: int, groups: GroupTable) -> int:
            return 0

        KeyTable.reclaim = never  # type: ignore[method-assign]
    soak = Soak(args)
    gc.collect()
    print(f"RSS at start: {world.rss_mib():.0f} MiB", flush=True)
    samples: list[float] = []
    started = time.perf_counter()
    wave = 0
    while soak.submitted < args.jobs:
        wave += 1
        soak.submit_wave()
        soak.run_until_drained()
        gc.collect()
        rss = world.rss_mib()
        samples.append(rss)
        db = soak.db
        print(
            f"wave {wave}: {soak.submitted:,} jobs done, RSS {rss:.0f} MiB, "
            f"keys {len(db.keys):,} groups {len(db.groups):,} (forgotten {db.keys_reclaimed:,}), "
            f"{soak.rounds} rounds ({soak.round_seconds:.0f} s), "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
    steady = min(args.steady, len(samples)) - 1
    growth = samples[-1] - samples[steady]
    after = soak.submitted - args.wave * (steady + 1)
    mode = "without reclamation" if args.no_reclaim else "with reclamation"
    print(
        f"RSS min/max after wave {steady + 1}: {min(samples[steady:]):.0f}/"
        f"{max(samples[steady:]):.0f} MiB; peak {world.peak_rss_mib():.0f} MiB"
    )
    print(
        f"scheduler_keys_soak: {growth:+.0f} MiB RSS over the last {after:,} of "
        f"{soak.submitted:,} distinct-shape jobs, {mode} (target: flat)"
    )


if __name__ == "__main__":
    main()
