"""A large job file read on two cores: the second half of its jobs in a forked process.

Reading 10,000 jobs is a few seconds of Python on one core (``yaml_blocks``, then a message a
job); a script that submits them waits for all of it. When the file has the plain shape of a
generated one (``queue``, ``jobSetId``, then ``jobs:`` and nothing after the list), its jobs
are cut in two at an item's first line: this process reads the first half while a child it
forks reads the second and sends its jobs back as one serialised message.

This only makes a good file faster. Anything unusual, or any error in either half, returns
None and the caller reads the whole file in one piece, so that what it accepts and the errors
it gives (with their lines and job indexes) are exactly the sequential reader's.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from typing import Any

from armada_client.armada import submit_pb2

from armada.client.yaml_documents import load_simple_document

MIN_PARALLEL_BYTES = 1 << 20  # below this, forking costs more than it saves
_JOBS_LINE = re.compile(r"^jobs:[ ]*\n", re.MULTILINE)
_FIRST_ITEM = re.compile(r"^(?:[ ]*(?:#.*)?\n)*([ ]*)- ", re.MULTILINE)

ReadJob = Callable[[Any, int, int], Any]


def read_in_two(text: str, read_job: ReadJob) -> tuple[Any, list[Any]] | None:
    """The file's top-level values other than ``jobs`` (a ``LocatedDict``) and its jobs as
    ``read_job`` made them; None when the file is not for this reader (see above)."""
    if len(text) < MIN_PARALLEL_BYTES or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return None
    if threading.active_count() > 1:
        return None  # a forked child of a threaded process may find a lock held for ever
    jobs_line = _JOBS_LINE.search(text)
    if jobs_line is None or _JOBS_LINE.search(text, jobs_line.end()) is not None:
        return None
    first = _FIRST_ITEM.match(text, jobs_line.end())
    if first is None:
        return None
    item_start = re.compile(rf"^{first.group(1)}- ", re.MULTILINE)
    middle = item_start.search(text, len(text) // 2)
    if middle is None or middle.start() <= first.end():
        return None
    header = _read(text[: jobs_line.start()], None)
    if header is None or any(str(key).lower() == "jobs" for key in header):
        return None
    lines_before_jobs = text.count("\n", 0, jobs_line.start())
    lines_before_middle = text.count("\n", 0, middle.start())
    first_half = "\n" * lines_before_jobs + text[jobs_line.start() : middle.start()]
    second_half = "\n" * (lines_before_middle - 1) + "jobs:\n" + text[middle.start() :]
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: read the second half, send it back, and leave at once
        os.close(reader)
        code = 1
        try:
            jobs = _jobs(second_half, read_job)
            if jobs is not None:
                data = submit_pb2.JobSubmitRequest(job_request_items=jobs).SerializeToString()
                with os.fdopen(writer, "wb") as out:
                    out.write(data)
                code = 0
        finally:
            os._exit(code)
    os.close(writer)
    received = os.fdopen(reader, "rb")
    try:
        jobs = _jobs(first_half, read_job)
        data = received.read()
    finally:
        received.close()  # a child still writing gets an error and leaves
        _, status = os.waitpid(child, 0)
    if jobs is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    rest = submit_pb2.JobSubmitRequest.FromString(data).job_request_items
    return header, [*jobs, *rest]


def _read(text: str, hook: tuple[str, ReadJob] | None) -> Any:
    try:
        document = load_simple_document(text, hook)
    except Exception:  # any problem: the sequential reader says what it is
        return None
    return document if isinstance(document, dict) else None


def _jobs(text: str, read_job: ReadJob) -> list[Any] | None:
    document = _read(text, ("jobs", read_job))
    if document is None or list(document) != ["jobs"]:
        return None
    jobs = document["jobs"]
    return jobs if isinstance(jobs, list) and jobs else None
