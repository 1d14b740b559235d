"""1,000 watchers of one job set while about 1,000 jobs/s are submitted to `armada server`.

Usage: python -m bench.watchers [--watchers 1000] [--rate 1000] [--seconds 30]
                                [--clients 4] [--single 0] [--interval S] [--ceiling]

Starts `armada server` in its own process, creates a queue, and measures its RSS idle. Then
--clients child processes (so that the watchers' memory is not the server's) open --watchers
watch streams of one job set between them (EventBatches, as armada.client and armadactl
watch; --single of them on Armada's api.Event instead, one gRPC message per event), from
the start of the still empty job set. The parent then submits --rate jobs a second for
--seconds seconds (100-job submissions, paced, from 8 threads), sampling the server's RSS.
--ceiling runs the same clients and submissions against `bench.watch_ceiling` instead, a
gRPC server that only turns submissions into pre-built events and streams them: what this
machine allows before Armada does anything.

Each watcher counts what it receives and must receive every event (2 per job: Submitted and
Queued). The delivery latency of a batch is its receipt time minus the creation time of its
first (oldest) event, which the server stamps just before the append; every event of the
batch is counted with that latency (an upper bound). Reported: the server's RSS idle, with
the watchers connected, at its peak and after they left (each also as growth over idle), and
the p50/p99/max latency over every event of every watcher; the CPU time of the server and
of the watcher processes while watched, and the load average (the clients share the
machine with the server: on 2 cores their CPU is the server's too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from armada_client.armada import event_pb2, event_pb2_grpc
from armada_client.client import ArmadaClient

from armada.rpc.gen import event_batches_pb2 as batch_pb
from armada.rpc.gen import event_batches_pb2_grpc as batch_grpc
from bench.harness import BENCH_ENV, free_port, sleep_job_pod

MiB = 2**20
STREAMS_PER_CONNECTION = 100
PER_SUBMISSION = 100
# Threads submitting (one slow answer must not hold the next submission back).
SUBMITTERS = 8
ARMADA = [sys.executable, "-m", "armada.cli.armada_main"]
CLIENT = [sys.executable, "-m", "bench.watchers", "--client"]
CEILING = [sys.executable, "-m", "bench.watch_ceiling"]


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def created(data: bytes) -> float:
    message = event_pb2.EventStreamMessage.FromString(data).message
    stamp = getattr(message, message.WhichOneof("events")).created
    return float(stamp.seconds + stamp.nanos / 1e9)


async def one_watcher(channel: grpc.aio.Channel, single: bool, total: int) -> dict[str, object]:
    """Receive ``total`` events; (latency, events) of each batch."""
    samples: list[tuple[float, int]] = []
    count = 0
    if single:
        stub = event_pb2_grpc.EventStub(channel)
        call = stub.GetJobSetEvents(event_pb2.JobSetRequest(queue="bench", id="w", watch=True))
        async for message in call:
            now = time.time()
            body = message.message
            stamp = getattr(body, body.WhichOneof("events")).created
            samples.append((now - stamp.seconds - stamp.nanos / 1e9, 1))
            count += 1
            if count >= total:
                break
    else:
        batches = batch_grpc.EventBatchesStub(channel)
        call = batches.GetJobSetEventBatches(
            batch_pb.JobSetBatchRequest(queue="bench", id="w", watch=True)
        )
        async for batch in call:
            now = time.time()
            samples.append((now - created(batch.messages[0]), len(batch.messages)))
            count += len(batch.messages)
            if count >= total:
                break
    call.cancel()
    return {"count": count, "samples": samples}


async def client_main(address: str, watchers: int, single: int, total: int, out: Path) -> None:
    connections = max(1, -(-watchers // STREAMS_PER_CONNECTION))
    channels = [
        grpc.aio.insecure_channel(
            address,
            options=[("bench.connection", n), ("grpc.max_receive_message_length", 64 * MiB)],
        )
        for n in range(connections)
    ]
    tasks = [
        asyncio.create_task(one_watcher(channels[n % connections], n < single, total))
        for n in range(watchers)
    ]
    print("opened", flush=True)
    done, pending = await asyncio.wait(tasks, timeout=600)
    for task in pending:
        task.cancel()
    results = [t.result() for t in done if t.exception() is None]
    failures = [repr(t.exception()) for t in done if t.exception() is not None]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = {
        "results": results,
        "failures": failures,
        "timed_out": len(pending),
        "cpu": usage.ru_utime + usage.ru_stime,
    }
    out.write_text(json.dumps(summary))
    for channel in channels:
        await channel.close()


def percentile(samples: list[tuple[float, int]], q: float) -> float:
    """The latency below which a fraction q of the events arrived."""
    ordered = sorted(samples)
    total = sum(n for _, n in ordered)
    seen = 0
    for latency, n in ordered:
        seen += n
        if seen >= q * total:
            return latency
    return ordered[-1][0]


def submit(address: str, jobs: int, rate: float) -> float:
    """Submit ``jobs`` at ``rate``: submission i leaves at i / rate s, from a pool of threads
    (one slow answer must not hold the next submission back)."""
    pod = sleep_job_pod()
    with grpc.insecure_channel(address) as channel, ThreadPoolExecutor(SUBMITTERS) as pool:
        client = ArmadaClient(channel)

        def one() -> None:
            items = [
                client.create_job_request_item(priority=0, pod_spec=pod, namespace="default")
                for _ in range(PER_SUBMISSION)
            ]
            client.submit_jobs("bench", "w", items)

        started = time.perf_counter()
        sent = []
        for start in range(0, jobs, PER_SUBMISSION):
            time.sleep(max(0.0, started + start / rate - time.perf_counter()))
            sent.append(pool.submit(one))
        for future in sent:
            future.result()
        return time.perf_counter() - started


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss(self.pid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(
    data: str, ceiling: bool = False, interval: float | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`armada server` on ``data``, with the queue ``bench``; the process and its address.
    With ``ceiling``, `bench.watch_ceiling` instead: the same calls, nothing behind them."""
    port = free_port()
    env = {**os.environ, **BENCH_ENV}
    if ceiling:
        command = [*CEILING, "--port", str(port)]
        if interval is not None:
            command += ["--interval", str(interval)]
    else:
        command = [*ARMADA, "server", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--data-dir", data]
        if interval is not None:
            env["ARMADA_EVENTS__TAIL_INTERVAL"] = f"{interval * 1000:.0f}ms"
    with (Path(data).parent / "server.log").open("wb") as log:  # shown if the server fails
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    assert "is serving on" in line, line
    address = f"127.0.0.1:{port}"
    with grpc.insecure_channel(address) as channel:
        client = ArmadaClient(channel)
        client.create_queue(client.create_queue_request("bench", 1.0))
    return proc, address


def run(args: argparse.Namespace) -> None:
    jobs = int(args.rate * args.seconds) // PER_SUBMISSION * PER_SUBMISSION
    total = 2 * jobs
    with tempfile.TemporaryDirectory(prefix="armada-watchers-") as tmp:
        server, address = start_server(str(Path(tmp) / "data"), args.ceiling, args.interval)
        clients: list[tuple[subprocess.Popen[bytes], Path]] = []
        try:
            time.sleep(2)
            idle = rss(server.pid)
            per_client = -(-args.watchers // args.clients)
            for c in range(args.clients):
                n = min(per_client, args.watchers - c * per_client)
                single = max(0, min(n, args.single - c * per_client))
                out = Path(tmp) / f"client-{c}.json"
                clients.append(
                    (
                        subprocess.Popen(
                            [*CLIENT, address, str(n), str(single), str(total), str(out)],
                            stdout=subprocess.PIPE,
                        ),
                        out,
                    )
                )
            for proc, _ in clients:
                assert proc.stdout is not None
                assert proc.stdout.readline().decode().strip() == "opened"
            time.sleep(5)  # the streams reach the server
            connected = rss(server.pid)
            cpu_before = cpu_seconds(server.pid)
            load = os.getloadavg()[0]
            sampler = Sampler(server.pid)
            took = submit(address, jobs, args.rate)
            print(f"  submitted {jobs:,} jobs in {took:.1f}s ({jobs / took:,.0f} jobs/s)")
            for proc, _ in clients:
                proc.wait(900)
            sampler.stop()
            server_cpu = cpu_seconds(server.pid) - cpu_before
            load = max(load, os.getloadavg()[0])
            time.sleep(3)  # the server lets the tail go and trims its heap
            left = rss(server.pid)
        except BaseException:
            tail = (Path(tmp) / "server.log").read_text(errors="replace")[-3000:]
            print(f"  the run failed; the server ({server.poll()}) said:\n{tail}", flush=True)
            raise
        finally:
            for proc, _ in clients:  # still running only if something failed
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            server.terminate()
            server.wait(30)
        print(f"  server CPU while watched: {server_cpu:.1f} s; load average up to {load:.1f}")
        report(clients, total, idle, connected, sampler.peak, left, args)


def report(
    clients: list[tuple[subprocess.Popen[bytes], Path]],
    total: int,
    idle: int,
    connected: int,
    peak: int,
    left: int,
    args: argparse.Namespace,
) -> None:
    samples: list[tuple[float, int]] = []
    complete = 0
    problems: list[str] = []
    cpu = 0.0
    for _, out in clients:
        data = json.loads(out.read_text())
        cpu += data["cpu"]
        problems += data["failures"]
        if data["timed_out"]:
            problems.append(f"{data['timed_out']} watchers timed out")
        for result in data["results"]:
            complete += result["count"] >= total
            samples += [tuple(s) for s in result["samples"]]  # type: ignore[misc]
    print(f"  watchers that received all {total:,} events: {complete:,} of {args.watchers:,}")
    print(f"  the {len(clients)} watcher processes' CPU: {cpu:.1f} s")
    for problem in problems[:5]:
        print(f"  problem: {problem}")

    def mib(value: int) -> str:
        return f"{value / MiB:,.0f} MiB"

    print(f"watchers_server_rss_idle: {mib(idle)}")
    print(f"watchers_server_rss_connected: {mib(connected)} (+{mib(connected - idle)})")
    print(f"watchers_server_rss_peak: {mib(peak)} (+{mib(peak - idle)}; target: <= +300 MiB)")
    print(f"watchers_server_rss_after: {mib(left)} (+{mib(left - idle)})")
    print(
        f"watchers_delivery_latency: p50 {percentile(samples, 0.5):.3f}s, "
        f"p99 {percentile(samples, 0.99):.3f}s, max {max(s[0] for s in samples):.3f}s "
        "(target: every event within 2 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--single", type=int, default=0, help="watchers on api.Event")
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="against bench.watch_ceiling (a server that only streams) instead of armada",
    )
    parser.add_argument(
        "--interval", type=float, help="the tail interval, in seconds (default: the server's)"
    )
    parser.add_argument("--client", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        address, watchers, single, total, out = args.client
        asyncio.run(client_main(address, int(watchers), int(single), int(total), Path(out)))
        return
    run(args)


if __name__ == "__main__":
    main()
