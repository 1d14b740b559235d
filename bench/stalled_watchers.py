"""1,000 event streams that are opened and never read, on a job set of 20,000 events.

Usage: python -m bench.stalled_watchers [--streams 1000] [--jobs 10000] [--seconds 10]

Starts `armada server`, submits --jobs jobs into one job set (2 events each) and measures the
server's RSS (idle, with the job set stored). A child process then opens --streams watch
streams of the job set from its start, half on EventBatches and half on Armada's api.Event,
and never reads them. After --seconds (the server has written what flow control lets through
and its writes wait) the server's RSS is measured, the child is killed (its connections drop,
the server cancels the streams) and the RSS measured again a few seconds later.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from armada_client.armada import event_pb2, event_pb2_grpc

from armada.rpc.gen import event_batches_pb2 as batch_pb
from armada.rpc.gen import event_batches_pb2_grpc as batch_grpc
from bench.watchers import STREAMS_PER_CONNECTION, MiB, Sampler, rss, start_server, submit

CLIENT = [sys.executable, "-m", "bench.stalled_watchers", "--client"]


async def open_and_never_read(address: str, streams: int) -> None:
    connections = max(1, -(-streams // STREAMS_PER_CONNECTION))
    channels = [
        grpc.aio.insecure_channel(address, options=[("bench.connection", n)])
        for n in range(connections)
    ]
    calls = []
    for n in range(streams):
        channel = channels[n % connections]
        if n % 2:
            request = event_pb2.JobSetRequest(queue="bench", id="w", watch=True)
            calls.append(event_pb2_grpc.EventStub(channel).GetJobSetEvents(request))
        else:
            batches = batch_pb.JobSetBatchRequest(queue="bench", id="w", watch=True)
            calls.append(batch_grpc.EventBatchesStub(channel).GetJobSetEventBatches(batches))
    print("opened", flush=True)
    await asyncio.Event().wait()  # until killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--client", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(open_and_never_read(args.client[0], int(args.client[1])))
        return
    with tempfile.TemporaryDirectory(prefix="armada-stalled-") as tmp:
        server, address = start_server(str(Path(tmp) / "data"))
        try:
            submit(address, args.jobs, rate=1e9)
            time.sleep(2)
            idle = rss(server.pid)
            sampler = Sampler(server.pid)
            child = subprocess.Popen(
                [*CLIENT, address, str(args.streams)],
                stdout=subprocess.PIPE,
            )
            assert child.stdout is not None
            assert child.stdout.readline().decode().strip() == "opened"
            time.sleep(args.seconds)
            stalled = rss(server.pid)
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            child.stdout.close()
            time.sleep(5)
            sampler.stop()
            left = rss(server.pid)
        finally:
            server.terminate()
            server.wait(30)

    def mib(value: int) -> str:
        return f"{value / MiB:,.0f} MiB"

    print(f"stalled_server_rss_idle: {mib(idle)} ({args.jobs:,} jobs stored)")
    peak = sampler.peak - idle
    print(f"stalled_server_rss: {mib(stalled)} (+{mib(stalled - idle)}), peak +{mib(peak)}")
    print(f"stalled_server_rss_after_cancel: {mib(left)} (+{mib(left - idle)})")


if __name__ == "__main__":
    main()
