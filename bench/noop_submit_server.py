"""A do-nothing Armada Submit server: the ceiling for `submit_throughput` on this machine.

Usage: python -m bench.noop_submit_server PORT

It serves `api.Submit/SubmitJobs` (and `api.QueueService/CreateQueue`) with the same stack as
`armada server` — grpc.aio in the process's asyncio loop, the same message-size options,
armada-client's generated messages — but stores nothing and checks nothing: each request is
parsed by gRPC and answered with one made-up job id per item. What `armada server` achieves
against what this achieves, measured in the same run, is the share of the time the project's
own work (validation, defaulting, the log append, the views) takes; the rest is gRPC and
protobuf in Python, which no server written on them can beat on this machine.
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from armada_client.armada import submit_pb2, submit_pb2_grpc
from google.protobuf import empty_pb2

from armada.config.server import GrpcSettings
from armada.dev.runtime import grpc_server
from armada.server.convert_jobs import submit_response


class NoopSubmit(submit_pb2_grpc.SubmitServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.next_id = 0

    async def SubmitJobs(
        self, request: submit_pb2.JobSubmitRequest, context: grpc.aio.ServicerContext
    ) -> submit_pb2.JobSubmitResponse:
        first, self.next_id = self.next_id, self.next_id + len(request.job_request_items)
        return submit_response(f"{i:026d}" for i in range(first, self.next_id))


class NoopQueues(submit_pb2_grpc.QueueServiceServicer):  # type: ignore[misc]
    async def CreateQueue(
        self, request: submit_pb2.Queue, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        return empty_pb2.Empty()


async def serve(port: int) -> None:
    server = grpc_server(GrpcSettings())
    submit_pb2_grpc.add_SubmitServicer_to_server(NoopSubmit(), server)
    submit_pb2_grpc.add_QueueServiceServicer_to_server(NoopQueues(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
