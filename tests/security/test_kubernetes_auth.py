"""Kubernetes service-account tokens, checked by the TokenReview API of a fake Kubernetes API
server run by the test (tests/executor/fake_token_review.py answers as Kubernetes does)."""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from armada_client.armada import submit_pb2, submit_pb2_grpc
from pydantic import ValidationError

from armada.client import FileError
from armada.client.credentials import CredentialsError
from armada.client.kubernetes_token import KubernetesNativeToken
from armada.config import ConfigError
from armada.config.auth import AuthSettings
from armada.dev.embedded import EmbeddedArmada
from armada.security import Permission, Unauthenticated, build_security
from armada.waiting import wait_until
from tests.api_builders import item
from tests.conftest import dev_settings
from tests.executor.fake_kube_api import FakeKubeApi
from tests.executor.fake_token_review import ISSUER, KID, FakeTokenReviews
from tests.executor.test_logs import free_port
from tests.security.support import AUDIENCE, Pki, auth_settings, running_issuer
from tests.security.test_secure_system import basic

EXECUTORS = "system:serviceaccounts:armada"  # the namespace's group, as Kubernetes names it


@pytest.fixture(scope="module")
def kube() -> Iterator[FakeKubeApi]:
    api = FakeKubeApi()
    api.start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def kubeconfig(kube: FakeKubeApi, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's way to the cluster: a service account allowed to create token reviews."""
    token = kube.token_reviews.issue("armada", "armada-server", reviewer=True)
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(kubeconfig_text(kube.url, token))
    return path


def kubeconfig_text(url: str, token: str, ca: Path | None = None) -> str:
    cluster = {"server": url, **({"certificate-authority": str(ca)} if ca else {})}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": cluster}],
            "users": [{"name": "reviewer", "user": {"token": token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "reviewer"}}],
            "current-context": "fake",
        }
    )


def settings(kubernetes: dict[str, Any], **changes: Any) -> AuthSettings:
    mapping = {"execute_jobs": [EXECUTORS], "watch_all_events": ["admins"]}
    return AuthSettings.model_validate(
        {"kubernetesAuth": kubernetes, "permissionGroupMapping": mapping, **changes}
    )


def reviews(kube: FakeKubeApi) -> int:
    return len(kube.token_reviews.reviews)


def test_a_service_account_token_is_its_account_with_its_groups(
    kube: FakeKubeApi, kubeconfig: Path
) -> None:
    security = build_security(settings({"kubeconfig": str(kubeconfig)}))
    token = kube.token_reviews.issue("armada", "armada-executor")
    before = reviews(kube)
    who = security.authenticate(f"Bearer {token}")
    assert who.user == "system:serviceaccount:armada:armada-executor"
    assert EXECUTORS in who.groups and who.user in who.groups  # Armada's: its name a group too
    assert who.method == "kubernetes"
    assert security.authoriser.has(who, Permission.EXECUTE_JOBS)
    assert not security.authoriser.has(who, Permission.WATCH_ALL_EVENTS)
    assert who.expires_at is not None and who.expires_at > time.time() + 3000
    assert security.authenticate(f"Bearer {token}") == who
    assert reviews(kube) == before + 1, "the accepted token is cached, not reviewed again"
    other = kube.token_reviews.issue("team-a", "ci")
    assert not security.authoriser.has(security.authenticate(f"Bearer {other}"), "execute_jobs")


def test_armadas_kubernetes_auth_header_is_accepted_and_its_ca_ignored(
    kube: FakeKubeApi, kubeconfig: Path
) -> None:
    security = build_security(settings({"kubeconfig": str(kubeconfig)}))
    token = kube.token_reviews.issue("armada", "armada-executor")
    body = json.dumps({"token": token, "ca": "bm90IGEgQ0E"}).encode()
    header = "KubernetesAuth " + base64.urlsafe_b64encode(body).decode().rstrip("=")
    assert security.authenticate(header).user == "system:serviceaccount:armada:armada-executor"


def test_a_rejected_token_is_refused_and_not_asked_about_again(
    kube: FakeKubeApi, kubeconfig: Path
) -> None:
    security = build_security(settings({"kubeconfig": str(kubeconfig)}))
    token = kube.token_reviews.issue("armada", "gone")
    kube.token_reviews.revoke(token)
    before = reviews(kube)
    with pytest.raises(Unauthenticated, match="rejected by the TokenReview API"):
        security.authenticate(f"Bearer {token}")
    with pytest.raises(Unauthenticated, match="rejected"):
        security.authenticate(f"Bearer {token}")
    assert reviews(kube) == before + 1, "remembered for invalidTokenExpiry"
    with pytest.raises(Unauthenticated, match="rejected"):
        security.authenticate("Bearer not-a-token-at-all")


