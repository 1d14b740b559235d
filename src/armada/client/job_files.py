"""Job files: Armada's YAML format for submitting jobs, read into ``JobSubmitRequestItem``s.

A job file names a queue and a job set and lists jobs, each an Armada ``JobSubmitRequestItem``
written with its JSON field names (``priority``, ``namespace``, ``clientId``, ``labels``,
``annotations``, ``podSpec`` or ``podSpecs``, ``ingress``, ``services``, ...)::

    queue: test
    jobSetId: set1
    jobs:
      - priority: 0
        podSpec:
          restartPolicy: Never
          containers: [...]

Checks made here are the ones that need no server: the shape of the file, field names and value
types, quantities, and one pod spec per job. The server applies its own rules on submission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armada_client.armada import submit_pb2

from armada.client.job_files_parallel import read_in_two
from armada.client.yaml_documents import FileError, key_line, load_yaml_documents
from armada.client.yaml_messages import describe, message_to_document, read_message

DEFAULT_NAMESPACE = "default"
_TOP_LEVEL = {"queue": "queue", "jobsetid": "jobSetId", "jobs": "jobs"}


@dataclass
class JobFile:
    """A job file's target and its jobs, ready to submit."""

    queue: str
    job_set_id: str
    items: list[Any] = field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        """The file as plain data (what ``submit --dry-run`` prints)."""
        return {
            "queue": self.queue,
            "jobSetId": self.job_set_id,
            "jobs": [message_to_document(item) for item in self.items],
        }


def read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise FileError("is a directory, not a file", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(f"cannot read: {exc}", path=str(path)) from None


def load_job_file(path: str | Path, *, require_target: bool = True) -> JobFile:
    """Read and check a job file. ``require_target=False`` allows a file of job templates
    without ``queue`` and ``jobSetId`` (the load tester's)."""
    name = str(path)
    return parse_job_file(read_text(path), path=name, require_target=require_target)


def parse_job_file(text: str, *, path: str | None = None, require_target: bool = True) -> JobFile:
    # Each job becomes its message as soon as it is read: a 10,000-job file is never held as
    # YAML values all at once (bench/submit_armadactl.py).
    def read_job(job: Any, index: int, line: int) -> Any:
        return _job(job, index, line, path)

    halves = read_in_two(text, read_job)
    if halves is not None:  # a large good file, read on two cores
        header, jobs = halves
        header["jobs"] = jobs
        try:
            return _job_file(header, path, require_target)
        except FileError:
            pass  # said by the sequential reader below, in its words
    documents = load_yaml_documents(text, path, item_hook=("jobs", read_job))
    if len(documents) != 1:
        raise FileError(f"expected one YAML document, found {len(documents)}", path=path)
    return _job_file(documents[0], path, require_target)


def _job_file(document: Any, path: str | None, require_target: bool) -> JobFile:
    if not isinstance(document, dict):
        raise FileError(
            f"expected a mapping with queue, jobSetId and jobs, got {describe(document)}",
            path=path,
            line=1,
        )
    values: dict[str, Any] = {}
    for key, value in document.items():
        canonical = _TOP_LEVEL.get(str(key).lower())
        if canonical is None:
            raise FileError(
                f"unknown field '{key}' (a job file has queue, jobSetId and jobs)",
                path=path,
                line=key_line(document, key, 1),
            )
        values[canonical] = (value, key_line(document, key, 1))
    queue = _required_string(values, "queue", path, require_target)
    job_set_id = _required_string(values, "jobSetId", path, require_target)
    jobs, jobs_line = values.get("jobs", (None, 1))
    if not isinstance(jobs, list) or not jobs:
        got = "nothing" if jobs is None else describe(jobs)
        raise FileError(
            f"jobs: expected a list of at least one job, got {got}", path=path, line=jobs_line
        )
    lines = getattr(jobs, "item_lines", [jobs_line] * len(jobs))
    items = [  # read as they were parsed, unless the key was spelled otherwise ("Jobs")
        job if isinstance(job, submit_pb2.JobSubmitRequestItem) else _job(job, i, lines[i], path)
        for i, job in enumerate(jobs)
    ]
    return JobFile(queue=queue, job_set_id=job_set_id, items=items)


def _required_string(values: dict[str, Any], key: str, path: str | None, required: bool) -> str:
    value, line = values.get(key, (None, 1))
    if value is None:
        if required:
            raise FileError(
                f"{key}: missing (a job file names its queue and jobSetId)", path=path, line=1
            )
        return ""
    if not isinstance(value, str) or not value:
        raise FileError(
            f"{key}: expected a non-empty string, got {describe(value)}", path=path, line=line
        )
    return value


def _job(value: Any, index: int, line: int, path: str | None) -> Any:
    where = f"jobs[{index}]"
    item = read_message(value, submit_pb2.JobSubmitRequestItem, where=where, line=line, path=path)
    specs = len(item.pod_specs) + (1 if item.HasField("pod_spec") else 0)
    if specs == 0:
        raise FileError(f"{where}: no podSpec (every job needs one pod spec)", path=path, line=line)
    if item.HasField("pod_spec") and item.pod_specs:
        raise FileError(f"{where}: give podSpec or podSpecs, not both", path=path, line=line)
    if specs > 1:
        raise FileError(
            f"{where}.podSpecs: {specs} pod specs; jobs with multiple pods are not supported",
            path=path,
            line=line,
        )
    spec = item.pod_spec if item.HasField("pod_spec") else item.pod_specs[0]
    if not spec.containers:
        raise FileError(f"{where}: the pod spec has no containers", path=path, line=line)
    if not item.namespace:
        item.namespace = DEFAULT_NAMESPACE
    return item
