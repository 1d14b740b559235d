"""The ceiling of `bench.watchers`: a gRPC server that does nothing but stream events.

Usage: python -m bench.watch_ceiling --port PORT [--interval 0.25]

It serves what the watchers benchmark calls, with none of Armada behind it:
``SubmitJobs`` parses the request and turns each item into the two events the real server
would send (Submitted with the job, Queued; the same size), built once per request from
templates, stamped with the time of the call; ``CreateQueue`` does nothing;
``GetJobSetEventBatches`` streams every event from the start, then new ones as they come,
gathered every ``--interval`` seconds into one batch whose bytes every watcher shares (the
real server's tail interval). No log, no views, no conversion per event: what is left is
grpcio sending the same bytes to the same clients, so a latency above this one is the
server's, and one at it is the transport's (and the clients') on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from armada_client.armada import event_pb2, submit_pb2
from google.protobuf import empty_pb2

from armada.rpc.gen import event_batches_pb2 as batch_pb
from bench.harness import sleep_job_pod

BATCH_BYTES = 256 * 2**10


def _frame(data: bytes) -> bytes:
    """``data`` as field 1 of an EventBatch (tag, length, bytes)."""
    out = bytearray(b"\n")
    size = len(data)
    while size >= 0x80:
        out.append((size & 0x7F) | 0x80)
        size >>= 7
    out.append(size)
    return bytes(out) + data


class Stream:
    """Events in batches made every interval, shared by every watcher."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.batches: list[bytes] = []
        self.pending: list[bytes] = []
        self.changed = asyncio.Event()
        self.joined: dict[tuple[int, int], bytes] = {}
        self.offset = 0
        self.submitted = event_pb2.EventStreamMessage()
        job = self.submitted.message.submitted.job
        # As the real server fills it in (defaults applied): about the same size.
        job.pod_spec.CopyFrom(sleep_job_pod())
        job.pod_spec.activeDeadlineSeconds = 259200
        job.pod_spec.priorityClassName = "armada-default"
        resources = job.pod_spec.containers[0].resources
        for amounts in (resources.limits, resources.requests):
            amounts["ephemeral-storage"].string = "8Gi"
        job.scheduling_resource_requirements.CopyFrom(resources)
        job.namespace, job.owner = "default", "anonymous"
        job.created.seconds = int(time.time())
        self.queued = event_pb2.EventStreamMessage()

    def add(self, request: submit_pb2.JobSubmitRequest) -> None:
        """Two events per item, pre-built: the request's pair is made once, stamped now, and
        repeated for every item (the watchers count events and read the stamps, not the ids),
        so that the loop does next to nothing per event."""
        now = time.time()
        self.offset += 1
        job_id = f"{self.offset:026d}"
        pair = []
        for template, name in ((self.submitted, "submitted"), (self.queued, "queued")):
            template.id = f"{self.offset}:{len(pair)}"
            inner = getattr(template.message, name)
            inner.job_id = job_id
            inner.job_set_id = request.job_set_id
            inner.queue = request.queue
            inner.created.seconds, inner.created.nanos = int(now), int((now % 1) * 1e9)
            if name == "submitted":
                inner.job.id = job_id
                inner.job.queue, inner.job.job_set_id = request.queue, request.job_set_id
            pair.append(_frame(template.SerializeToString()))
        self.pending.extend(pair * len(request.job_request_items))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.pending:
                self.batches.append(b"".join(self.pending))
                self.pending = []
                self.changed.set()
                self.changed.clear()

    def take(self, sent: int) -> tuple[bytes, int]:
        """The batches after the first ``sent``, joined up to about BATCH_BYTES (as the real
        server bounds a batch); watchers in step share the joined bytes."""
        end, size = sent + 1, len(self.batches[sent])
        while end < len(self.batches) and size < BATCH_BYTES:
            size += len(self.batches[end])
            end += 1
        if end == sent + 1:
            return self.batches[sent], end
        joined = self.joined.get((sent, end))
        if joined is None:
            if len(self.joined) > 16:
                self.joined.clear()
            joined = self.joined[sent, end] = b"".join(self.batches[sent:end])
        return joined, end

    async def watch(self) -> AsyncIterator[bytes]:
        """Every batch, in order."""
        sent = 0
        while True:
            while sent < len(self.batches):
                data, sent = self.take(sent)
                yield data
            await self.changed.wait()


async def serve(port: int, interval: float) -> None:
    stream = Stream(interval)

    async def submit_jobs(
        request: submit_pb2.JobSubmitRequest, context: Any
    ) -> submit_pb2.JobSubmitResponse:
        stream.add(request)
        return submit_pb2.JobSubmitResponse()

    async def create_queue(request: submit_pb2.Queue, context: Any) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    async def batches(request: batch_pb.JobSetBatchRequest, context: Any) -> AsyncIterator[bytes]:
        async for data in stream.watch():
            yield data

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    handlers = {
        "api.Submit": {
            "SubmitJobs": grpc.unary_unary_rpc_method_handler(
                submit_jobs,
                request_deserializer=submit_pb2.JobSubmitRequest.FromString,
                response_serializer=submit_pb2.JobSubmitResponse.SerializeToString,
            ),
        },
        "api.QueueService": {
            "CreateQueue": grpc.unary_unary_rpc_method_handler(
                create_queue,
                request_deserializer=submit_pb2.Queue.FromString,
                response_serializer=empty_pb2.Empty.SerializeToString,
            ),
        },
        "armadapy.events.v1.EventBatches": {
            "GetJobSetEventBatches": grpc.unary_stream_rpc_method_handler(
                batches,
                request_deserializer=batch_pb.JobSetBatchRequest.FromString,
                response_serializer=lambda data: data,
            ),
        },
    }
    for name, methods in handlers.items():
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, methods),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"ceiling is serving on 127.0.0.1:{port}", flush=True)
    await stream.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.25)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.interval))


if __name__ == "__main__":
    main()
