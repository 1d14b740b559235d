"""A whole system with authentication, permissions and TLS on, driven through armada-client
over ``grpc.secure_channel`` (as the Airflow operator does) with each credential kind."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import grpc
import pytest
from armada_client.armada import binoculars_pb2, binoculars_pb2_grpc, submit_pb2
from armada_client.client import ArmadaClient

from armada.rpc.gen import executorapi_pb2 as epb
from armada.rpc.gen import executorapi_pb2_grpc as epb_grpc
from armada.rpc.gen import scheduler_reporting_pb2 as rpb
from armada.rpc.gen import scheduler_reporting_pb2_grpc as rpb_grpc
from armada.waiting import wait_until
from tests.api_builders import create_queue, events, item
from tests.security.support import PASSWORDS, Issuer, Pki


class _Metadata(grpc.AuthMetadataPlugin):  # type: ignore[misc]
    def __init__(self, value: str) -> None:
        self.value = value

    def __call__(self, context: Any, callback: Any) -> None:
        callback((("authorization", self.value),), None)


def basic(user: str) -> str:
    pair = f"{user}:{PASSWORDS[user]}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def secure_client(system: Any, authorization: str) -> ArmadaClient:
    return ArmadaClient(secure_channel(system, authorization))


def secure_channel(system: Any, authorization: str) -> grpc.Channel:
    armada, pki = system
    credentials = grpc.ssl_channel_credentials(pki.ca.read_bytes())
    if authorization:
        call = grpc.metadata_call_credentials(_Metadata(authorization))
        credentials = grpc.composite_channel_credentials(credentials, call)
    port = armada.address.rsplit(":", 1)[1]
    return grpc.secure_channel(f"localhost:{port}", credentials)


def code_of(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()  # type: ignore[no-any-return]


def test_no_or_wrong_credentials_are_unauthenticated_over_tls(system: Any) -> None:
    assert code_of(lambda: secure_client(system, "").get_queues()) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    wrong = "Basic " + base64.b64encode(b"alice:guess").decode()
    assert code_of(lambda: secure_client(system, wrong).get_queues()) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


def test_the_jobs_of_an_admin_run_and_the_audit_names_who_cancelled(
    system: Any, issuer: Issuer
) -> None:
    alice = secure_client(system, basic("alice"))
    create_queue(alice, "audited")
    token = issuer.token("carol", groups=("admins",))
    carol = secure_client(system, f"Bearer {token}")  # a JWT admin
    response = carol.submit_jobs("audited", "set-1", [item()])
    job_id = response.job_response_items[0].job_id
    armada, _ = system
    wait_until(
        lambda: armada.system.storage.store.get_job(job_id).latest_run is not None,
        timeout=30,
        what="the job to be leased by the executor (it dials over TLS with credentials)",
    )
    alice.cancel_jobs(queue="audited", job_set_id="set-1", job_id=job_id)
    wait_until(
        lambda: armada.system.storage.store.get_job(job_id).cancel_user == "alice",
        timeout=30,
        what="the cancel to be recorded with its user",
    )
    entries = armada.system.storage.log.read_job_set("audited", "set-1", 0, 1000)
    users = {
        (entry.sequence.user, type(event).__name__)
        for entry in entries
        for event in entry.sequence.events
    }
    assert ("carol", "SubmitJob") in users
    assert ("alice", "CancelJob") in users


def test_a_user_without_permissions_is_denied_naming_the_permission(system: Any) -> None:
    alice = secure_client(system, basic("alice"))
    create_queue(alice, "private")
    bob = secure_client(system, basic("bob"))
    with pytest.raises(grpc.RpcError) as caught:
        bob.submit_jobs("private", "set-1", [item()])
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "lacks permission submit_any_jobs" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        bob.create_queue(bob.create_queue_request("bobs", 1.0))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "create_queue" in caught.value.details()
    assert alice.get_queue("private").name == "private"
    with pytest.raises(grpc.RpcError):
        alice.get_queue("bobs")  # nothing changed


def test_without_watch_no_events_reports_or_logs(system: Any) -> None:
    alice = secure_client(system, basic("alice"))
    create_queue(alice, "watched")
    job_id = alice.submit_jobs("watched", "s", [item()]).job_response_items[0].job_id
    bob = secure_client(system, basic("bob"))
    assert code_of(lambda: events(bob, "watched", "s")) == grpc.StatusCode.PERMISSION_DENIED
    assert events(alice, "watched", "s")
    reports = rpb_grpc.SchedulerReportingStub(secure_channel(system, basic("bob")))
    denied = code_of(lambda: reports.GetQueueReport(rpb.QueueReportRequest(queue_name="watched")))
    assert denied == grpc.StatusCode.PERMISSION_DENIED
    denied = code_of(lambda: reports.GetJobReport(rpb.JobReportRequest(job_id=job_id)))
    assert denied == grpc.StatusCode.PERMISSION_DENIED
    logs = binoculars_pb2_grpc.BinocularsStub(secure_channel(system, basic("bob")))
    denied = code_of(lambda: logs.Logs(binoculars_pb2.LogRequest(job_id=job_id)))
    assert denied == grpc.StatusCode.PERMISSION_DENIED
    # given watch on the queue, bob may read its events
    watch = submit_pb2.Queue.Permissions(
        subjects=[submit_pb2.Queue.Permissions.Subject(kind="User", name="bob")], verbs=["watch"]
    )
    queue = alice.get_queue("watched")
    queue.permissions.append(watch)
    alice.update_queue(queue)
    wait_until(lambda: bool(_events_or_none(bob, "watched", "s")), timeout=30, what="bob's watch")


def _events_or_none(client: ArmadaClient, queue: str, job_set: str) -> list[Any]:
    try:
        return events(client, queue, job_set)
    except grpc.RpcError:
        return []


def test_an_executor_without_execute_jobs_cannot_lease_or_report(system: Any) -> None:
    stub = epb_grpc.ExecutorApiStub(secure_channel(system, basic("bob")))
    stream = stub.LeaseJobRuns(iter([epb.LeaseRequest(executor_id="cluster-1", pool="default")]))
    assert code_of(lambda: list(stream)) == grpc.StatusCode.PERMISSION_DENIED
    report = epb.EventList(executor_id="cluster-1")
    assert code_of(lambda: stub.ReportEvents(report)) == grpc.StatusCode.PERMISSION_DENIED
    other = epb_grpc.ExecutorApiStub(secure_channel(system, basic("exec")))
    with pytest.raises(grpc.RpcError) as caught:
        other.ReportEvents(epb.EventList(executor_id="cluster-2"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "not 'cluster-2'" in caught.value.details()


def test_the_http_side_serves_tls_and_401s_without_credentials(system: Any) -> None:
    import ssl
    import urllib.error
    import urllib.request

    armada, pki = system
    url = armada.http_url.replace("127.0.0.1", "localhost")
    assert url.startswith("https://")
    context = ssl.create_default_context(cafile=str(pki.ca))
    with urllib.request.urlopen(f"{url}/healthz", context=context) as answer:
        assert answer.status == 200
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{url}/api/anything", context=context)
    assert caught.value.code == 401
    caught.value.close()


def test_the_ca_is_required_to_talk_to_the_tls_listener(system: Any, tmp_path: Path) -> None:
    armada, _ = system
    port = armada.address.rsplit(":", 1)[1]
    other_ca = Pki(tmp_path).ca.read_bytes()
    channel = grpc.secure_channel(f"localhost:{port}", grpc.ssl_channel_credentials(other_ca))
    assert code_of(lambda: ArmadaClient(channel).get_queues()) == grpc.StatusCode.UNAVAILABLE
