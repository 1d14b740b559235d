"""Bad input for the property-based tests of the gRPC APIs: strategies, and the one check
every answer must pass ("bad input never crashes a process: it gets a clear error naming what
is wrong")."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

T = TypeVar("T")

# Stable in CI: the same examples every run, few enough to keep each file well under 20 s.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize="FUZZ_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# What a refusal may be; UNKNOWN (an exception escaped the servicer) and INTERNAL (a bug the
# server caught) are never an acceptable answer to bad input.
CLEAR_REFUSALS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)

LONG = "x" * 20_000  # longer than gRPC's 8 KiB of trailing metadata if echoed in an error

# Names: empty, unicode, control characters, very long, and a few plausible ones.
names = st.one_of(
    st.sampled_from(["", " ", "queue-a", "a b", "-", "ü", "\x00", "a" * 300, LONG]),
    st.text(max_size=12),
)

# Numbers at and beyond every edge a double can reach.
doubles = st.one_of(
    st.sampled_from([0.0, -0.0, -1.0, 1.0, 2.0**32 - 1, 2.0**32, 1e300, -1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
)
int64s = st.one_of(
    st.sampled_from([0, -1, 1, 2**63 - 1, -(2**63)]), st.integers(-(2**63), 2**63 - 1)
)

# Kubernetes quantities, well formed and not.
quantities = st.one_of(
    st.sampled_from(
        [
            "1",
            "150m",
            "64Mi",
            "0",
            "-1",
            "-0",
            "+1",
            "abc",
            "",
            " ",
            "1e400",
            "1e-400",
            "9" * 40,
            "1e18",
            "1Ei",
            "NaN",
            "inf",
            "1.5.5",
            " 1",
            "1 ",
            "0.0000001m",
            "1ki",
            "\u0661",
            "1_000",
            ".",
            "e3",
            "1e",
            "1E+9999999",
        ]
    ),
    st.text(alphabet="0123456789.-+eEmkMGTPi ", max_size=8),
)
resource_names = st.one_of(
    st.sampled_from(["cpu", "memory", "ephemeral-storage", "nvidia.com/gpu"]), st.text(max_size=8)
)

# Gang cardinalities Armada's strconv.Atoi would refuse, and some it would take.
cardinalities = st.one_of(
    st.sampled_from(
        ["1", "2", "0", "-1", "abc", "", " 2", "1e3", "1_0", "\u0661", "9" * 30, "9" * 5000, "2.0"]
    ),
    st.integers().map(str),
)


def maybe(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.one_of(st.none(), strategy)


def assert_clear_error(err: grpc.RpcError, what: str = "") -> None:
    """A refusal with a status meant for the caller and a short sentence saying what is wrong."""
    code, details = err.code(), err.details() or ""  # type: ignore[attr-defined]
    assert code in CLEAR_REFUSALS, f"{what}: {code} {details[:500]!r}"
    assert re.search(r"[A-Za-z]{3,}", details), f"{what}: unreadable details {details[:500]!r}"
    assert len(details) <= 4096, f"{what}: {len(details)} characters of details"
    assert "Traceback" not in details, f"{what}: {details[:500]!r}"
    # What gRPC says when the server's status was too big to send: the reason is lost.
    assert "Stream removed" not in details, f"{what}: {details[:500]!r}"


def answer(call: Callable[..., T], *args: Any, what: str = "") -> T | None:
    """The call's response, or None after checking that its refusal is clear."""
    try:
        return call(*args)
    except grpc.RpcError as err:
        assert_clear_error(err, what)
        return None
