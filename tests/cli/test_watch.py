"""armadactl watch: raw lines, Armada's summary lines, JSON lines, --exit-if-inactive, and
resuming after the server restarts (nothing lost, nothing repeated)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from armada_client.armada import submit_pb2

from armada.client import (
    Client,
    ConnectionDetails,
    JobSetFollower,
    ServerUnreachable,
    parse_job_file,
)
from armada.dev.embedded import EmbeddedArmada
from armada.waiting import wait_until
from tests.cli.conftest import Armadactl, job_file_text
from tests.conftest import dev_settings

ARMADACTL = str(Path(sys.executable).with_name("armadactl"))


def finish(process: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    """The rest of a process's output once it exits (reading the same buffered streams that
    readline() used: communicate() would skip what they had read ahead)."""
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None and process.stderr is not None
        out, err = process.stdout.read(), process.stderr.read()
        process.wait()
    finally:
        watchdog.cancel()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    return out, err


# Runs a command with SIGINT's default action, as a terminal's foreground process has it: a
# test run started in the background by a non-interactive shell (nohup ... &) ignores SIGINT,
# and an ignored signal stays ignored across exec, so Ctrl-C would otherwise do nothing.
AS_IN_A_TERMINAL = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL);"
    " os.execv(sys.argv[1], sys.argv[1:])",
]


def start_watch(address: str) -> subprocess.Popen[str]:
    """The console script watching queue-a/set-1 (--raw --exit-if-inactive) in a subprocess."""
    return subprocess.Popen(
        [
            *AS_IN_A_TERMINAL,
            ARMADACTL,
            "--armadaUrl",
            address,
            "watch",
            "queue-a",
            "set-1",
            "--raw",
            "--exit-if-inactive",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def submit(api: Client, count: int = 2, job_set: str = "set-1") -> list[str]:
    jobs = parse_job_file(job_file_text(job_set=job_set, jobs=count))
    return api.submit_jobs("queue-a", job_set, jobs.items)


@pytest.fixture
def queue(api: Client) -> str:
    api.create_queue(submit_pb2.Queue(name="queue-a", priority_factor=1))
    return "queue-a"


def test_raw_lines_until_every_job_finished(armadactl: Armadactl, api: Client, queue: str) -> None:
    first, second = submit(api)
    api.cancel_jobs(queue, "set-1")
    result = armadactl("watch", queue, "set-1", "--raw", "--exit-if-inactive")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Watching job set set-1"
    words = [line.split()[1:3] for line in lines[1:]]
    assert words == [
        ["Submitted", first],
        ["Queued", first],
        ["Submitted", second],
        ["Queued", second],
        ["Cancelling", first],
        ["Cancelled", first],
        ["Cancelling", second],
        ["Cancelled", second],
    ]
    assert lines[5].endswith("requestor=anonymous")
    assert lines[1].split()[0].endswith("Z")  # an RFC 3339 time


def test_summary_lines_as_armada_prints_them(armadactl: Armadactl, api: Client, queue: str) -> None:
    (job,) = submit(api, 1)
    api.cancel_jobs(queue, "set-1")
    result = armadactl("watch", queue, "set-1", "--exit-if-inactive")
    lines = result.stdout.splitlines()
    assert lines[0] == "Watching job set set-1"
    assert lines[1].endswith(f"| JobSubmittedEvent, job id: {job}")
    assert "| Queued:   1, Leased:   0, Pending:   0, Running:   0," in lines[2]
    assert "Cancelled:   1, Preempted:   0 | JobCancelledEvent" in lines[-1]


def test_json_lines(armadactl: Armadactl, api: Client, queue: str) -> None:
    submit(api, 1)
    api.cancel_jobs(queue, "set-1")
    result = armadactl("watch", queue, "set-1", "--raw", "-o", "json", "--exit-if-inactive")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["type"] for e in events] == ["Submitted", "Queued", "Cancelling", "Cancelled"]
    assert (
        events[0]["event"]["job"]["podSpec"]["containers"][0]["resources"]["limits"]["cpu"]
        == "150m"
    )
    assert "Watching job set" in result.stderr


def test_unknown_queue_and_unreachable_server(armadactl: Armadactl, offline: Armadactl) -> None:
    result = armadactl("watch", "nope", "set-1")
    assert (result.exit_code, result.stderr) == (1, "Error: queue 'nope' does not exist\n")
    result = offline("--armadaUrl", "127.0.0.1:1", "watch", "q", "s")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: cannot reach the Armada server at 127.0.0.1:1 (")


def test_the_console_script_follows_events_as_they_happen(
    armada: EmbeddedArmada, api: Client, queue: str
) -> None:
    watcher = start_watch(armada.address)
    assert watcher.stdout is not None
    assert watcher.stdout.readline() == "Watching job set set-1\n"
    submit(api, 1)
    assert " Submitted " in watcher.stdout.readline()
    api.cancel_jobs(queue, "set-1")
    out, err = finish(watcher)
    assert watcher.returncode == 0, err
    assert [line.split()[1] for line in out.splitlines()] == ["Queued", "Cancelling", "Cancelled"]


def test_ctrl_c_ends_a_watch_quietly(armada: EmbeddedArmada, queue: str) -> None:
    watcher = start_watch(armada.address)
    assert watcher.stdout is not None
    assert watcher.stdout.readline() == "Watching job set set-1\n"
    watcher.send_signal(signal.SIGINT)
    out, err = finish(watcher)
    assert watcher.returncode == 130
    assert out == "" and err.strip() == ""  # no traceback


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[list[EmbeddedArmada]]:
    """An armada dev on a fixed port and data directory, which a test may restart."""
    settings = dev_settings(tmp_path / "data", grpc={"host": "127.0.0.1", "port": free_port()})
    servers = [EmbeddedArmada(settings).start()]
    yield servers
    servers[-1].stop()


def restart(servers: list[EmbeddedArmada], client: Client) -> None:
    servers[-1].stop()
    servers.append(EmbeddedArmada(servers[-1].settings).start())

    def reachable() -> bool:
        try:
            client.health()
        except ServerUnreachable:
            return False
        return True

    # The channel reconnects within its (short) backoff.
    wait_until(reachable, timeout=10, what="the restarted server", interval=0.1)


def test_following_resumes_after_a_restart(restartable: list[EmbeddedArmada]) -> None:
    client = Client.connect(ConnectionDetails(url=restartable[0].address))
    client.create_queue(submit_pb2.Queue(name="queue-a", priority_factor=1))
    first = submit(client, 1)
    notices: list[str] = []
    follower = JobSetFollower(
        client, "queue-a", "set-1", on_reconnecting=lambda e, d: notices.append(e.message)
    )
    seen: list[tuple[str, str]] = []
    reader = threading.Thread(target=lambda: seen.extend((e.kind, e.job_id) for e in follower))
    reader.start()
    wait_until(lambda: len(seen) >= 2, timeout=10, what="the first job's events")
    restart(restartable, client)
    second = submit(client, 1)
    wait_until(lambda: len(seen) >= 4, timeout=10, what="the second job's events")
    follower.cancel()
    reader.join(timeout=5)
    client.close()
    assert seen == [
        ("submitted", first[0]),
        ("queued", first[0]),
        ("submitted", second[0]),
        ("queued", second[0]),
    ]
    assert notices and "cannot reach the Armada server" in notices[0]
    assert follower.last_message_id


def test_watch_command_survives_a_restart(restartable: list[EmbeddedArmada]) -> None:
    address = restartable[0].address
    client = Client.connect(ConnectionDetails(url=address))
    client.create_queue(submit_pb2.Queue(name="queue-a", priority_factor=1))
    watcher = start_watch(address)
    assert watcher.stdout is not None
    watcher.stdout.readline()
    first = submit(client, 1)
    assert " Submitted " in watcher.stdout.readline()
    restart(restartable, client)
    second = submit(client, 1)
    client.cancel_jobs("queue-a", "set-1")
    out, err = finish(watcher)
    client.close()
    assert watcher.returncode == 0
    jobs = [line.split()[1:3] for line in out.splitlines()]
    assert jobs[:3] == [["Queued", first[0]], ["Submitted", second[0]], ["Queued", second[0]]]
    assert sorted(kind for kind, _ in jobs[3:]) == ["Cancelled"] * 2 + ["Cancelling"] * 2
    assert "reconnecting" in err
