"""What authentication costs a submission: jobs/s through armada-client in batches of 1,000,
anonymous against basic auth (argon2 hash) and an OpenID JWT (RS256, keys from a JWKS
endpoint this process serves), on one `armada server`, the variants alternating in the same
minutes.

Usage: python -m bench.auth_submit [--jobs 20000] [--batch 1000] [--runs 3]

The server remembers a checked credential by the SHA-256 of its header (auth.credentialCache),
so only the first call of a credential pays the argon2 check or the signature check (printed
apart, as "first call"); the batches then pay a hash and a dictionary look-up, twice (the
interceptor and the servicer). The password and the token are the same in every run, and the
server keeps them cached from one run to the next: run 1's first call is the real first check.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from armada_client.client import ArmadaClient
from tests.security.support import AUDIENCE, running_issuer

from armada.config.auth import PERMISSIONS
from armada.security.basic import hash_password
from bench.harness import armada_dev, median, sleep_job_pod


class _Details(
    collections.namedtuple("_Details", ["method", "timeout", "metadata", "credentials"]),
    grpc.ClientCallDetails,  # type: ignore[misc]
):
    pass


class _WithHeader(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, header: str) -> None:
        self.header = header

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        metadata = [*(details.metadata or ()), ("authorization", self.header)]
        new = _Details(details.method, details.timeout, metadata, details.credentials)
        return continuation(new, request)


def config_file(folder: str, issuer_url: str) -> str:
    auth = {
        "anonymousAuth": True,
        "basicAuth": {"users": {"bench": {"passwordHash": hash_password("bench-password")}}},
        "openIdAuth": {"providerUrl": issuer_url, "clientId": AUDIENCE},
        "permissionGroupMapping": {p: ["everyone"] for p in PERMISSIONS},
    }
    path = os.path.join(folder, "armada.yaml")
    with open(path, "w") as file:
        json.dump({"auth": auth}, file)  # JSON is YAML
    return path


def submit(address: str, header: str, jobs: int, batch: int, job_set: str) -> tuple[float, float]:
    """(jobs/s over the batches, seconds of the first call: the credential's first check)."""
    with grpc.insecure_channel(
        address, options=[("grpc.max_send_message_length", 64 * 2**20)]
    ) as raw:
        channel = grpc.intercept_channel(raw, _WithHeader(header)) if header else raw
        client = ArmadaClient(channel)
        pod = sleep_job_pod()
        batches = [
            [
                client.create_job_request_item(priority=0, pod_spec=pod, namespace="default")
                for _ in range(batch)
            ]
            for _ in range(jobs // batch)
        ]
        first = time.perf_counter()
        client.submit_health()
        first_call = time.perf_counter() - first
        started = time.perf_counter()
        for items in batches:
            response = client.submit_jobs("bench", job_set, items)
            assert len(response.job_response_items) == batch
        return jobs / (time.perf_counter() - started), first_call


def per_call_costs(path: str, headers: dict[str, str]) -> None:
    """In this process, with the server's own settings: what one check costs, first (argon2,
    signature) and cached (SHA-256 and a look-up), against the batch's time budget."""
    from armada.config import load_settings
    from armada.config.server import ServerSettings
    from armada.security import build_security

    settings = load_settings(ServerSettings, Path(path))
    for name, header in headers.items():
        security = build_security(settings.auth)
        started = time.perf_counter()
        security.authenticate(header)
        first = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(10_000):
            security.authenticate(header)
        cached = (time.perf_counter() - started) / 10_000
        print(f"  [{name}] first check {first * 1000:.1f} ms, cached {cached * 1e6:.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with running_issuer() as issuer, tempfile.TemporaryDirectory() as folder:
        path = config_file(folder, issuer.url)
        basic = "Basic " + base64.b64encode(b"bench:bench-password").decode()
        token = issuer.token("bench", lifetime=3600)
        headers = {"anonymous": "", "basic": basic, "jwt": f"Bearer {token}"}
        per_call_costs(path, headers)
        rates: dict[str, list[float]] = {name: [] for name in headers}
        with armada_dev("--config", path, component="server") as address:
            with grpc.insecure_channel(address) as channel:
                admin = ArmadaClient(channel)
                admin.create_queue(admin.create_queue_request("bench", 1.0))
            for run in range(args.runs):
                order = list(headers) if run % 2 == 0 else list(reversed(headers))
                for name in order:
                    rate, first = submit(
                        address, headers[name], args.jobs, args.batch, f"{name}-{run}"
                    )
                    rates[name].append(rate)
                    figure = f"{rate:,.0f} jobs/s (first call {first * 1000:.0f} ms)"
                    print(f"run {run + 1} {name}: {figure}", flush=True)
    base = median(rates["anonymous"])
    for name, values in rates.items():
        change = (median(values) / base - 1) * 100
        figure = f"{median(values):,.0f} jobs/s (median; {change:+.1f} % vs anonymous)"
        print(f"auth_submit[{name}]: {figure}")
    print(f"load average at end: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
