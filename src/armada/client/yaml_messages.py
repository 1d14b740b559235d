"""YAML documents <-> protobuf messages, with errors that name the line and the field.

Armada's files (job files, ``kind: Queue`` and ``kind: RetryPolicy`` documents) are written by
hand, so a mistake must come back as one line a person can act on::

    jobs.yaml:14: jobs[0].podSpec.containers[0]: unknown field 'imag' (did you mean 'image'?)

Reading walks the document alongside the message's descriptor: it checks every key and value,
turns Kubernetes' special types into their protobuf shapes (``resource.Quantity`` from
``"64Mi"``, ``IntOrString`` from ``8080`` or ``"http"``, ``metav1.Time`` from RFC 3339) and sets
it on the message as it goes. Writing does the reverse, so that what armadactl prints can be
read back.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import re
from datetime import UTC, datetime
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from armada.client.yaml_documents import (
    FileError,
)
from armada.domain.resources import InvalidQuantity, parse_quantity
from armada.rpc.kubernetes_types import INT_OR_STRING, QUANTITY, TIME, is_inline

_INTEGER_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOATS = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


FieldPath = tuple[FieldDescriptor, ...]


@functools.cache
def field_index(descriptor: Descriptor) -> tuple[dict[str, FieldPath], dict[str, FieldPath]]:
    """The names a YAML key may use for each field (JSON name, proto name, inline fields'
    names), exactly and case-folded as Go's JSON decoder does."""
    exact: dict[str, FieldPath] = {}
    for field in descriptor.fields:
        if is_inline(field):
            for name, path in field_index(field.message_type)[0].items():
                exact.setdefault(name, (field, *path))
        exact[field.json_name] = exact[field.name] = (field,)
    folded = {name.lower(): path for name, path in exact.items()}
    return exact, folded


