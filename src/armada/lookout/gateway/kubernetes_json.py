"""Kubernetes types in the JSON Armada's gateway speaks, not in protobuf's JSON mapping.

Armada's gateway marshals its Go structs with ``encoding/json`` (grpc-gateway's
``JSONBuiltin``), so the Kubernetes types in a job (:mod:`armada.rpc.kubernetes_types`) travel
as Kubernetes writes them: ``"cpu": "150m"``, ``"port": 8080``, ``"creationTimestamp":
"2024-01-02T15:04:05Z"``, a volume's ``emptyDir`` beside its ``name``. Protobuf's mapping of
armada-client's messages, which the gateway otherwise uses, writes ``{"string": "150m"}``,
``{"intVal": 8080}``, ``{"seconds": "1704207845"}`` and ``{"volumeSource": {"emptyDir": {}}}``.

This module converts between the two, on JSON already parsed (requests, before
``json_format.ParseDict``) or just written (responses, after ``MessageToDict``). It walks only
the fields under which such a type can occur, found once per message type from the
descriptors. Requests in protobuf's form are still accepted.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from armada.domain.quoting import SHOWN_CHARS, shown
from armada.domain.resources import InvalidQuantity, parse_quantity
from armada.rpc import kubernetes_types as kube
from armada.rpc.kubernetes_types import is_inline


class BadValue(ValueError):
    """A value that is not what its Kubernetes type accepts; ``str()`` names the field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")


def _given(value: Any) -> str:
    """What was sent, for an error: a string quoted, anything else as its JSON."""
    if isinstance(value, str):
        return shown(value)
    text = json.dumps(value)
    return text if len(text) <= SHOWN_CHARS else shown(text)


# --- the types, each way ------------------------------------------------------------------------


def _quantity_in(value: Any, where: str) -> Any:
    if isinstance(value, dict):  # protobuf's form, {"string": "150m"}
        text = value.get("string")
    elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadValue(where, f"expected a quantity like '500m' or '64Mi', got {_given(value)}")
    else:  # Kubernetes reads a bare number too
        text = value if isinstance(value, str) else json.dumps(value)
    if isinstance(text, str):
        try:
            parse_quantity(text)
        except InvalidQuantity as exc:
            raise BadValue(where, str(exc)) from None
    return value if isinstance(value, dict) else {"string": text}


def _quantity_out(value: dict[str, Any]) -> Any:
    return value.get("string") or "0"


