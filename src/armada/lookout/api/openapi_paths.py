"""The Lookout v2 API in the OpenAPI document (names and bodies of Armada's swagger.yaml)."""

from __future__ import annotations

from typing import Any

from armada.lookout.api.fields import FIELDS, Match

_FILTER = {
    "type": "object",
    "required": ["field", "match", "value"],
    "properties": {
        "field": {"type": "string", "enum": sorted(FIELDS)},
        "match": {"type": "string", "enum": [m.value for m in Match]},
        "value": {},
        "isAnnotation": {"type": "boolean"},
    },
}
_ORDER = {
    "type": "object",
    "properties": {
        "field": {"type": "string"},
        "direction": {"type": "string", "enum": ["ASC", "DESC"]},
    },
}
_PAGE = {
    "filters": {"type": "array", "items": _FILTER},
    "order": _ORDER,
    "activeJobSets": {"type": "boolean"},
    "skip": {"type": "integer"},
    "take": {"type": "integer"},
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _text(name: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": "string"}}}


def _post(operation: str, request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation,
            "tags": ["Lookout"],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "object", "properties": request}}
                },
            },
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": response}}},
                "default": {
                    "description": "Error",
                    "content": {"application/json": {"schema": _ERROR}},
                },
            },
        }
    }


def _get(operation: str, media: str) -> dict[str, Any]:
    schema = {"type": "string"} if media == "text/plain" else {"type": "object"}
    return {
        "get": {
            "operationId": operation,
            "tags": ["Lookout"],
            "responses": {"200": {"description": "OK", "content": {media: {"schema": schema}}}},
        }
    }


_JOB_ID = {"jobId": {"type": "string"}}
_RUN_ID = {"runId": {"type": "string"}}
_GROUPED = {
    "type": "object",
    "required": ["field"],
    "properties": {
        "field": {"type": "string"},
        "isAnnotation": {"type": "boolean"},
        "lastTransitionTimeAggregate": {
            "type": "string",
            "enum": ["latest", "earliest", "average"],
        },
    },
}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_LIST = {"type": "array", "items": {"type": "object"}}

LOOKOUT_PATHS: dict[str, Any] = {
    "/health": _get("getHealth", "text/plain"),
    "/api/v1/version": _get("getVersion", "application/json"),
    "/api/v1/jobs": _post("getJobs", _PAGE, {"type": "object", "properties": {"jobs": _LIST}}),
    "/api/v1/jobGroups": _post(
        "groupJobs",
        {
            **_PAGE,
            "groupedField": _GROUPED,
            "aggregates": {"type": "array", "items": {"type": "string"}},
        },
        {"type": "object", "properties": {"groups": _LIST}},
    ),
    "/api/v1/jobSpec": _post("getJobSpec", _JOB_ID, {"type": "object", "properties": {"job": {}}}),
    "/api/v1/jobError": _post("getJobError", _JOB_ID, _text("errorString")),
    "/api/v1/jobRunError": _post("getJobRunError", _RUN_ID, _text("errorString")),
    "/api/v1/jobRunDebugMessage": _post("getJobRunDebugMessage", _RUN_ID, _text("errorString")),
    "/api/armada/jobEvents": _post(
        "armadaJobEvents", _JOB_ID, {"type": "object", "properties": {"events": _LIST}}
    ),
    "/api/armada/queues": _get("armadaQueues", "application/json"),
    "/api/v1/jobRunSchedulerTerminationReason": _post(
        "getJobRunSchedulerTerminationReason", _RUN_ID, _text("schedulerTerminationReason")
    ),
}
