"""armadactl and the project's client through TLS (a test CA in ``caFile``) with each kind of
credentials a context can hold: basic, OpenID client credentials, the device flow and an
exec plugin; and its errors when the credentials are wrong."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from armada.cli.armadactl.main import cli as armadactl
from tests.security.support import PASSWORDS, Issuer


def config(tmp_path: Path, system: Any, **auth: Any) -> Path:
    armada, pki = system
    port = armada.address.rsplit(":", 1)[1]
    context = {"armadaUrl": f"localhost:{port}", "caFile": str(pki.ca), **auth}
    path = tmp_path / "armadactl.yaml"
    path.write_text(json.dumps({"currentContext": "main", "contexts": {"main": context}}))
    return path


def run(path: Path, *args: str) -> Any:
    return CliRunner().invoke(armadactl, ["--config", str(path), *args], catch_exceptions=False)


def test_basic_auth_context_over_tls(system: Any, tmp_path: Path) -> None:
    right = config(
        tmp_path, system, basicAuth={"username": "alice", "password": PASSWORDS["alice"]}
    )
    result = run(right, "create", "queue", "ctl-basic")
    assert result.exit_code == 0, result.output
    assert "ctl-basic" in run(right, "get", "queues").output
    wrong = config(tmp_path, system, basicAuth={"username": "alice", "password": "guess"})
    result = run(wrong, "get", "queues")
    assert result.exit_code == 1
    assert "wrong user name or password" in result.output
    assert "guess" not in result.output


def test_client_credentials_context(system: Any, tmp_path: Path, issuer: Issuer) -> None:
    flow = {"providerUrl": issuer.url, "clientId": "svc", "clientSecret": "svc-secret"}
    path = config(tmp_path, system, openIdClientCredentialsAuth=flow)
    result = run(path, "create", "queue", "ctl-svc")
    assert result.exit_code == 0, result.output
    flow["clientSecret"] = "wrong"
    result = run(config(tmp_path, system, openIdClientCredentialsAuth=flow), "get", "queues")
    assert result.exit_code != 0
    assert "invalid_client" in result.output


def test_device_flow_context_tells_where_to_approve(
    system: Any,
    tmp_path: Path,
    issuer: Issuer,
) -> None:
    flow = {"providerUrl": issuer.url, "clientId": "armadactl"}
    result = run(config(tmp_path, system, openIdDeviceAuth=flow), "create", "queue", "ctl-dev")
    assert result.exit_code == 0, result.output
    assert "enter the code WDJB-MJHT" in result.output


def test_exec_plugin_context(system: Any, tmp_path: Path, issuer: Issuer) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(issuer.token("erin", groups=("admins",)) + "\n")
    plugin = {
        "cmd": sys.executable,
        "args": ["-c", "import os; print(open(os.environ['TOKEN_FILE']).read())"],
        "env": [{"name": "TOKEN_FILE", "value": str(token_file)}],
    }
    result = run(config(tmp_path, system, execAuth=plugin), "create", "queue", "ctl-exec")
    assert result.exit_code == 0, result.output
    failing = {"cmd": sys.executable, "args": ["-c", "raise SystemExit(3)"]}
    result = run(config(tmp_path, system, execAuth=failing), "get", "queues")
    assert result.exit_code != 0
    assert "exit code 3" in result.output


def test_audit_get_job_shows_who_cancelled(system: Any, tmp_path: Path) -> None:
    from armada.waiting import wait_until

    path = config(tmp_path, system, basicAuth={"username": "alice", "password": PASSWORDS["alice"]})
    assert run(path, "create", "queue", "ctl-audit").exit_code == 0
    job = tmp_path / "job.yaml"
    job.write_text(
        "queue: ctl-audit\njobSetId: s\njobs:\n  - priority: 1\n    podSpec:\n"
        "      containers:\n        - name: main\n          image: busybox\n"
        "          resources:\n            requests: {cpu: 100m, memory: 64Mi}\n"
        "            limits: {cpu: 100m, memory: 64Mi}\n"
    )
    submitted = run(path, "submit", str(job))
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.output.split("id ")[1].split()[0]
    reprioritised = run(path, "reprioritize", "job", "ctl-audit", "s", job_id, "5")
    assert reprioritised.exit_code == 0, reprioritised.output
    assert run(path, "cancel", "job", "ctl-audit", "s", job_id).exit_code == 0
    shown = wait_until(
        lambda: "by alice" in (out := run(path, "get", "job", job_id).output) and out,
        timeout=30,
        what="get job to show who cancelled",
    )
    assert "submitted by alice at " in shown
    assert "reprioritised by alice at " in shown
    assert "cancelled by alice at " in shown
