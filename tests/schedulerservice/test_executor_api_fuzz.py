"""Random bad input through the executor API, over real gRPC, against `armada dev`'s scheduler.

Executors are trusted more than users, but a buggy or confused one must not take the scheduler
down or corrupt its state: whatever it reports or says about its nodes, every call is answered
or refused clearly, the job database stays valid, no job is lost, nothing is logged as a
failure, and a well-formed executor keeps getting leases.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.client import ArmadaClient
from hypothesis import given
from hypothesis import strategies as st

from armada.dev.embedded import EmbeddedArmada
from armada.domain.states import JobState
from armada.rpc.gen import executorapi_pb2 as pb
from armada.rpc.gen import executorapi_pb2_grpc as pb_grpc
from armada.waiting import wait_until
from tests.api_builders import create_queue, item, pod_spec
from tests.bad_input import FUZZ, LONG, answer, assert_clear_error, names, quantities
from tests.conftest import dev_settings
from tests.schedulerservice.test_executor_api import ScriptedExecutor

GOOD = "cluster-good"
OTHER = "cluster-other"
ON_GOOD_NODE = {"fuzz": "good"}  # only the good executor's node has this label


class Failures(logging.Handler):
    """Errors the scheduler logged: a tick or a stream that failed and carried on."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class GoodExecutor(ScriptedExecutor):
    """A well-formed executor whose one node alone runs the jobs of these tests."""

    node_name = "good-node"
    node_labels = ON_GOOD_NODE
    node_resources = {"cpu": "64", "memory": "256Gi", "ephemeral-storage": "1Ti"}


class World:
    def __init__(self, armada: EmbeddedArmada, channel: grpc.Channel, good: GoodExecutor) -> None:
        self.armada = armada
        self.client = ArmadaClient(channel)
        self.stub = pb_grpc.ExecutorApiStub(channel)
        self.good = good
        self.submitted: list[str] = []
        self.runs: dict[str, str] = {}  # run id -> job id, every lease the good one got
        self.failures = Failures()

    @property
    def service(self):  # type: ignore[no-untyped-def]
        assert self.armada.system.scheduler is not None
        return self.armada.system.scheduler.service

    def submit_and_lease(self, count: int = 2) -> None:
        pod = pod_spec(nodeSelector=ON_GOOD_NODE)
        response = self.client.submit_jobs("queue-a", "fuzz", [item(pod) for _ in range(count)])
        self.submitted += [r.job_id for r in response.job_response_items]
        self.good.heartbeat(active=list(self.runs))
        for _ in range(count):
            lease = self.good.next_lease()
            self.runs[lease.run_id] = lease.job_id

    def wait_for_a_new_round(self) -> None:
        """Wait until a scheduling round has begun, and ended, since the call: two more rounds
        counted (the first may have been under way already)."""
        before = self.service.state.cycle
        wait_until(lambda: self.service.state.cycle >= before + 2, what="a new scheduling round")

    def states(self) -> dict[str, JobState]:
        return self.armada.system.storage.store.get_job_states(self.submitted)

    def check(self) -> None:
        """The job database is valid, no job is lost, nothing failed quietly."""
        self.service.validate()  # the job database and the active runs kept by executor
        states = self.states()
        assert set(states) == set(self.submitted), "a job was lost"
        snap = self.service.jobdb.read()
        for job_id, state in states.items():
            if not state.terminal:  # the job database keeps the jobs still to finish
                job = snap.get(job_id)
                assert job is not None, f"{state.value} job {job_id} left the job database"
                assert job.state == state, f"job {job_id}: {job.state} but the views say {state}"
        messages = [r.getMessage() for r in self.failures.records]
        assert not messages, messages


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = dev_settings(
        Path(tmp_path_factory.mktemp("fuzz")) / "data",
        scheduler={
            "schedule_period": "50ms",
            "cycle_period": "20ms",
            "executor_timeout": "5m",
            "executor_stale_after": "5m",
            "missing_run_grace": "5m",
        },
    )
    with (
        EmbeddedArmada(settings) as armada,
        grpc.insecure_channel(armada.address) as channel,
    ):
        good = GoodExecutor(channel, GOOD)
        world = World(armada, channel, good)
        create_queue(world.client)
        logging.getLogger("armada").addHandler(world.failures)
        try:
            world.submit_and_lease(4)
            yield world
            world.check()
        finally:
            logging.getLogger("armada").removeHandler(world.failures)
            good.close()


# --- ReportEvents ----------------------------------------------------------------------------

short_text = st.one_of(names, st.just(LONG))
exit_codes = st.dictionaries(names, st.integers(-(2**31), 2**31 - 1), max_size=3)


