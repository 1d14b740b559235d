"""Structured logs: json lines with the request's ids, and no password or token in them, even
when callers send wrong ones or put them where a message quotes them."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from armada_client.client import ArmadaClient

from armada.logformat import TextFormatter, annotate, bound, configure_logging, redact
from tests.security.support import PASSWORDS, Issuer


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("json", logging.DEBUG, stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def test_redact_blanks_credentials() -> None:
    line = "header Authorization: Basic YWxpY2U6cw== and Bearer eyJhbGciOi.x.y, password=hunter2"
    cleaned = redact(line)
    assert "YWxpY2U6cw" not in cleaned and "eyJhbGciOi" not in cleaned and "hunter2" not in cleaned
    assert "Basic ***" in cleaned and "password=***" in cleaned


def test_json_lines_carry_bound_ids_and_no_secret(json_log: io.StringIO) -> None:
    log = logging.getLogger("armada.test")
    with bound(request_id="r-1", user="alice"):
        log.warning("submit failed for job %s with password=%s", "01job", "hunter2")
    log.info("run started", extra={"job_id": "01job", "run_id": "run-1"})
    first, second = (json.loads(line) for line in json_log.getvalue().splitlines())
    assert first["request_id"] == "r-1" and first["user"] == "alice"
    assert "hunter2" not in json.dumps(first)
    assert (second["job_id"], second["run_id"]) == ("01job", "run-1")


def test_annotate_adds_to_the_bound_block_only(json_log: io.StringIO) -> None:
    log = logging.getLogger("armada.test")
    with bound(request_id="r-2"):
        annotate(user="bob")
        log.info("inside")
    log.info("outside")
    inside, outside = (json.loads(line) for line in json_log.getvalue().splitlines())
    assert (inside["request_id"], inside["user"]) == ("r-2", "bob")
    assert "user" not in outside


def test_text_lines_name_the_ids() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "hello", None, None)
    record.job_id = "01job"
    assert TextFormatter().format(record).endswith("hello [job_id=01job]")


def test_wrong_and_right_credentials_leave_no_secret_in_the_log(
    system: Any, issuer: Issuer, json_log: io.StringIO
) -> None:
    armada, pki = system
    port = armada.address.rsplit(":", 1)[1]
    secrets = [PASSWORDS["alice"], "wrong-password-xyz"]
    token = issuer.token("carol", groups=("admins",))
    expired = issuer.token("carol", lifetime=-100)
    headers = ["Basic " + base64.b64encode(f"alice:{p}".encode()).decode() for p in secrets] + [
        f"Bearer {token}",
        f"Bearer {expired}",
        "Bearer garbage.token.value",
    ]
    for header in headers:
        channel = grpc.secure_channel(
            f"localhost:{port}",
            grpc.composite_channel_credentials(
                grpc.ssl_channel_credentials(pki.ca.read_bytes()),
                grpc.metadata_call_credentials(
                    lambda _, callback, h=header: callback((("authorization", h),), None)
                ),
            ),
        )
        try:
            ArmadaClient(channel).submit_jobs("no-such-queue", "s", [])
        except grpc.RpcError:
            pass
        finally:
            channel.close()
    text = json_log.getvalue()
    assert "refused a caller" in text  # the wrong ones were logged...
    for secret in [*secrets, token, expired, "garbage.token.value"]:
        assert secret not in text  # ...without what they sent
    for header in headers:
        assert header.split(" ", 1)[1] not in text
