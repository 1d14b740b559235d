"""The OpenAPI 3 document of the HTTP APIs, served at ``/api/openapi.json``.

The REST gateway's part is generated from the same descriptors its routes come from (request
and response schemas from the messages, in protobuf's JSON mapping but Kubernetes' types in the
form Armada's gateway and swagger give them); the Lookout API's part
names its routes and bodies after Armada's ``swagger.yaml``.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from armada import __version__
from armada.lookout.gateway.kubernetes_json import FORMS
from armada.lookout.gateway.rules import Rule
from armada.rpc.kubernetes_types import is_inline

PATH = "/api/openapi.json"
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int64"},
}
# 64-bit integers are strings in protobuf's JSON mapping.
_INT64 = {"type": "string", "format": "int64"}
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    # Kubernetes' types, in the form the gateway speaks (as Armada's gateway does).
    **{name: form.schema for name, form in FORMS.items()},
}
_ERROR = {
    "type": "object",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
}


class _Schemas:
    def __init__(self) -> None:
        self.found: dict[str, Any] = {}

    def ref(self, message: Any) -> dict[str, Any]:
        """A schema for ``message`` (a message descriptor), by reference."""
        if message.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message.full_name])
        if message.full_name not in self.found:
            self.found[message.full_name] = {}  # placeholder: messages refer to themselves
            properties = self._properties(message)
            self.found[message.full_name] = {"type": "object", "properties": properties}
        return {"$ref": f"#/components/schemas/{message.full_name}"}

    def _properties(self, message: Any) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for field in message.fields:
            if is_inline(field):  # a Go struct embedded inline: its fields are the parent's
                properties.update(self._properties(field.message_type))
            else:
                properties[field.json_name] = self._field(field)
        return properties

    def _field(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self._single(value)}
        single = self._single(field)
        return {"type": "array", "items": single} if field.is_repeated else single

    def _single(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            return self.ref(field.message_type)
        if field.type == FieldDescriptor.TYPE_ENUM:
            values = field.enum_type.values if field.enum_type is not None else ()
            return {"type": "string", "enum": [v.name for v in values]}
        return dict(_SCALARS.get(field.type, _INT64))


def _gateway_operation(rule: Rule, schemas: _Schemas) -> dict[str, Any]:
    response = schemas.ref(rule.response.DESCRIPTOR)
    media = "application/x-ndjson" if rule.streaming else "application/json"
    if rule.streaming:
        response = {"type": "object", "properties": {"result": response, "error": _ERROR}}
    operation: dict[str, Any] = {
        "operationId": f"{rule.service.removeprefix('api.')}_{rule.method}",
        "tags": [rule.service],
        "responses": {
            "200": {"description": "OK", "content": {media: {"schema": response}}},
            "default": {
                "description": "An error: the gRPC code and its message",
                "content": {"application/json": {"schema": _ERROR}},
            },
        },
    }
    if rule.body == "*":
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.ref(rule.request.DESCRIPTOR)}},
        }
    parameters = [
        {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
        for part in rule.path.split("/")
        if part.startswith("{")
    ]
    if parameters:
        operation["parameters"] = parameters
    return operation


def openapi_document(rules: list[Rule], lookout_paths: dict[str, Any]) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    for rule in rules:
        paths.setdefault(rule.path, {})[rule.verb.lower()] = _gateway_operation(rule, schemas)
    for path, operations in lookout_paths.items():
        paths.setdefault(path, {}).update(operations)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Armada (Python): REST gateway and Lookout v2 API",
            "version": __version__,
        },
        "paths": paths,
        "components": {"schemas": schemas.found},
    }


def openapi_route(rules: list[Rule], lookout_paths: dict[str, Any]) -> BaseRoute:
    document = openapi_document(rules, lookout_paths)

    async def serve(_: Request) -> Response:
        return JSONResponse(document)

    return Route(PATH, serve, methods=["GET"])