def _int_or_string_in(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if not -(2**31) <= value < 2**31:
            raise BadValue(where, f"{value} is out of range for a 32-bit integer")
        return {"intVal": value}  # type 0, the int, is the default
    if isinstance(value, str):
        return {"type": kube.INT_OR_STRING_IS_STRING, "strVal": value}
    raise BadValue(where, f"expected a number or a name, got {_given(value)}")


def _int_or_string_out(value: dict[str, Any]) -> Any:
    if int(value.get("type", 0)) == kube.INT_OR_STRING_IS_STRING:
        return value.get("strVal", "")
    return value.get("intVal", 0)


_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


def _time_in(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return value
    match = _RFC3339.match(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError(value)
        date, clock, _, offset = match.groups()
        offset = "+00:00" if offset in ("Z", "z") else offset
        moment = datetime.fromisoformat(f"{date}T{clock}{offset}")  # 2024-02-30 is refused
    except ValueError:
        raise BadValue(
            where, f"expected an RFC 3339 time like '2024-01-02T15:04:05Z', got {_given(value)}"
        ) from None
    nanos = int(((match.group(3) or "") + "000000000")[:9])
    decoded = {"seconds": int(moment.timestamp())}
    return {**decoded, "nanos": nanos} if nanos else decoded  # proto2: unset when none


def _time_out(value: dict[str, Any], micro: bool) -> Any:
    seconds, nanos = int(value.get("seconds", 0)), int(value.get("nanos", 0))
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, ValueError, OSError):
        return value  # beyond what an RFC 3339 string can hold
    if micro:  # Kubernetes' MicroTime: RFC 3339 to the microsecond
        return moment.replace(microsecond=nanos // 1000).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # metav1.Time: to the second


def _fields_in(value: Any, where: str) -> Any:
    if isinstance(value, dict) and set(value) == {"Raw"}:  # protobuf's form
        return value
    raw = json.dumps(value, separators=(",", ":")).encode()
    return {"Raw": base64.b64encode(raw).decode()}


def _fields_out(value: dict[str, Any]) -> Any:
    try:
        return json.loads(base64.b64decode(value.get("Raw", ""), validate=True) or b"null")
    except (binascii.Error, ValueError):
        return value  # not JSON: Kubernetes would not have written it


@dataclass(frozen=True)
class Form:
    """How one Kubernetes type travels: from Armada's JSON to protobuf's (``decode``, which
    raises :class:`BadValue`), back (``encode``), and its OpenAPI schema."""

    decode: Callable[[Any, str], Any]
    encode: Callable[[dict[str, Any]], Any]
    schema: dict[str, Any]


_DATE_TIME = {"type": "string", "format": "date-time"}
FORMS = {
    kube.QUANTITY: Form(
        _quantity_in,
        _quantity_out,
        {"type": "string", "description": "A Kubernetes quantity: 150m, 2, 64Mi, 1e3"},
    ),
    kube.INT_OR_STRING: Form(
        _int_or_string_in,
        _int_or_string_out,
        {
            "oneOf": [{"type": "integer", "format": "int32"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        },
    ),
    kube.TIME: Form(_time_in, functools.partial(_time_out, micro=False), _DATE_TIME),
    kube.MICRO_TIME: Form(_time_in, functools.partial(_time_out, micro=True), _DATE_TIME),
    kube.FIELDS_V1: Form(_fields_in, _fields_out, {"type": "object"}),
}


# --- where they are -----------------------------------------------------------------------------

_MAP, _LIST, _ONE = range(3)


@dataclass(frozen=True)
class _Step:
    """A field under which a Kubernetes type with a form of its own can occur."""

    field: FieldDescriptor
    shape: int
    target: Descriptor  # the field's message type (a map's value type)
    form: Form | None  # when the field's values are such a type
    inline: bool  # a Go struct embedded inline: its fields are the parent's in Armada's JSON


def _target(field: FieldDescriptor) -> tuple[int, Descriptor | None]:
    kind = field.message_type
    if kind is not None and kind.GetOptions().map_entry:
        return _MAP, kind.fields_by_name["value"].message_type
    return (_LIST if field.is_repeated else _ONE), kind


@functools.cache
def _holds_forms(message: Descriptor) -> bool:
    """Whether a value of ``message`` can hold, at any depth, a type with a form of its own."""
    seen, stack = {message}, [message]
    while stack:
        current = stack.pop()
        if current.full_name in FORMS:
            return True
        for field in current.fields:
            if is_inline(field):
                return True
            kind = field.message_type
            if kind is not None and kind not in seen:
                seen.add(kind)
                stack.append(kind)
    return False


@functools.cache
def _steps(message: Descriptor) -> tuple[_Step, ...]:
    steps = []
    for field in message.fields:
        shape, target = _target(field)
        if target is None or not (is_inline(field) or _holds_forms(target)):
            continue
        form = FORMS.get(target.full_name)
        steps.append(_Step(field, shape, target, form, is_inline(field) and shape == _ONE))
    return tuple(steps)


@functools.cache
def _names(message: Descriptor) -> frozenset[str]:
    """The keys a JSON object of ``message`` may have (inline structs' included)."""
    names = {name for f in message.fields for name in (f.name, f.json_name)}
    for step in _steps(message):
        if step.inline:
            names |= _names(step.target)
    return frozenset(names)


@functools.cache
def _request_keys(message: Descriptor) -> tuple[dict[str, _Step], dict[str, _Step]]:
    """The steps by the keys that name them, and the inline steps by the keys of their
    fields (which a request writes in the parent's object)."""
    direct: dict[str, _Step] = {}
    hoisted: dict[str, _Step] = {}
    own = {name for f in message.fields for name in (f.name, f.json_name)}
    for step in _steps(message):
        direct[step.field.name] = direct[step.field.json_name] = step
        if step.inline:
            for name in _names(step.target) - own:
                hoisted[name] = step
    return direct, hoisted


def descriptor_of(message: Message) -> Descriptor:
    """``message``'s descriptor (typed: the stubs admit upb's class too, which is the same)."""
    return cast(Descriptor, message.DESCRIPTOR)


# --- responses ----------------------------------------------------------------------------------


def message_to_json(message: Message) -> dict[str, Any]:
    """``message`` as Armada's gateway writes it: protobuf's JSON mapping, but Kubernetes'
    types in Kubernetes' form."""
    value = json_format.MessageToDict(message)
    _encode(descriptor_of(message), value)
    return value


def _encode(message: Descriptor, value: dict[str, Any]) -> None:
    for step in _steps(message):
        name = step.field.json_name
        found = value.get(name)
        if found is None:
            continue
        if step.shape == _MAP:
            value[name] = {key: _encode_one(step, item) for key, item in found.items()}
        elif step.shape == _LIST:
            value[name] = [_encode_one(step, item) for item in found]
        elif step.inline:
            del value[name]
            value.update(_encode_one(step, found))
        else:
            value[name] = _encode_one(step, found)


def _encode_one(step: _Step, value: dict[str, Any]) -> Any:
    if step.form is not None:
        return step.form.encode(value)
    _encode(step.target, value)
    return value


# --- requests -----------------------------------------------------------------------------------


def decode_request(message: Descriptor, value: Any, where: str = "") -> None:
    """Rewrite ``value`` (parsed JSON for a ``message``) in place into protobuf's JSON mapping.

    Raises :class:`BadValue` for a value its Kubernetes type refuses; anything else wrong is
    left for ``json_format.ParseDict`` to name.
    """
    if not isinstance(value, dict):
        return
    direct, hoisted = _request_keys(message)
    for key in [k for k in value if k in hoisted]:
        step = hoisted[key]
        inner = value.setdefault(step.field.json_name, {})
        if not isinstance(inner, dict):
            raise BadValue(_at(where, step.field.json_name), "expected an object")
        if key in inner:
            raise BadValue(_at(where, key), f"given both here and in {step.field.json_name}")
        inner[key] = value.pop(key)
    for key, found in value.items():
        known = direct.get(key)
        if known is None or found is None:
            continue
        step = known
        here = _at(where, key)
        if step.shape == _MAP and isinstance(found, dict):
            for name, item in found.items():
                found[name] = _decode_one(step, item, f"{here}[{name}]")
        elif step.shape == _LIST and isinstance(found, list):
            found[:] = [_decode_one(step, item, f"{here}[{i}]") for i, item in enumerate(found)]
        elif step.shape == _ONE:
            value[key] = _decode_one(step, found, here)


def _decode_one(step: _Step, value: Any, where: str) -> Any:
    if value is None:
        return value
    if step.form is not None:
        return step.form.decode(value, where)
    decode_request(step.target, value, where)
    return value


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
