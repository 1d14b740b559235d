"""Resource documents: ``kind: Queue`` and ``kind: RetryPolicy`` files, as Armada writes them.

    apiVersion: armadaproject.io/v1beta1
    kind: Queue
    name: team-a
    priorityFactor: 1
    permissions:
      - subjects: [{kind: Group, name: team-a}]
        verbs: [submit, cancel, reprioritize, watch]

One file may hold several documents separated by ``---``. The rest of each document is the
``api.Queue`` or ``api.RetryPolicy`` message in its JSON field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from armada_client.armada import submit_pb2

from armada.client.job_files import read_text
from armada.client.yaml_documents import FileError, LocatedDict, key_line, load_yaml_documents
from armada.client.yaml_messages import describe, message_to_document, read_message

API_VERSION = "armadaproject.io/v1beta1"
QUEUE = "Queue"
RETRY_POLICY = "RetryPolicy"
_KINDS: dict[str, Any] = {QUEUE: submit_pb2.Queue, RETRY_POLICY: submit_pb2.RetryPolicy}


@dataclass(frozen=True)
class Resource:
    kind: str
    message: Any
    line: int

    @property
    def name(self) -> str:
        return str(self.message.name)


def load_resources(
    path: str | Path, *, kinds: tuple[str, ...] = (QUEUE, RETRY_POLICY)
) -> list[Resource]:
    """Every document of a resource file, checked; ``kinds`` limits the kinds allowed."""
    name = str(path)
    return parse_resources(read_text(path), path=name, kinds=kinds)


def parse_resources(
    text: str, *, path: str | None = None, kinds: tuple[str, ...] = (QUEUE, RETRY_POLICY)
) -> list[Resource]:
    documents = load_yaml_documents(text, path)
    if not documents:
        raise FileError("no documents in the file", path=path)
    return [_resource(document, path, kinds) for document in documents]


def _resource(document: Any, path: str | None, kinds: tuple[str, ...]) -> Resource:
    line = getattr(document, "line", 1)
    if not isinstance(document, dict):
        raise FileError(f"expected a mapping, got {describe(document)}", path=path, line=line)
    version = document.get("apiVersion")
    if version != API_VERSION:
        got = "nothing" if version is None else repr(version)
        raise FileError(
            f"apiVersion: expected {API_VERSION}, got {got}",
            path=path,
            line=key_line(document, "apiVersion", line),
        )
    kind = document.get("kind")
    if kind not in kinds:
        allowed = " or ".join(kinds)
        got = "nothing" if kind is None else repr(kind)
        raise FileError(
            f"kind: expected {allowed}, got {got}", path=path, line=key_line(document, "kind", line)
        )
    body = LocatedDict((k, v) for k, v in document.items() if k not in ("apiVersion", "kind"))
    body.line = line
    body.key_lines = getattr(document, "key_lines", {})
    message = read_message(body, _KINDS[kind], where=f"{kind}", line=line, path=path)
    if not message.name:
        raise FileError(f"{kind}: name is missing", path=path, line=line)
    return Resource(kind=kind, message=message, line=line)


def resource_document(kind: str, message: Any) -> dict[str, Any]:
    """``apiVersion``, ``kind``, then the message's fields: what ``create -f`` reads."""
    return {"apiVersion": API_VERSION, "kind": kind, **message_to_document(message)}
