"""Kubernetes resource quantities, parsed once into integers.

Every quantity is held as an integer number of *milli-units* ("150m" CPU is 150, "1" CPU is
1000, "64Mi" memory is 64 * 2**20 * 1000). One unit for every resource keeps arithmetic exact
(no floats drifting in fair-share sums) and lets the scheduler treat resources as plain integer
vectors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, DecimalException, InvalidOperation
from functools import lru_cache

from armada.domain.quoting import shown

MILLI = 1000
# Kubernetes keeps quantities in an int64; so does the log's encoding. Nothing real comes near
# (in memory it is 8 PiB), and a larger value could not be stored.
MAX_MILLI = 2**63 - 1

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


class InvalidQuantity(ValueError):
    """A string that is not a Kubernetes resource quantity."""


@lru_cache(maxsize=65536)
def parse_quantity(text: str) -> int:
    """Parse a Kubernetes quantity ("1", "150m", "64Mi", "1e3") into milli-units.

    Fractions of a milli-unit round up, as Kubernetes rounds requests up.
    """
    match = _QUANTITY.match(text.strip())
    if match is None:
        raise InvalidQuantity(f"{shown(text)} is not a resource quantity (examples: 500m, 2, 64Mi)")
    number, suffix = match.groups()
    try:
        value = Decimal(number) * _SUFFIXES[suffix] * MILLI
    except InvalidOperation as exc:  # "1.5.5": the regex admits runs of dots
        raise InvalidQuantity(f"{shown(text)} is not a resource quantity") from exc
    except DecimalException as exc:  # "1e99999999": beyond even Decimal's exponents
        raise InvalidQuantity(f"{shown(text)} is too large for a resource quantity") from exc
    if abs(value) > MAX_MILLI:
        raise InvalidQuantity(
            f"{shown(text)} is too large for a resource quantity (the most is "
            f"{MAX_MILLI // MILLI} units)"
        )
    integral = int(value)
    return integral + 1 if value > integral else integral


def format_quantity(milli: int, resource: str = "") -> str:
    """Render milli-units the way a person reads them: cpu as cores, memory in binary units."""
    if milli % MILLI:
        return f"{milli}m"
    units = milli // MILLI
    if resource in ("cpu", "nvidia.com/gpu") or units < 1024:
        return str(units)
    for suffix, size in (
        ("Ei", 2**60),
        ("Pi", 2**50),
        ("Ti", 2**40),
        ("Gi", 2**30),
        ("Mi", 2**20),
        ("Ki", 2**10),
    ):
        if units % size == 0:
            return f"{units // size}{suffix}"
    return str(units)


def parse_resource_list(values: Mapping[str, str]) -> dict[str, int]:
    """Parse a {resource: quantity-string} mapping, naming the resource in any error."""
    parsed: dict[str, int] = {}
    for name, text in values.items():
        try:
            parsed[name] = parse_quantity(text)
        except InvalidQuantity as exc:
            raise InvalidQuantity(f"{name}: {exc}") from None
    return parsed


def parse_valid_quantities(values: Mapping[str, str]) -> dict[str, int]:
    """Parse a {resource: quantity-string} mapping, leaving out what does not parse (for
    figures reported by another component, where one bad value must not lose the rest)."""
    parsed: dict[str, int] = {}
    for name, text in values.items():
        try:
            parsed[name] = parse_quantity(text)
        except InvalidQuantity:
            continue
    return parsed


def add_resources(*lists: Mapping[str, int]) -> dict[str, int]:
    """Sum resource lists key by key."""
    total: dict[str, int] = {}
    for resources in lists:
        for name, value in resources.items():
            total[name] = total.get(name, 0) + value
    return total


def max_resources(lists: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The key-by-key maximum of resource lists."""
    result: dict[str, int] = {}
    for resources in lists:
        for name, value in resources.items():
            if value > result.get(name, 0):
                result[name] = value
    return result


def format_resources(resources: Mapping[str, int]) -> str:
    """``cpu=2, memory=4Gi`` for messages and reports."""
    return ", ".join(f"{k}={format_quantity(v, k)}" for k, v in sorted(resources.items()))
