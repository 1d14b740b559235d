"""Resource vectors: the configured resource names, in a fixed order, as integer arrays.

The scheduler compares and adds requests thousands of times per round. Holding them as
``int64`` vectors over the configured names (Armada's "indexed resources") turns every fit
test over all nodes of a pool into one vectorised comparison. Node capacity is rounded down to
each resource's resolution, as Armada does, so that tiny remainders do not fragment the index.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from armada.domain.resources import format_quantity, parse_quantity

Vector = npt.NDArray[np.int64]


class ResourceSpace:
    """The tracked resources, their order and their resolutions (milli-units)."""

    def __init__(self, resolutions: Mapping[str, int]) -> None:
        if not resolutions:
            raise ValueError("at least one resource must be indexed")
        self.names: tuple[str, ...] = tuple(resolutions)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.resolution = np.array([max(1, resolutions[n]) for n in self.names], dtype=np.int64)

    @staticmethod
    def from_settings(indexed: Mapping[str, str]) -> ResourceSpace:
        return ResourceSpace({name: parse_quantity(text) for name, text in indexed.items()})

    def __len__(self) -> int:
        return len(self.names)

    def zeros(self) -> Vector:
        return np.zeros(len(self.names), dtype=np.int64)

    def request(self, resources: Mapping[str, int]) -> tuple[Vector, tuple[str, ...]]:
        """A job's request as a vector, and the names of requested resources not tracked."""
        vec = self.zeros()
        unknown: list[str] = []
        for name, value in resources.items():
            i = self.index.get(name)
            if i is not None:
                vec[i] = value
            elif value > 0:
                unknown.append(name)
        return vec, tuple(sorted(unknown))

    def capacity(self, allocatable: Mapping[str, int], used: Mapping[str, int]) -> Vector:
        """What Armada may use on a node, rounded down to each resolution."""
        vec = self.zeros()
        for i, name in enumerate(self.names):
            vec[i] = max(0, allocatable.get(name, 0) - used.get(name, 0))
        return vec // self.resolution * self.resolution

    def as_dict(self, vec: Vector | list[int]) -> dict[str, int]:
        return {n: int(v) for n, v in zip(self.names, vec, strict=True) if v}

    def describe(self, vec: Vector | list[int]) -> str:
        values = self.as_dict(vec)
        if not values:
            return "nothing"
        return ", ".join(f"{k}={format_quantity(v, k)}" for k, v in values.items())
