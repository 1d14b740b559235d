"""One watcher reading a job set of 100,000 events from `armada dev`.

Usage: python -m bench.watch_throughput [--jobs 50000] [--runs 3]

Submits --jobs jobs into one job set (each gives Submitted + Queued: 2 events per job), then
times a watcher replaying the whole job set, three ways, in the same run:

* batched: `armada.client` (what armadactl uses), which reads our EventBatches stream (the same
  EventStreamMessages, many to a gRPC message) -- the figure against the target;
* one by one: a raw stub on Armada's api.Event (what Armada's own clients use), one gRPC
  message per event;
* the ceiling of one by one: the same reader on ready-made messages from a bare grpcio server
  that does nothing but stream them (grpcio in Python costs ~100 us per message at each end,
  whatever the server does).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.experimental
from armada_client.armada import event_pb2, event_pb2_grpc
from armada_client.client import ArmadaClient

from bench.harness import armada_dev, free_port, median, sleep_job_pod

CHANNEL_OPTIONS = [
    (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1),
    ("grpc.max_receive_message_length", 64 * 2**20),
]


def read_all(address: str, queue: str, job_set: str) -> tuple[int, float]:
    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        stub = event_pb2_grpc.EventStub(channel)
        started = time.perf_counter()
        count = 0
        for _ in stub.GetJobSetEvents(event_pb2.JobSetRequest(queue=queue, id=job_set)):
            count += 1
        return count, time.perf_counter() - started


def _bare_server(port: int, count: int, ready: Any) -> None:
    template = event_pb2.EventStreamMessage()
    queued = template.message.queued
    queued.job_id, queued.job_set_id, queued.queue = "01kbench0000000000000000000", "s", "q"
    messages = []
    for i in range(count):
        message = event_pb2.EventStreamMessage()
        message.CopyFrom(template)
        message.id = f"{i}:0"
        messages.append(message)

    class Bare(event_pb2_grpc.EventServicer):  # type: ignore[misc]
        async def GetJobSetEvents(
            self, request: Any, context: Any
        ) -> AsyncIterator[event_pb2.EventStreamMessage]:
            for message in messages:
                yield message

    async def serve() -> None:
        server = grpc.aio.server()
        event_pb2_grpc.add_EventServicer_to_server(Bare(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        ready.set()
        await server.wait_for_termination()

    asyncio.run(serve())


def bare_transport(count: int) -> float:
    port = free_port()
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=_bare_server, args=(port, count, ready), daemon=True)
    proc.start()
    ready.wait(60)
    try:
        got, seconds = read_all(f"127.0.0.1:{port}", "q", "s")
        assert got == count
        return got / seconds
    finally:
        proc.terminate()
        proc.join()


def read_batched(address: str, queue: str, job_set: str) -> tuple[int, float]:
    """The job set through armada.client (what armadactl uses): EventBatches."""
    from armada.client import Client, ConnectionDetails

    with Client.connect(ConnectionDetails(url=address)) as client:
        started = time.perf_counter()
        count = sum(1 for _ in client.job_set_events(queue, job_set))
        return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    one_by_one: list[float] = []
    bare: list[float] = []
    batched: list[float] = []
    with armada_dev("--clusters", "0") as address, grpc.insecure_channel(address) as channel:
        client = ArmadaClient(channel)
        client.create_queue(client.create_queue_request("bench", 1.0))
        pod = sleep_job_pod()
        for i in range(args.jobs // 1000):
            items = [
                client.create_job_request_item(priority=0, pod_spec=pod, namespace="default")
                for _ in range(1000)
            ]
            client.submit_jobs("bench", "watched", items)
            if (i + 1) % 10 == 0:
                print(f"  submitted {(i + 1) * 1000:,} jobs", flush=True)
        for run in range(args.runs):
            got, seconds = read_batched(address, "bench", "watched")
            batched.append(got / seconds)
            count, seconds = read_all(address, "bench", "watched")
            assert count == got
            one_by_one.append(count / seconds)
            bare.append(bare_transport(count))
            print(
                f"run {run + 1}: {count:,} events; batched {batched[-1]:,.0f}/s, one by one "
                f"{one_by_one[-1]:,.0f}/s, bare grpcio one by one {bare[-1]:,.0f}/s",
                flush=True,
            )
    print(f"watch_one_by_one_bare_grpc_ceiling: {median(bare):,.0f} events/s (median)")
    print(f"watch_one_by_one_api_event: {median(one_by_one):,.0f} events/s (median)")
    print(f"watch_throughput: {median(batched):,.0f} events/s (target: >= 50,000)")


if __name__ == "__main__":
    main()