def describe(value: Any) -> str:
    """How a wrong value is named in a message: 'the number 8080', 'a list'."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def child(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


class MessageReader:
    """Checks YAML values against message descriptors while filling the message in (no
    intermediate dict, no ``json_format``: ten thousand jobs in one file must read fast);
    raises at the first problem."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def fail(self, message: str, line: int | None) -> FileError:
        return FileError(message, path=self.path, line=line)

    def message(self, value: Any, target: Any, where: str, line: int | None) -> None:
        """Fill ``target`` (a message) from a YAML mapping."""
        if not isinstance(value, dict):
            label = where or "the document"
            raise self.fail(f"{label}: expected a mapping, got {describe(value)}", line)
        line = getattr(value, "line", line) or line
        lines = getattr(value, "key_lines", None) or {}
        exact, folded = field_index(target.DESCRIPTOR)
        given: set[FieldPath] = set()
        target.SetInParent()  # `emptyDir: {}` is a value
        for key, item in value.items():
            here = lines.get(key, line)
            name = key if isinstance(key, str) else str(key)
            found = exact.get(name) or folded.get(name.lower())
            if found is None:
                raise self.fail(self.unknown_field(where, name, target.DESCRIPTOR), here)
            if item is None:
                continue
            if found in given:
                raise self.fail(f"{child(where, name)}: given twice", here)
            given.add(found)
            *outer, field = found
            holder = target
            for inline in outer:  # a Kubernetes field written inline (volumeSource, handler)
                holder = getattr(holder, inline.name)
            self.field(item, field, holder, child(where, name), here)

    @staticmethod
    def unknown_field(where: str, key: str, descriptor: Descriptor) -> str:
        names = sorted(field_index(descriptor)[0])
        close = difflib.get_close_matches(key, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        place = f"{where}: unknown field" if where else "unknown field"
        return f"{place} '{key}'{hint}"

    def field(
        self, value: Any, field: FieldDescriptor, holder: Any, where: str, line: int | None
    ) -> None:
        kind = _kind(field)
        if kind == _MAP:
            if not isinstance(value, dict):
                raise self.fail(f"{where}: expected a mapping, got {describe(value)}", line)
            entries = getattr(holder, field.name)
            key_field, value_field = _map_fields(field)
            lines = getattr(value, "key_lines", None) or {}
            for k, v in value.items():
                if v is None:
                    continue
                here, at = f"{where}[{k}]", lines.get(k, line)
                key = str(k) if key_field.type == _STRING else self.scalar(k, key_field, here, at)
                if value_field.message_type is None:
                    entries[key] = self.scalar_or_enum(v, value_field, here, at)
                else:
                    self.single(v, value_field, entries[key], here, at)
            return
        if kind == _REPEATED:
            if not isinstance(value, list):
                raise self.fail(f"{where}: expected a list, got {describe(value)}", line)
            items = getattr(holder, field.name)
            lines = getattr(value, "item_lines", None) or [line] * len(value)
            if field.message_type is None:
                items.extend(
                    self.scalar_or_enum(item, field, f"{where}[{i}]", lines[i])
                    for i, item in enumerate(value)
                )
            else:
                for i, item in enumerate(value):
                    self.single(item, field, items.add(), f"{where}[{i}]", lines[i])
            return
        if field.message_type is None:
            scalar = self.scalar_or_enum(value, field, where, line)
            try:
                setattr(holder, field.name, scalar)
            except (TypeError, ValueError) as exc:  # the checks above should make this rare
                raise self.fail(f"{where}: {exc}", line) from None
        else:
            self.single(value, field, getattr(holder, field.name), where, line)

    def single(
        self, value: Any, field: FieldDescriptor, target: Any, where: str, line: int | None
    ) -> None:
        """Fill ``target``, a message of ``field``'s type (special Kubernetes types too)."""
        special = field.message_type.full_name if field.message_type else ""
        if special == QUANTITY:
            target.string = self.quantity(value, where, line)
        elif special == INT_OR_STRING:
            if isinstance(value, int) and not isinstance(value, bool):
                if not -(2**31) <= value < 2**31:
                    raise self.fail(f"{where}: {value} is out of range", line)
                target.type, target.intVal = 0, value
            elif isinstance(value, str):
                target.type, target.strVal = 1, value
            else:
                raise self.fail(
                    f"{where}: expected a number or a name, got {describe(value)}", line
                )
        elif special == TIME:
            target.seconds, target.nanos = self.time(value, where, line)
        else:
            self.message(value, target, where, line)

    def scalar_or_enum(
        self, value: Any, field: FieldDescriptor, where: str, line: int | None
    ) -> Any:
        if field.enum_type is not None:
            return self.enum(value, field.enum_type, where, line)
        return self.scalar(value, field, where, line)

    def scalar(self, value: Any, field: FieldDescriptor, where: str, line: int | None) -> Any:
        kind = field.type
        if kind == _STRING:
            if isinstance(value, str):
                return value
        elif kind == FieldDescriptor.TYPE_BOOL:
            if isinstance(value, bool):
                return value
            raise self.fail(f"{where}: expected true or false, got {describe(value)}", line)
        elif kind in _INTEGER_RANGES:
            low, high = _INTEGER_RANGES[kind]
            if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
                return value
            wanted = "a whole number" + (" >= 0" if low == 0 else "")
            raise self.fail(f"{where}: expected {wanted}, got {describe(value)}", line)
        elif kind in _FLOATS:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _NUMBER.match(value):  # YAML 1.1 reads 1e-5 as text
                return float(value)
            raise self.fail(f"{where}: expected a number, got {describe(value)}", line)
        elif kind == FieldDescriptor.TYPE_BYTES:
            if isinstance(value, str):
                try:
                    return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
                except binascii.Error:
                    pass
            raise self.fail(f"{where}: expected base64 text, got {describe(value)}", line)
        hint = " (put it in quotes)" if isinstance(value, (int, float, bool)) else ""
        raise self.fail(f"{where}: expected a string, got {describe(value)}{hint}", line)

    def enum(self, value: Any, enum: EnumDescriptor, where: str, line: int | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            if value in enum.values_by_number:
                return value
        elif isinstance(value, str):
            wanted = value.lower()
            matches = [
                v.number
                for v in enum.values
                if v.name.lower() == wanted or v.name.lower().endswith("_" + wanted)
            ]
            if len(matches) == 1:
                return matches[0]
        choices = ", ".join(enum_alias(enum.full_name, v.name) for v in enum.values)
        raise self.fail(f"{where}: {describe(value)} is not one of {choices}", line)

    def quantity(self, value: Any, where: str, line: int | None) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(
                f"{where}: expected a quantity like 500m or 64Mi, got {describe(value)}", line
            )
        text = value if isinstance(value, str) else repr(value)
        try:
            parse_quantity(text)
        except InvalidQuantity as exc:
            raise self.fail(f"{where}: {exc}", line) from None
        return text

    def time(self, value: Any, where: str, line: int | None) -> tuple[int, int]:
        moment = value if isinstance(value, datetime) else None
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                moment = None
        if moment is None:
            raise self.fail(f"{where}: expected an RFC 3339 time, got {describe(value)}", line)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp()), moment.microsecond * 1000


_MAP, _REPEATED, _SINGLE = 0, 1, 2
_STRING = FieldDescriptor.TYPE_STRING


def _map_fields(field: FieldDescriptor) -> tuple[FieldDescriptor, FieldDescriptor]:
    entry = field.message_type
    assert entry is not None
    return entry.fields_by_name["key"], entry.fields_by_name["value"]


@functools.cache
def _kind(field: FieldDescriptor) -> int:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return _MAP
    return _REPEATED if field.is_repeated else _SINGLE


def read_message(
    value: Any,
    message_class: Any,
    *,
    where: str = "",
    line: int | None = None,
    path: str | None = None,
) -> Any:
    """A ``message_class`` instance from a YAML value, or :class:`FileError`."""
    message = message_class()
    MessageReader(path).message(value, message, where, line)
    return message


_ENUM_ALIASES: dict[str, dict[str, str]] = {
    "api.RetryAction": {"RETRY_ACTION_RETRY": "Retry", "RETRY_ACTION_FAIL": "Fail"},
}


def enum_alias(enum_name: str, value_name: str) -> str:
    """The name a file uses for an enum value (``Retry`` for ``RETRY_ACTION_RETRY``)."""
    return _ENUM_ALIASES.get(enum_name, {}).get(value_name, value_name)


def message_to_document(message: Any) -> Any:
    """Plain data (dicts, lists, strings, numbers) that :func:`read_message` reads back."""
    name = message.DESCRIPTOR.full_name
    if name == QUANTITY:
        return message.string
    if name == INT_OR_STRING:
        return message.strVal if message.type == 1 else message.intVal
    if name == TIME:
        moment = datetime.fromtimestamp(message.seconds + message.nanos / 1e9, tz=UTC)
        return moment.isoformat().replace("+00:00", "Z")
    result: dict[str, Any] = {}
    for field, value in message.ListFields():
        if is_inline(field):
            result.update(message_to_document(value))
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            result[field.json_name] = {k: _plain(value_field, v) for k, v in sorted(value.items())}
        elif field.is_repeated:
            result[field.json_name] = [_plain(field, v) for v in value]
        else:
            result[field.json_name] = _plain(field, value)
    return result


def _plain(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        return message_to_document(value)
    if field.enum_type is not None:
        return enum_alias(field.enum_type.full_name, field.enum_type.values_by_number[value].name)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    return value
