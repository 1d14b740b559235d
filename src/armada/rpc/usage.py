"""The one reading of a ``RunUtilisation`` (executorapi.proto), used by the executor API's codec
(:mod:`armada.rpc.executor_codec`)."""

from __future__ import annotations

from typing import Any

from armada.domain.resources import parse_valid_quantities
from armada.rpc.gen import executorapi_pb2 as pb


def utilisation_fields(msg: pb.RunUtilisation) -> dict[str, Any]:
    """Where the pod is, and its usage in milli-units (quantities that do not parse are left
    out: one bad figure must not lose the rest), as keyword arguments of ``JobRunUtilisation``."""
    return {
        "node": msg.node,
        "pod_name": msg.pod_name,
        "namespace": msg.namespace,
        "max_resources": parse_valid_quantities(msg.max_resources),
        "avg_resources": parse_valid_quantities(msg.avg_resources),
        "cumulative": parse_valid_quantities(msg.total_cumulative_usage),
    }
