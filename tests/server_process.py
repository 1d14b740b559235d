"""A component (`armada dev`, `armada server`) run as a process of its own, for tests about
processes: crashes, restarts, memory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from armada_client.client import ArmadaClient

from armada.config.auth import PERMISSIONS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    """The resident set size of process ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


# `armada server` and `armada scheduler` refuse anonymous callers unless told: these tests
# are about other things, so they let anonymous callers do everything (as `armada dev` does).
OPEN_AUTH_ENV = {
    "ARMADA_AUTH__ANONYMOUS_AUTH": "true",
    "ARMADA_AUTH__PERMISSION_GROUP_MAPPING": json.dumps({p: ["everyone"] for p in PERMISSIONS}),
}


def with_open_auth(env: dict[str, str] | None) -> dict[str, str]:
    """``env`` (else this process's environment) plus :data:`OPEN_AUTH_ENV`."""
    return {**(env if env is not None else os.environ), **OPEN_AUTH_ENV}


class ServerProcess:
    def __init__(self, data_dir: Path, *args: str, component: str = "dev") -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.component = component
        self.args = args if args or component != "dev" else ("--clusters", "0")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def launch(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start the process; return it at once (its stdout is a pipe)."""
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "armada.cli.armada_main",
                self.component,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                *self.args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=with_open_auth(env),
        )
        return self.proc

    def start(self, timeout: float = 30, env: dict[str, str] | None = None) -> None:
        """Start the process and wait until it answers."""
        proc = self.launch(env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with grpc.insecure_channel(self.address) as ch:
                    if ArmadaClient(ch).submit_health().status == 1:
                        return
            except grpc.RpcError:
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._close()

    def _close(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