@st.composite
def run_events(draw: st.DrawFn, known: list[tuple[str, str]]) -> pb.RunEvent:
    """Events about the good executor's runs (or their jobs with other run ids) and about
    runs nobody knows, of every kind, with odd fields."""
    if known and draw(st.booleans()):
        # an index, not sampled_from(known): the draws must not depend on the world's state
        run_id, job_id = known[draw(st.integers(0, 2**16)) % len(known)]
        if draw(st.booleans()):
            run_id = draw(names)
    else:
        run_id, job_id = draw(names), draw(names)
    event = pb.RunEvent(job_id=job_id, run_id=run_id, created=draw(st.floats()))
    kind = draw(
        st.sampled_from(
            [
                "assigned",
                "running",
                "succeeded",
                "failed",
                "lease_returned",
                "cancelled",
                "ingress_info",
                None,
            ]
        )
    )
    if kind == "assigned" or kind == "running":
        getattr(event, kind).CopyFrom(
            pb.RunAssigned(
                pod_name=draw(short_text),
                namespace=draw(names),
                node=draw(short_text),
                pod_number=draw(st.integers(-(2**31), 2**31 - 1)),
            )
            if kind == "assigned"
            else pb.RunRunning(node=draw(short_text), pod_number=draw(st.integers(-5, 5)))
        )
    elif kind == "succeeded":
        event.succeeded.node = draw(short_text)
    elif kind == "failed":
        event.failed.CopyFrom(
            pb.RunFailed(
                reason=draw(short_text),
                cause=draw(st.sampled_from(["", "Error", "OOM", "Nonsense"])),
                category=draw(names),
                exit_codes=draw(exit_codes),
                container_messages=draw(st.dictionaries(names, short_text, max_size=2)),
            )
        )
    elif kind == "lease_returned":
        event.lease_returned.CopyFrom(
            pb.RunLeaseReturned(reason=draw(short_text), run_attempted=draw(st.booleans()))
        )
    elif kind == "cancelled":
        event.cancelled.SetInParent()
    elif kind == "ingress_info":
        event.ingress_info.addresses.update(
            draw(st.dictionaries(st.integers(-(2**31), 2**31 - 1), names, max_size=2))
        )
    return event


@FUZZ
@given(data=st.data(), executor_id=st.sampled_from(["", GOOD, OTHER, LONG]) | names)
def test_reports_are_applied_or_clearly_refused(
    world: World, data: st.DataObject, executor_id: str
) -> None:
    active = [j for j, s in world.states().items() if not s.terminal]
    if len(active) < 2:
        world.submit_and_lease(2)
    known = list(world.runs.items())
    events = data.draw(st.lists(run_events(known), max_size=6))
    before = world.states()
    answer(world.stub.ReportEvents, pb.EventList(executor_id=executor_id, events=events))
    if executor_id != GOOD:
        assert world.states() == before, "a report about another executor's run was applied"
    world.check()


# --- LeaseJobRuns ----------------------------------------------------------------------------

resources = st.dictionaries(
    st.sampled_from(["cpu", "memory", "ephemeral-storage", "nvidia.com/gpu"]) | names,
    quantities,
    max_size=4,
)
taints = st.builds(
    pb.Taint,
    key=names,
    value=names,
    effect=st.sampled_from(["", "NoSchedule", "NoExecute", "PreferNoSchedule", "Odd"]) | names,
)
node_infos = st.builds(
    pb.NodeInfo,
    name=st.sampled_from(["", "n1", "n1", "good-node"]) | names,
    taints=st.lists(taints, max_size=2),
    labels=st.dictionaries(names, names, max_size=2),
    total_resources=resources,
    non_armada_allocated_resources=resources,
    unschedulable=st.booleans(),
    pool=st.sampled_from(["", "default", "other"]) | names,
    run_ids=st.lists(names, max_size=2),
)


@st.composite
def lease_requests(draw: st.DrawFn, known_runs: list[str]) -> pb.LeaseRequest:
    run_ids = st.one_of(
        names,
        st.integers(0, 2**16).map(lambda i: known_runs[i % len(known_runs)] if known_runs else ""),
    )
    return pb.LeaseRequest(
        executor_id=draw(st.sampled_from(["", OTHER, "cluster-x"]) | names),
        pool=draw(st.sampled_from(["default", ""]) | names),
        nodes=draw(st.lists(node_infos, max_size=4)),
        max_jobs_to_lease=draw(st.sampled_from([0, 1, 2**32 - 1]) | st.integers(0, 2**32 - 1)),
        active_run_ids=draw(st.lists(run_ids, max_size=3)),
        unassigned_run_ids=draw(st.lists(run_ids, max_size=2)),
    )


def one_exchange(world: World, request: pb.LeaseRequest) -> None:
    """Send one LeaseRequest on a new stream; the answer must end with an EndMarker, or the
    stream must close with a clear status."""
    requests: queue.Queue[pb.LeaseRequest | None] = queue.Queue()
    requests.put(request)
    stream = world.stub.LeaseJobRuns(iter(requests.get, None), timeout=10)
    try:
        for message in stream:
            if message.HasField("end"):
                return
        raise AssertionError("the stream ended without answering")
    except grpc.RpcError as err:
        assert_clear_error(err, "LeaseJobRuns")
    finally:
        requests.put(None)
        stream.cancel()


@FUZZ
@given(data=st.data())
def test_lease_requests_are_answered_or_clearly_refused(world: World, data: st.DataObject) -> None:
    request = data.draw(lease_requests(list(world.runs)))
    one_exchange(world, request)
    world.wait_for_a_new_round()  # one that sees the odd nodes
    world.check()


def test_a_well_formed_executor_still_gets_leases_after_the_fuzzing(world: World) -> None:
    world.submit_and_lease(1)
    world.check()


def test_an_executor_cannot_finish_another_executors_run(world: World) -> None:
    """Found by the fuzzing: a report was applied whoever sent it."""
    world.submit_and_lease(1)
    run_id, job_id = list(world.runs.items())[-1]
    event = pb.RunEvent(job_id=job_id, run_id=run_id, succeeded=pb.RunSucceeded(node="n1"))
    world.stub.ReportEvents(pb.EventList(executor_id=OTHER, events=[event]))
    assert world.states()[job_id] is JobState.LEASED
    world.stub.ReportEvents(pb.EventList(executor_id=GOOD, events=[event]))
    wait_until(lambda: world.states()[job_id] is JobState.SUCCEEDED)
    world.check()