def test_an_expired_token_is_refused_without_asking(kube: FakeKubeApi, kubeconfig: Path) -> None:
    security = build_security(settings({"kubeconfig": str(kubeconfig)}))
    expired = FakeTokenReviews(clock=lambda: time.time() - 7200).issue("armada", "old")
    before = reviews(kube)
    with pytest.raises(Unauthenticated, match="expired"):
        security.authenticate(f"Bearer {expired}")
    assert reviews(kube) == before


def test_the_review_asks_for_the_configured_audiences(kube: FakeKubeApi, kubeconfig: Path) -> None:
    security = build_security(settings({"kubeconfig": str(kubeconfig), "audiences": ["armada"]}))
    for_the_cluster = kube.token_reviews.issue("armada", "executor")
    with pytest.raises(Unauthenticated, match="invalid for the target audiences"):
        security.authenticate(f"Bearer {for_the_cluster}")
    for_armada = kube.token_reviews.issue("armada", "executor", audiences=("armada",))
    assert security.authenticate(f"Bearer {for_armada}").user.endswith(":armada:executor")
    assert kube.token_reviews.reviews[-1]["audiences"] == ["armada"]


def test_a_reviewer_without_permission_cannot_authenticate_anyone(
    kube: FakeKubeApi, tmp_path: Path
) -> None:
    weak = tmp_path / "config"
    weak.write_text(kubeconfig_text(kube.url, kube.token_reviews.issue("armada", "no-rbac")))
    security = build_security(settings({"kubeconfig": str(weak)}))
    token = kube.token_reviews.issue("armada", "armada-executor")
    with pytest.raises(Unauthenticated, match="answered 403"):
        security.authenticate(f"Bearer {token}")


def test_a_cluster_that_cannot_be_configured_or_reached_is_said(
    kube: FakeKubeApi, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="kubernetesAuth: cannot configure the Kubernetes"):
        build_security(settings({"kubeconfig": str(tmp_path / "missing")}))
    closed = tmp_path / "closed"
    closed.write_text(kubeconfig_text(f"http://127.0.0.1:{free_port()}", "token"))
    security = build_security(settings({"kubeconfig": str(closed), "requestTimeout": "2s"}))
    token = kube.token_reviews.issue("armada", "armada-executor")
    with pytest.raises(Unauthenticated, match="the TokenReview API is unreachable"):
        security.authenticate(f"Bearer {token}")


def test_armadas_kid_mapping_asks_the_cluster_the_key_id_names(
    kube: FakeKubeApi, tmp_path: Path
) -> None:
    (tmp_path / KID).write_text(kube.url + "\n")
    security = build_security(settings({"kidMappingFileLocation": str(tmp_path)}))
    token = kube.token_reviews.issue("armada", "armada-executor", reviewer=True)
    assert security.authenticate(f"Bearer {token}").user.endswith(":armada:armada-executor")
    (tmp_path / KID).unlink()
    other = kube.token_reviews.issue("armada", "another", reviewer=True)
    with pytest.raises(Unauthenticated, match="names no cluster"):
        security.authenticate(f"Bearer {other}")


def test_beside_openid_the_issuer_decides_which_checks_a_bearer_token(
    kube: FakeKubeApi, kubeconfig: Path
) -> None:
    with pytest.raises(ValidationError, match=r"kubernetesAuth\.issuers is required"):
        settings(
            {"kubeconfig": str(kubeconfig)},
            openIdAuth={"providerUrl": "https://sso.example.com", "clientId": AUDIENCE},
        )
    with running_issuer() as issuer:
        security = build_security(
            settings(
                {"kubeconfig": str(kubeconfig), "issuers": [ISSUER]},
                openIdAuth={"providerUrl": issuer.url, "clientId": AUDIENCE},
            )
        )
        account = kube.token_reviews.issue("armada", "armada-executor")
        assert security.authenticate(f"Bearer {account}").method == "kubernetes"
        person = security.authenticate(f"Bearer {issuer.token('carol')}")
        assert (person.user, person.method) == ("carol", "openid")


