"""The web UI keeps up with 1,000 job state changes a second while a user browses (issue 11).

Usage: python -m bench.lookout_ui_live [--rate 250] [--seconds 60] [--warmup 5]
                                       [--runtime 1s] [--job-sets 4] [--nodes 100]
                                       [--prefill N] [--prefill-queues 5] [--prefill-sets 1000]
                                       [--postgres]

Starts `armada dev` (one simulated cluster of --nodes 32-CPU nodes, SQLite, scheduling rate
limits raised as in bench.dev_load) with its HTTP side on a known port; --postgres: on a fresh
schema in the PostgreSQL server at ARMADA_TEST_POSTGRES_DSN (as the tests do) instead.
--prefill N first puts N finished jobs in the store through the API, in batches of 1,000 over
--prefill-queues cordoned queues `farm-*` and --prefill-sets job sets, cancelled by job set
(bench/ui_live_prefill.py), and waits until the Lookout API counts them all cancelled: the
jobs page's unfiltered first page and its groups then work over the whole store. Then 200 jobs
sleeping an hour go into the queue `steady`, and --rate jobs a second sleeping --runtime into
the queue `load` (spread over --job-sets job sets, paced submissions of a tenth of a second's
worth, through armada-client) for --seconds seconds: each job makes five state changes
(queued, leased, pending, running, succeeded), so 250 jobs/s make 1,250 changes a second.
Every change is read back from the job sets' event streams (their `created` times): the rate
achieved is counted there, over the window the browser measures.

After --warmup seconds of load, headless Chromium opens /jobs (live refresh on, every 2 s) and
a user browses until the load ends (see bench/ui_live_user.py): scrolls, selects and lets
refreshes pass, filters by queue and state, groups by job set, keeps a place among the long
jobs, opens a job's page and goes back. The page records (bench/lookout_ui_live.js) the jobs it
shows, every API request's duration, requests aborted before their answer, long tasks and
frames.

Reported: the state changes a second achieved; the table's staleness (per sample of the table,
how long ago the log moved its most behind row past the state shown) and the delay of what a
live refresh brought (the log's change to the first sample showing it); the API's request
durations per route; long tasks and frames; whether scroll position and selection survived
refreshes; console errors; failed user steps; CPU of `armada dev` and of Chromium; the load
average. The ceilings, measured in the same run once the load is over, over HTTP on the then idle
server (median of 20): the jobs page's first query, unfiltered, in the queue `load` and in the
prefill's first queue, and its groups by job set, in the queue `load` and over the whole store.

Pass: >= 1,000 changes/s achieved; every table refresh (jobs, jobGroups) answered within the
refresh interval and none given up after waiting a whole interval; staleness p99 <= 2 x the
refresh interval; scroll and selection kept every time; no console error; no failed step.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
from armada_client.armada import event_pb2, submit_pb2
from armada_client.client import ArmadaClient
from tests.postgres_support import fresh_schema

from armada.rpc.gen import event_batches_pb2 as batch_pb
from armada.rpc.gen import event_batches_pb2_grpc as batch_grpc
from bench.dev_load import CONFIG
from bench.harness import armada_dev, free_port, median, sleep_job_pod
from bench.ui_live_figures import STATE_OF_EVENT, Timelines, percentile, spread, staleness
from bench.ui_live_prefill import PREFIX, Prefill
from bench.ui_live_user import Recording, browse, browsing

REFRESH_S = 2.0  # the jobs page's live refresh (web/src/pages/JobsPage.tsx)
BUSY, STEADY = "load", "steady"
TABLE_ROUTES = ("/api/v1/jobs", "/api/v1/jobGroups")
FIRST_PAGE = {
    "filters": [],
    "order": {"field": "submitted", "direction": "DESC"},
    "activeJobSets": False,
    "skip": 0,
    "take": 51,
}
BUSY_FILTER = [{"field": "queue", "match": "exact", "value": BUSY, "isAnnotation": False}]
GROUPS = {  # the jobs page grouped by job set (web/src/pages/JobGroups.tsx)
    "groupedField": {"field": "jobSet", "isAnnotation": False},
    "order": {"field": "count", "direction": "DESC"},
    "activeJobSets": False,
    "aggregates": ["state"],
    "skip": 0,
    "take": 200,
}
# The ceilings: the idle server's answer to what the page asks most (route, body).
CEILINGS = {
    "first page": ("jobs", FIRST_PAGE),
    "first page, queue load": ("jobs", {**FIRST_PAGE, "filters": BUSY_FILTER}),
    "first page, queue farm-0 (--prefill)": (
        "jobs",
        {**FIRST_PAGE, "filters": [{**BUSY_FILTER[0], "value": f"{PREFIX}0"}]},
    ),
    "groups by job set, queue load": ("jobGroups", {**GROUPS, "filters": BUSY_FILTER}),
    "groups by job set, whole store": ("jobGroups", {**GROUPS, "filters": []}),
}


def follow(address: str, queue: str, job_set: str, timelines: Timelines) -> grpc.Future:
    """A thread reading the job set's events (watching) into ``timelines``; the call, to
    cancel."""
    channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 2**26)])
    call = batch_grpc.EventBatchesStub(channel).GetJobSetEventBatches(
        batch_pb.JobSetBatchRequest(queue=queue, id=job_set, watch=True)
    )

    def read() -> None:
        try:
            for batch in call:
                for data in batch.messages:
                    message = event_pb2.EventStreamMessage.FromString(data).message
                    kind = message.WhichOneof("events")
                    state = STATE_OF_EVENT.get(kind or "")
                    if state is not None:
                        body = getattr(message, kind or "")
                        at = body.created.seconds + body.created.nanos / 1e9
                        timelines.add(body.job_id, state, at)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                raise
        finally:
            channel.close()

    threading.Thread(target=read, daemon=True).start()
    return call  # type: ignore[no-any-return]


def submit(
    client: ArmadaClient, queue: str, job_set: str, count: int, args: list[str]
) -> list[str]:
    pod = sleep_job_pod()
    pod.containers[0].args[:] = args
    items = [
        client.create_job_request_item(priority=0, pod_spec=pod, namespace="default")
        for _ in range(count)
    ]
    return [r.job_id for r in client.submit_jobs(queue, job_set, items).job_response_items]


class Load:
    """Submits ``rate`` jobs a second for ``seconds`` in a thread; samples the load average."""

    def __init__(self, client: ArmadaClient, args: argparse.Namespace) -> None:
        self.client = client
        self.args = args
        self.ids: list[str] = []
        self.loads: list[float] = []
        self.late = 0.0  # how far the submissions fell behind their schedule at worst (s)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        args = self.args
        per_tick = max(1, round(args.rate / 10))
        ticks = int(args.seconds * 10)
        command = ["sleep", args.runtime]
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            futures = []
            for tick in range(ticks):
                due = started + tick / 10
                time.sleep(max(0.0, due - time.perf_counter()))
                self.late = max(self.late, time.perf_counter() - due)
                job_set = f"set-{tick % args.job_sets}"
                futures.append(pool.submit(submit, self.client, BUSY, job_set, per_tick, command))
                if tick % 50 == 0:
                    self.loads.append(os.getloadavg()[0])
            for future in futures:
                self.ids += future.result()
        self.loads.append(os.getloadavg()[0])


def descendants() -> dict[int, str]:
    """This process's descendants: pid -> command line."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            )
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    mine, frontier = {}, {os.getpid()}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier and p not in mine}
        mine.update({p: commands[p] for p in frontier})
    return mine


