"""The Kubernetes types whose JSON is not protobuf's JSON mapping of their messages.

armada-client ships Kubernetes' types as protobuf messages, but Kubernetes writes a few of them
its own way (their Go types marshal themselves), and so does everything that speaks
Kubernetes' JSON: the API server, job files, and Armada's REST gateway, which marshals the Go
structs with ``encoding/json``. A ``resource.Quantity`` is ``"150m"``, not
``{"string": "150m"}``; an ``IntOrString`` is the number or the name it holds; a
``metav1.Time`` is an RFC 3339 string; a ``FieldsV1`` is the JSON object it carries; and a Go
struct embedded with ``json:",inline"`` puts its fields into its parent's object where protobuf
keeps them in a field of their own (``Volume.volumeSource``, ``Probe.handler``).

The names are written down here once, for every component that converts between the two forms
(the client's job files, the executor's pod JSON, the REST gateway).
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor

QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
TIME = "k8s.io.apimachinery.pkg.apis.meta.v1.Time"
MICRO_TIME = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"
FIELDS_V1 = "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1"
# IntOrString's ``type``: which of ``intVal`` and ``strVal`` holds the value.
INT_OR_STRING_IS_STRING = 1

# Go structs embedded with `json:",inline"`, as (field name, message name): their fields appear
# in the parent's JSON object.
INLINE = frozenset(
    {
        ("volumeSource", "VolumeSource"),
        ("handler", "ProbeHandler"),
        ("localObjectReference", "LocalObjectReference"),
        ("ephemeralContainerCommon", "EphemeralContainerCommon"),
    }
)


def is_inline(field: FieldDescriptor) -> bool:
    """Whether ``field`` holds a Go struct embedded inline (its fields are the parent's in
    Kubernetes' JSON)."""
    kind = field.message_type
    return kind is not None and (field.name, kind.name) in INLINE
