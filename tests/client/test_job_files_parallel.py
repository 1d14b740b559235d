"""A large job file is read on two cores, and gives exactly what reading it in one piece
gives: the same jobs, or the same error with the same line and job index."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.submit_armadactl import job_file

import armada.client.job_files_parallel as parallel
from armada.client.job_files import JobFile, _job, parse_job_file
from armada.client.yaml_documents import FileError


@pytest.fixture(autouse=True)
def small_files_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)


def read_job(job: Any, index: int, line: int) -> Any:
    return _job(job, index, line, None)


def sequential(text: str, monkeypatch: pytest.MonkeyPatch) -> JobFile | FileError:
    with monkeypatch.context() as patched:
        patched.setattr(parallel, "MIN_PARALLEL_BYTES", 1 << 60)
        try:
            return parse_job_file(text, path="jobs.yaml")
        except FileError as exc:
            return exc


def in_two(text: str) -> JobFile | FileError:
    try:
        return parse_job_file(text, path="jobs.yaml")
    except FileError as exc:
        return exc


def test_a_generated_file_is_read_in_two_halves_giving_the_same_jobs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = job_file(200, "set")
    # The file is read in two only in a process without other threads (a forked child of a
    # threaded process may find a lock held for ever); earlier tests in this process may have
    # left threads, so the reader is checked to take the two-core path in a fresh interpreter.
    taken = "\n".join(
        [
            "import armada.client.job_files_parallel as parallel",
            "from bench.submit_armadactl import job_file",
            "from tests.client.test_job_files_parallel import read_job",
            "parallel.MIN_PARALLEL_BYTES = 0",
            "assert parallel.read_in_two(job_file(200, 'set'), read_job) is not None",
        ]
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", taken], check=True, cwd=root, timeout=120)
    got, expected = in_two(text), sequential(text, monkeypatch)
    assert isinstance(got, JobFile) and isinstance(expected, JobFile)
    assert (got.queue, got.job_set_id) == (expected.queue, expected.job_set_id)
    assert list(got.items) == list(expected.items) and len(got.items) == 200


@pytest.mark.parametrize(
    ("find", "replace"),
    [
        ("imagePullPolicy: IfNotPresent\n", "imagePulPolicy: IfNotPresent\n"),  # unknown field
        ("memory: 64Mi\n", "memory: 64Mo\n"),  # a bad quantity
        ("restartPolicy: Never\n", "restartPolicy: [Never\n"),  # invalid YAML
    ],
)
def test_a_mistake_in_the_second_half_is_reported_as_in_one_piece(
    find: str, replace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = job_file(200, "set")
    at = text.rindex(find, 0, len(text) * 3 // 4)
    text = text[:at] + replace + text[at + len(find) :]
    got, expected = in_two(text), sequential(text, monkeypatch)
    assert isinstance(got, FileError) and isinstance(expected, FileError)
    assert (str(got), got.line) == (str(expected), expected.line)
    assert got.line is not None and got.line > text.count("\n") // 2


@pytest.mark.parametrize(
    "text",
    [
        job_file(200, "set") + "extra: 1\n",  # a key after the jobs
        job_file(200, "set").replace("queue: bench\n", "queue: bench\nJobs: []\n"),
        job_file(200, "set").replace("queue: bench\n", ""),  # no queue
        job_file(200, "set").replace("jobSetId: set\n", "jobSetId: set\nowner: x\n"),
    ],
)
def test_unusual_files_are_read_in_one_piece(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    got, expected = in_two(text), sequential(text, monkeypatch)
    assert type(got) is type(expected)
    if isinstance(got, FileError):
        assert (str(got), got.line) == (str(expected), expected.line)


@pytest.fixture
def another_thread() -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    yield
    stop.set()
    thread.join()


@pytest.mark.usefixtures("another_thread")
def test_a_threaded_process_does_not_fork() -> None:
    assert parallel.read_in_two(job_file(200, "set"), read_job) is None