def cpu_by_kind() -> dict[str, float]:
    """CPU seconds so far of `armada dev` and of Chromium (all its processes)."""
    totals = {"armada dev": 0.0, "chromium": 0.0}
    for pid, command in descendants().items():
        kind = (
            "armada dev" if "armada_main" in command else "chromium" if "chrom" in command else ""
        )
        if not kind:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        totals[kind] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return totals


def answer_ms(http_url: str, route: str, body: dict[str, object]) -> float:
    request = urllib.request.Request(
        f"{http_url}/api/v1/{route}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request) as answer:
        answer.read()
    return (time.perf_counter() - started) * 1000


@dataclass
class Surroundings:
    """What the run measured beside the page: its window, CPU, load averages, the ceiling."""

    window: tuple[float, float]  # when the browser measured (wall clock)
    cpu: dict[str, float]  # CPU seconds in the window, by process kind
    loads: list[float]  # 1-minute load averages sampled during the load
    ceiling: dict[str, float]  # ms, CEILINGS' queries on the idle server (median)


def report(timelines: Timelines, record: Recording, around: Surroundings) -> bool:
    start, end = around.window
    cpu, loads, ceiling = around.cpu, around.loads, around.ceiling
    rate = timelines.rate(start, end)
    stale = staleness(timelines, record.samples)
    table = [ms for r, _, ms in record.requests if r in TABLE_ROUTES]
    # A table refresh given up after waiting a whole interval: the UI before this benchmark
    # aborted it for the next one (now it waits); a change of view can also abort it.
    given_up = [r for r, _, ms in record.aborted if r in TABLE_ROUTES and ms >= REFRESH_S * 1000]
    seconds = end - start
    print(
        f"window: {seconds:.0f} s, {record.rounds} rounds of browsing; load average "
        f"{min(loads):.1f}-{max(loads):.1f}"
    )
    print(f"state changes in the log: {rate:,.0f}/s ({timelines.counts(start, end)})")
    routes = sorted({r for r, _, _ in record.requests})
    for route in routes:
        print(f"  {route}: {spread([ms for r, _, ms in record.requests if r == route])}")
    print(
        f"  aborted before their answer: {len(record.aborted)} (the view changed), of which "
        f"table refreshes waiting {REFRESH_S:.0f} s or more: {len(given_up)}"
    )
    print(
        f"staleness of the table, per sample: {spread(stale.sample_lags, 'ms', 1000)}; rows "
        f"behind the log {stale.stale_rows:,} of {stale.rows:,}; rows in a state the log "
        f"lacked {stale.unknown_rows}"
    )
    print(f"delay of what a refresh brought (log -> table): {spread(stale.delays, 'ms', 1000)}")
    long_ms = [ms for _, ms in record.long_tasks]
    print(
        f"long tasks: {len(long_ms)}, {sum(long_ms) / seconds / 10:.1f} % of the time; "
        f"{spread(long_ms)}"
    )
    gaps = [ms for _, ms in record.frame_gaps]
    print(
        f"frames: {record.frames / seconds:.0f}/s; gaps over 50 ms: {len(gaps)}, "
        f"longest {max(gaps, default=0):.0f} ms"
    )
    kept = [k for k in record.kept_place if k != "ok"]
    print(
        f"scroll and selection kept: {len(record.kept_place) - len(kept)} of "
        f"{len(record.kept_place)}{': ' + ' | '.join(kept) if kept else ''}"
    )
    for name, durations in record.steps.items():
        print(f"  step {name}: {len(durations)}, median {median(durations):.1f} s")
    print(f"failed steps: {len(record.failed_steps)}")
    for failure in record.failed_steps[:10]:
        print(f"  {failure}")
    print(f"console errors: {len(record.console_errors)}")
    for message in record.console_errors[:10]:
        print(f"  {message}")
    print(
        f"CPU: armada dev {cpu['armada dev'] / seconds:.2f} cores, chromium "
        f"{cpu['chromium'] / seconds:.2f} cores"
    )
    for name, ms in ceiling.items():
        print(f"ceiling: {name}, on the idle server after the load: {ms:.1f} ms")
    p99 = percentile(stale.sample_lags, 0.99)
    checks = {
        ">= 1,000 changes/s": rate >= 1000,
        f"every table refresh within {REFRESH_S:.0f} s": bool(table)
        and max(table) <= REFRESH_S * 1000,
        "no table refresh given up after a whole interval": not given_up,
        f"staleness p99 <= {2 * REFRESH_S:.0f} s": bool(stale.sample_lags) and p99 <= 2 * REFRESH_S,
        "scroll and selection kept": bool(record.kept_place) and not kept,
        "no console error": not record.console_errors,
        "no failed step": not record.failed_steps,
    }
    for name, ok in checks.items():
        print(f"  {'met' if ok else 'MISSED'}: {name}")
    passed = all(checks.values())
    print(f"lookout_ui_live_rate: {rate:,.0f} changes/s (target: >= 1,000)")
    print(
        f"lookout_ui_live_table_refresh_max: {max(table, default=0):,.0f} ms "
        f"(target: <= {REFRESH_S * 1000:,.0f} ms)"
    )
    print(
        f"lookout_ui_live_staleness_p99: {p99:.2f} s (target: <= {2 * REFRESH_S:.0f} s); "
        f"{'PASS' if passed else 'FAIL'}"
    )
    return passed


def prefill(client: ArmadaClient, http_url: str, args: argparse.Namespace) -> None:
    def items(count: int) -> list[submit_pb2.JobSubmitRequestItem]:
        pod = sleep_job_pod()
        return [
            client.create_job_request_item(priority=0, pod_spec=pod, namespace="default")
            for _ in range(count)
        ]

    fill = Prefill(client, http_url, items, args.prefill, args.prefill_queues, args.prefill_sets)
    seconds = fill.run()
    print(
        f"  prefill: {args.prefill:,} cancelled jobs in {args.prefill_queues} queues and "
        f"{min(args.prefill_sets, -(-args.prefill // 1000)):,} job sets took {seconds:.0f} s "
        f"({args.prefill / seconds:,.0f} jobs/s); load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def run(args: argparse.Namespace, config: Path, store: dict[str, str]) -> bool:
    http_port = free_port()
    http_url = f"http://127.0.0.1:{http_port}"
    dev = ("--clusters", "1", "--nodes-per-cluster", str(args.nodes), "--config", str(config))
    with (
        armada_dev(*dev, env={"ARMADA_HTTP__PORT": str(http_port), **store}) as address,
        grpc.insecure_channel(address) as channel,
    ):
        client = ArmadaClient(channel)
        if args.prefill:
            prefill(client, http_url, args)
        for queue in (BUSY, STEADY):
            client.create_queue(client.create_queue_request(queue, 1.0))
        timelines = Timelines()
        calls = [follow(address, STEADY, "steady", timelines)]
        calls += [follow(address, BUSY, f"set-{i}", timelines) for i in range(args.job_sets)]
        submit(client, STEADY, "steady", 200, ["sleep", "3600"])
        load = Load(client, args)
        load.thread.start()
        print(f"  load: {args.rate:,.0f} jobs/s for {args.seconds:.0f} s", flush=True)
        time.sleep(args.warmup)
        record = Recording()
        until = time.time() + args.seconds - args.warmup
        with browsing(http_url) as page:
            start, cpu_before = time.time(), cpu_by_kind()
            browse(page, record, until, BUSY, STEADY)
            end = time.time()
            cpu = {k: v - cpu_before[k] for k, v in cpu_by_kind().items()}
        load.thread.join()
        print(
            f"  submitted {len(load.ids):,} jobs; submissions at worst {load.late:.2f} s late",
            flush=True,
        )
        deadline = time.monotonic() + 120
        while timelines.finished(load.ids) < len(load.ids) and time.monotonic() < deadline:
            time.sleep(1)
        print(f"  {timelines.finished(load.ids):,} finished", flush=True)
        for call in calls:
            call.cancel()
        ceiling = {
            name: median([answer_ms(http_url, route, body) for _ in range(21)][1:])
            for name, (route, body) in CEILINGS.items()
        }
        return report(timelines, record, Surroundings((start, end), cpu, load.loads, ceiling))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=250.0, help="jobs submitted a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load lasts")
    parser.add_argument("--warmup", type=float, default=5.0, help="load before the browser opens")
    parser.add_argument("--runtime", default="1s", help="how long each job sleeps")
    parser.add_argument("--job-sets", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=100, help="32-CPU simulated nodes")
    parser.add_argument("--prefill", type=int, default=0, help="finished jobs put in first")
    parser.add_argument("--prefill-queues", type=int, default=5)
    parser.add_argument("--prefill-sets", type=int, default=1000, help="job sets of the prefill")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL schema")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "load.yaml"
        config.write_text(CONFIG)
        if not args.postgres:
            run(args, config, {})
            return
        with fresh_schema() as url:
            run(args, config, {"ARMADA_STORAGE__STORE": url})


if __name__ == "__main__":
    main()