def test_an_executor_presenting_its_token_file_leases_jobs(
    kube: FakeKubeApi, kubeconfig: Path, tmp_path: Path
) -> None:
    """End to end over gRPC: the executor sends its projected token (credentials.tokenFile),
    the scheduler's chain reviews it off the event loop, execute_jobs comes from its group."""
    token_file = tmp_path / "token"
    token_file.write_text(kube.token_reviews.issue("armada", "armada-executor") + "\n")
    auth = auth_settings(
        kubernetesAuth={"kubeconfig": str(kubeconfig)},
        permissionGroupMapping={
            "submit_any_jobs": ["admins"],
            "create_queue": ["admins"],
            "watch_all_events": ["admins"],
            "execute_jobs": [EXECUTORS],
        },
        executorClusters={},
    )
    dev = dev_settings(
        tmp_path / "data",
        auth=auth.model_dump(by_alias=True),
        clusters=1,
        executor={"credentials": {"tokenFile": str(token_file)}},
    )
    with EmbeddedArmada(dev) as armada, grpc.insecure_channel(armada.address) as channel:
        alice = (("authorization", basic("alice")),)
        queues = submit_pb2_grpc.QueueServiceStub(channel)
        queues.CreateQueue(submit_pb2.Queue(name="k8s-auth", priority_factor=1), metadata=alice)
        request = submit_pb2.JobSubmitRequest(
            queue="k8s-auth", job_set_id="s", job_request_items=[item()]
        )
        submitted = submit_pb2_grpc.SubmitStub(channel).SubmitJobs(request, metadata=alice)
        job_id = submitted.job_response_items[0].job_id
        store = armada.system.storage.store
        wait_until(
            lambda: store.get_job(job_id).latest_run is not None,
            timeout=30,
            what="the job to be leased by the executor authenticated by TokenReview",
        )
    assert any(spec["token"].startswith("ey") for spec in kube.token_reviews.reviews)


def test_armadactls_kubernetes_native_auth_gets_a_token_the_server_accepts(
    tmp_path: Path,
) -> None:
    """Armada's kubernetesNativeAuth from inside a pod: a TokenRequest over HTTPS to the
    cluster (trusting the pod's CA), authenticated by the pod's own token; the server's
    kubernetesAuth then reviews the new token."""
    (tmp_path / "pki").mkdir()
    pki = Pki(tmp_path / "pki")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki.cert, pki.key)
    cluster = FakeKubeApi()
    cluster.start(tls)
    try:
        pod = tmp_path / "serviceaccount"
        pod.mkdir()
        (pod / "token").write_text(cluster.token_reviews.issue("armada", "armadactl-pod"))
        (pod / "ca.crt").write_bytes(pki.ca.read_bytes())
        (pod / "namespace").write_text("armada")
        port = cluster.url.rsplit(":", 1)[1]
        environ = {
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": port,
            "SERVICE_ACCOUNT": "armada-executor",
        }
        source = KubernetesNativeToken(600, environ=environ, account_dir=pod)
        token = source.token()
        assert source.token() == token, "kept until shortly before it expires"
        reviewer = cluster.token_reviews.issue("armada", "armada-server", reviewer=True)
        config = tmp_path / "config"
        config.write_text(kubeconfig_text(cluster.url, reviewer, pki.ca))
        who = build_security(settings({"kubeconfig": str(config)})).authenticate(f"Bearer {token}")
        assert who.user == "system:serviceaccount:armada:armada-executor"
        assert source.expiry == 600
        with pytest.raises(CredentialsError, match="SERVICE_ACCOUNT names no"):
            KubernetesNativeToken(environ={**environ, "SERVICE_ACCOUNT": ""}).token()
        bad = KubernetesNativeToken(600, environ={**environ, "POD_NAMESPACE": "x"}, account_dir=pod)
        (pod / "token").write_text("not-a-token")
        with pytest.raises(CredentialsError, match="HTTP 401"):
            bad.token()
    finally:
        cluster.stop()


def test_an_armadactl_context_takes_kubernetes_native_auth(tmp_path: Path) -> None:
    from armada.cli.armadactl.contexts import load_config

    path = tmp_path / "armadactl.yaml"
    path.write_text("armadaUrl: x:1\nkubernetesNativeAuth: {enabled: true, expiry: 900}\n")
    context = load_config(path).context(None)
    assert context is not None and isinstance(context.token_source, KubernetesNativeToken)
    assert context.token_source.expiry == 900 and context.unsupported_auth == ()
    path.write_text("armadaUrl: x:1\nkubernetesNativeAuth: {expiry: 60}\n")
    with pytest.raises(FileError, match="at least 600"):
        load_config(path)
