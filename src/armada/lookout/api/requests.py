"""The Lookout v2 API's request bodies, decoded and type-checked in one step.

msgspec checks every type and refuses unknown keys, naming where the problem is
(``Expected `str`, got `int` - at `$.filters[0].field```); what a field allows is checked
afterwards by :mod:`armada.lookout.api.query`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec


class BadRequest(Exception):
    """The request is wrong: a 400 with ``{"error": message}``."""


class Filter(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    field: str
    match: str
    value: Any = None
    is_annotation: bool = False


class Order(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    field: str = ""
    direction: str = ""


class GroupedField(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    field: str
    is_annotation: bool = False
    last_transition_time_aggregate: str | None = None


class GetJobsRequest(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    filters: list[Filter] | None = None
    order: Order | None = None
    active_job_sets: bool = False
    skip: int = 0
    take: int = 0


class GroupJobsRequest(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    grouped_field: GroupedField
    filters: list[Filter] | None = None
    order: Order | None = None
    active_job_sets: bool = False
    aggregates: list[str] | None = None
    skip: int = 0
    take: int = 0


class JobIdRequest(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    job_id: str


class RunIdRequest(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    run_id: str


T = TypeVar("T")


def decode(body: bytes, kind: type[T]) -> T:
    """``body`` as a ``kind``, or :class:`BadRequest` saying what is wrong with it. The whole
    body must be UTF-8 (msgspec does not look inside what it skips, such as unknown keys)."""
    try:
        body.decode("utf-8")
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not valid UTF-8: {exc.reason} at byte {exc.start}") from None
