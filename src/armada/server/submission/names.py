"""Kubernetes' rules for names, labels and annotations, and bounds on free-text ids.

Armada leaves these to Kubernetes, which refuses the pod only when an executor creates it:
the job then fails long after it was accepted, or (a 60 MB annotation) is accepted, runs, and
makes its job set unreadable for every default client (4 MiB messages). Here they are checked
at submission, each error naming the rule, as Kubernetes' API validation states them:

* container names and namespaces are DNS-1123 labels;
* label and annotation keys are qualified names with an optional DNS-1123 subdomain prefix;
* label values are empty or qualified-name-shaped, at most 63 characters;
* annotations (keys and values) total at most 256 KiB per object, as do labels;
* ids that are free text (job set ids, client ids) are printable and bounded.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from armada_client.armada import submit_pb2
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.domain.quoting import shown
from armada.server.submission.errors import SubmissionError

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
TOTAL_ANNOTATION_BYTES = 256 * 1024  # Kubernetes' TotalAnnotationSizeLimitB
MAX_URI_LENGTH = 4096

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")

DNS1123_LABEL_RULE = (
    "Kubernetes requires a DNS-1123 label: at most 63 characters, lower-case letters, digits"
    " and '-', starting and ending with a letter or digit"
)
QUALIFIED_NAME_RULE = (
    "Kubernetes requires a qualified name: an optional DNS-1123 subdomain prefix (at most 253"
    " characters) and '/', then at most 63 characters of letters, digits, '-', '_' and '.',"
    " starting and ending with a letter or digit"
)
LABEL_VALUE_RULE = (
    "Kubernetes requires a label value to be empty or at most 63 characters of letters,"
    " digits, '-', '_' and '.', starting and ending with a letter or digit"
)


# The same names come again and again (namespaces, label keys): each is checked once.
@functools.lru_cache(maxsize=4096)
def is_dns1123_label(value: str) -> bool:
    return len(value) <= DNS1123_LABEL_MAX and _DNS1123_LABEL.fullmatch(value) is not None


def check_dns1123_label(field: str, value: str) -> None:
    if not is_dns1123_label(value):
        raise SubmissionError(field, f"{shown(value)} is invalid: {DNS1123_LABEL_RULE}")


@functools.lru_cache(maxsize=4096)
def is_qualified_name(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and not (
        0 < len(prefix) <= DNS1123_SUBDOMAIN_MAX and _DNS1123_SUBDOMAIN.fullmatch(prefix)
    ):
        return False
    return len(name) <= QUALIFIED_NAME_MAX and _QUALIFIED_NAME.fullmatch(name) is not None


def check_keys(field: str, keys: Iterable[str]) -> None:
    for key in keys:
        if not is_qualified_name(key):
            raise SubmissionError(f"{field}[{shown(key)}]", f"invalid key: {QUALIFIED_NAME_RULE}")


def check_total_size(field: str, values: Mapping[str, str], what: str) -> None:
    total = sum(len(k.encode()) + len(v.encode()) for k, v in values.items())
    if total > TOTAL_ANNOTATION_BYTES:
        raise SubmissionError(
            field,
            f"{what} total {total} bytes (keys and values); Kubernetes allows at most"
            f" {TOTAL_ANNOTATION_BYTES} (256 KiB) per object",
        )


def check_annotations(field: str, annotations: Mapping[str, str]) -> None:
    check_total_size(field, annotations, "annotations")
    check_keys(field, annotations)


def check_labels(field: str, labels: Mapping[str, str]) -> None:
    check_total_size(field, labels, "labels")
    check_keys(field, labels)
    for key, value in labels.items():
        if value and not (
            len(value) <= LABEL_VALUE_MAX and _QUALIFIED_NAME.fullmatch(value) is not None
        ):
            raise SubmissionError(
                f"{field}[{shown(key)}]", f"{shown(value)} is invalid: {LABEL_VALUE_RULE}"
            )


def check_free_text(field: str, value: str, limit: int) -> None:
    """An id that is free text: printable (no control characters, no NUL), at most ``limit``
    characters."""
    if len(value) > limit:
        raise SubmissionError(field, f"is {len(value)} characters long; the limit is {limit}")
    if not value.isprintable():
        raise SubmissionError(
            field, f"{shown(value)} contains unprintable characters (control characters, NUL)"
        )


def check_item_metadata(
    item: submit_pb2.JobSubmitRequestItem,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    max_client_id_length: int,
) -> None:
    """One item's namespace, client id, labels and annotations (after ``{JobId}`` is filled
    in). The ingresses' annotations count towards the job's 256 KiB, since every event
    message about the job carries them all."""
    if not item.namespace:
        raise SubmissionError("namespace", "a namespace is required")
    check_dns1123_label("namespace", item.namespace)
    # What is empty needs no check (most of a generated batch): a thousand items a request.
    if item.client_id:
        check_free_text("client_id", item.client_id, max_client_id_length)
    if labels:
        check_labels("labels", labels)
    if item.required_node_labels:
        check_labels("required_node_labels", item.required_node_labels)
    if annotations:
        check_annotations("annotations", annotations)
    if item.ingress:
        everything = dict(annotations)
        for i, ingress in enumerate(item.ingress):
            check_keys(f"ingress[{i}].annotations", ingress.annotations)
            everything.update({f"ingress[{i}]/{k}": v for k, v in ingress.annotations.items()})
        check_total_size("ingress", everything, "annotations with the ingresses' annotations")
    if item.external_job_uri:
        check_free_text("external_job_uri", item.external_job_uri, MAX_URI_LENGTH)
    if item.scheduler:
        check_free_text("scheduler", item.scheduler, DNS1123_SUBDOMAIN_MAX)


def check_pod_names(field: str, pod: core.PodSpec) -> None:
    """Container names (DNS-1123 labels, unique within the pod) and the node selector (label
    keys and values)."""
    seen: set[str] = set()
    for kind, containers in (
        ("containers", pod.containers),
        ("initContainers", pod.initContainers),
    ):
        for i, container in enumerate(containers):
            check_dns1123_label(f"{field}.{kind}[{i}].name", container.name)
            if container.name in seen:
                raise SubmissionError(
                    f"{field}.{kind}[{i}].name",
                    f"{shown(container.name)} is used by another container of the pod;"
                    " Kubernetes requires unique container names",
                )
            seen.add(container.name)
    check_labels(f"{field}.nodeSelector", pod.nodeSelector)
