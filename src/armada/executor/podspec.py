"""Pod specs: protobuf bytes from the lease, turned into Kubernetes JSON once.

Leases carry ``k8s.io.api.core.v1.PodSpec`` as protobuf bytes. Every backend wants the pod as
the Kubernetes API's JSON (the ``kubernetes`` backend posts it, the others read commands, env
and resources from it), so it is converted here, once per lease. ``json_format`` cannot do it:
Kubernetes' JSON differs from proto3 JSON (int64 are numbers, ``Quantity`` and ``IntOrString``
are scalars, some embedded structs are inlined), so the descriptor is walked by hand.

The helpers below read the few things the fake and process backends need from such a manifest.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import msgspec
from armada_client.k8s.io.api.core.v1 import generated_pb2 as k8s
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from armada.domain.resources import InvalidQuantity, add_resources, parse_quantity
from armada.rpc.kubernetes_types import (
    INT_OR_STRING,
    INT_OR_STRING_IS_STRING,
    MICRO_TIME,
    QUANTITY,
    TIME,
    is_inline,
)

_TIMES = {TIME, MICRO_TIME}


class InvalidPodSpec(ValueError):
    """The lease's pod spec cannot be used; the message says why."""


def pod_spec_to_json(data: bytes) -> dict[str, Any]:
    """Decode serialized ``PodSpec`` bytes into the Kubernetes API's JSON form (a new dict
    each time: callers change it)."""
    return _JSON_DECODER.decode(_pod_spec_json(data))


_JSON_DECODER = msgspec.json.Decoder(dict[str, Any])


@functools.lru_cache(maxsize=4096)
def _pod_spec_json(data: bytes) -> bytes:
    """The conversion, remembered as JSON bytes per distinct pod spec: jobs of one submission
    share their pod spec (pinned to one of a few nodes), and walking the descriptor costs
    about 50 times as much as decoding the JSON again."""
    spec = k8s.PodSpec()
    try:
        spec.ParseFromString(data)
    except DecodeError as exc:
        raise InvalidPodSpec(f"the pod spec is not a valid k8s PodSpec message: {exc}") from None
    if not spec.containers:
        raise InvalidPodSpec("the pod spec has no containers")
    return msgspec.json.encode(message_to_json(spec))


def message_to_json(message: Message) -> dict[str, Any]:
    """A Kubernetes protobuf message as the JSON the Kubernetes API server speaks."""
    result: dict[str, Any] = {}
    for fd, value in message.ListFields():
        if is_inline(fd):
            result.update(message_to_json(value))
            continue
        result[fd.name] = _field_to_json(fd, value)
    return result


def _field_to_json(fd: FieldDescriptor, value: Any) -> Any:
    entry = fd.message_type
    if entry is not None and entry.GetOptions().map_entry:
        value_fd = entry.fields_by_name["value"]
        return {key: _scalar_to_json(value_fd, item) for key, item in value.items()}
    if fd.is_repeated:
        return [_scalar_to_json(fd, item) for item in value]
    return _scalar_to_json(fd, value)


def _scalar_to_json(fd: FieldDescriptor, value: Any) -> Any:
    if fd.message_type is None:
        return value.decode("latin-1") if isinstance(value, bytes) else value
    return _special_to_json(fd.message_type, value)


def _special_to_json(descriptor: Descriptor, value: Any) -> Any:
    name = descriptor.full_name
    if name == QUANTITY:
        return value.string
    if name == INT_OR_STRING:
        return value.strVal if value.type == INT_OR_STRING_IS_STRING else value.intVal
    if name in _TIMES:
        moment = dt.datetime.fromtimestamp(value.seconds, tz=dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return message_to_json(value)


# --- reading a pod manifest ---------------------------------------------------------------------


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    containers_: list[dict[str, Any]] = pod.get("spec", {}).get("containers", [])
    return containers_


def init_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = pod.get("spec", {}).get("initContainers", [])
    return found


def pod_requests(pod: dict[str, Any]) -> dict[str, int]:
    """The pod's resource request in milli-units: sum of containers or largest init container."""
    total: dict[str, int] = {}
    for container in containers(pod):
        total = add_resources(total, _container_requests(container))
    for container in init_containers(pod):
        for name, value in _container_requests(container).items():
            total[name] = max(total.get(name, 0), value)
    return total


def _container_requests(container: dict[str, Any]) -> dict[str, int]:
    resources = container.get("resources", {})
    merged = {**resources.get("limits", {}), **resources.get("requests", {})}
    parsed: dict[str, int] = {}
    for name, text in merged.items():
        try:
            parsed[name] = parse_quantity(str(text))
        except InvalidQuantity as exc:
            raise InvalidPodSpec(f"container {container.get('name', '?')}: {name}: {exc}") from None
    return parsed


def active_deadline(pod: Mapping[str, Any]) -> float | None:
    value = pod.get("spec", {}).get("activeDeadlineSeconds")
    return float(value) if value else None


def grace_period(pod: dict[str, Any]) -> float | None:
    value = pod.get("spec", {}).get("terminationGracePeriodSeconds")
    return float(value) if value is not None else None


def command_line(container: dict[str, Any]) -> list[str]:
    """The container's command followed by its args (the image's entrypoint is unknown)."""
    return [*container.get("command", []), *container.get("args", [])]
