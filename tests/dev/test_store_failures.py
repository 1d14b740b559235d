"""The store's failures as a real `armada dev` process meets them: a full disk (a small tmpfs
the test mounts) and damaged files (the process must refuse to start with one clear message
naming the file, no traceback)."""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.client import ArmadaClient

from armada.rpc.gen import executorapi_pb2 as xpb
from armada.rpc.gen import executorapi_pb2_grpc as xpb_grpc
from armada.waiting import wait_until
from tests.api_builders import create_queue, events, item
from tests.dev.test_processes import ARMADA, Processes, environment, processes, start

__all__ = ["processes"]  # the fixture, shared with the process tests

DISK_FULL = "the store's disk is full"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs, or a skip where mounting is not allowed (the SQLite size-limit test in
    tests/eventlog/test_store_failures.py covers the same path then)."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(where)],
        check=False,
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; return the file that holds them."""
    filler = disk / "filler"
    with open(filler, "wb") as out, contextlib.suppress(OSError):
        while True:
            try:
                out.write(b"\0" * 65536)
                out.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    return filler


def code_and_details(call: object) -> tuple[grpc.StatusCode, str]:
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as exc:
        return exc.code(), exc.details()
    return grpc.StatusCode.OK, ""


def test_a_full_disk_is_said_reads_go_on_and_writes_resume_when_space_returns(
    small_disk: Path, processes: Processes
) -> None:
    data = str(small_disk / "data")
    address = start(processes, "dev", "--data-dir", data, "--clusters", "1", env=environment())
    with grpc.insecure_channel(address) as channel:
        client = ArmadaClient(channel)
        create_queue(client)
        long = item(annotations={"armadaproject.io/fake-runtime": "1h"})
        job_id = client.submit_jobs("queue-a", "s", [long]).job_response_items[0].job_id

        def runs() -> list[str]:
            return [r.run_id for r in client.get_job_details([job_id]).job_details[job_id].job_runs]

        wait_until(
            lambda: client.get_job_status([job_id]).job_states[job_id] == 2, timeout=60
        )  # RUNNING
        (run_id,) = runs()
        filler = fill(small_disk)

        submit = lambda: client.submit_jobs("queue-a", "s", [item()])  # noqa: E731
        assert code_and_details(submit) == (grpc.StatusCode.RESOURCE_EXHAUSTED, DISK_FULL)
        report = xpb.EventList(
            executor_id="cluster-1",
            events=[xpb.RunEvent(job_id=job_id, run_id=run_id, succeeded=xpb.RunSucceeded())],
        )
        reporting = xpb_grpc.ExecutorApiStub(channel).ReportEvents
        assert code_and_details(lambda: reporting(report, timeout=30)) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            DISK_FULL,
        )
        # Reads go on.
        assert client.get_job_status([job_id]).job_states[job_id] == 2
        assert [q.name for q in client.get_queues()] == ["queue-a"]
        assert len(events(client, "queue-a", "s")) >= 5

        filler.unlink()
        outcome: list[tuple[grpc.StatusCode, str]] = [code_and_details(submit)]

        def submitted() -> bool:
            outcome.append(code_and_details(submit))
            return bool(outcome[-1][0] == grpc.StatusCode.OK)

        wait_until(submitted, timeout=60, what="writes to resume")
        assert outcome[-1][0] == grpc.StatusCode.OK, f"writes did not resume: {outcome[-1]}"
        assert code_and_details(lambda: reporting(report, timeout=30))[0] == grpc.StatusCode.OK
        wait_until(lambda: client.get_job_status([job_id]).job_states[job_id] == 3, timeout=60)
        assert client.get_job_status([job_id]).job_states[job_id] == 3  # SUCCEEDED
    assert processes[0].poll() is None, "the process served on throughout"


def stored_log(data: Path, entries: int = 300) -> Path:
    """A data directory whose log has ``entries`` entries; the log's path."""
    from armada.config.server import StorageSettings
    from armada.views.storage import open_storage
    from tests.builders import sequence, submit

    storage = open_storage(StorageSettings(data_dir=data))
    storage.append([sequence(submit(f"job-{i}")) for i in range(entries)])
    storage.close()
    return data / "armada.db"


def start_on(data: Path, command: str) -> subprocess.CompletedProcess[str]:
    """Start ``armada COMMAND`` on ``data``; it is expected to refuse, within the timeout."""
    args = [*ARMADA, command, "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data)]
    if command == "dev":
        args += ["--clusters", "0"]
    return subprocess.run(
        args, check=False, capture_output=True, text=True, timeout=60, env=environment()
    )


def damage_header(path: Path) -> None:
    with open(path, "r+b") as f:
        f.write(b"not SQLite at all, sorry")


def damage_tail(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size - 3 * 4096)
        f.write(bytes(range(256)) * 48)


@pytest.mark.parametrize("command", ["server", "dev"])
@pytest.mark.parametrize("damage", [damage_header, damage_tail], ids=["header", "tail"])
def test_a_damaged_log_stops_the_start_with_one_message_naming_the_file(
    tmp_path: Path, command: str, damage: object
) -> None:
    log_path = stored_log(tmp_path / "data")
    damage(log_path)  # type: ignore[operator]
    result = start_on(tmp_path / "data", command)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"armada {command}: {log_path} is damaged"), message
    assert "restore it from a backup" in message
    assert "is serving on" not in result.stdout


def test_a_damaged_views_file_is_rebuilt_at_start(tmp_path: Path, processes: Processes) -> None:
    data = tmp_path / "data"
    stored_log(data, entries=3)
    damage_header(data / "views.db")
    address = start(processes, "server", "--data-dir", str(data), env=environment())
    with grpc.insecure_channel(address) as channel:
        client = ArmadaClient(channel)
        states = client.get_job_status(["job-0", "job-1", "job-2"]).job_states
        assert sorted(states) == ["job-0", "job-1", "job-2"]
