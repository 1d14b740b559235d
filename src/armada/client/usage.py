"""What each run used, from the job set's utilisation events (``JobUtilisationEvent``).

Armada's ``JobDetails`` carry no usage, so ``armadactl get job`` reads the job set's event
stream (once, to its present end) and sums each run's reports up: the most of any period's
maximum, and the mean of the periods' averages. Each report covers one reporting interval of
the executor (five minutes by default) or the part of it the run lasted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from armada.domain.resources import InvalidQuantity, parse_quantity

_MI = 2**20
_GI = 2**30


@dataclass
class RunUsage:
    """One run's usage: resource -> milli-units (CPU cores and memory bytes, times 1000)."""

    run_id: str
    reports: int = 0
    most: dict[str, int] = field(default_factory=dict)
    average: dict[str, int] = field(default_factory=dict)
    _sums: dict[str, int] = field(default_factory=dict)

    def add(self, most: Mapping[str, Any], average: Mapping[str, Any]) -> None:
        self.reports += 1
        for name, value in _parsed(most).items():
            self.most[name] = max(self.most.get(name, 0), value)
        for name, value in _parsed(average).items():
            self._sums[name] = self._sums.get(name, 0) + value
        self.average = {name: total // self.reports for name, total in self._sums.items()}

    def describe(self) -> str:
        """``most cpu 1.2, memory 300Mi; average cpu 0.35, memory 220.5Mi (3 reports)``."""
        reports = f"{self.reports} report{'s' if self.reports != 1 else ''}"
        return f"most {_words(self.most)}; average {_words(self.average)} ({reports})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "reports": self.reports,
            "max": {k: shown(k, v) for k, v in self.most.items()},
            "avg": {k: shown(k, v) for k, v in self.average.items()},
        }


def usage_by_run(messages: Iterable[Any], job_ids: Iterable[str]) -> dict[str, RunUsage]:
    """Run id -> usage of the runs of ``job_ids``, from a job set's ``EventStreamMessage``s."""
    wanted = set(job_ids)
    runs: dict[str, RunUsage] = {}
    for message in messages:
        if message.message.WhichOneof("events") != "utilisation":
            continue
        event = message.message.utilisation
        if event.job_id in wanted:
            usage = runs.setdefault(event.kubernetes_id, RunUsage(event.kubernetes_id))
            usage.add(event.MaxResourcesForPeriod, event.AvgResourcesForPeriod)
    return runs


def _parsed(values: Mapping[str, Any]) -> dict[str, int]:
    parsed = {}
    for name, quantity in values.items():
        try:
            parsed[name] = parse_quantity(quantity.string)
        except InvalidQuantity:
            continue
    return parsed


def shown(name: str, milli: int) -> str:
    """CPU in cores (``0.35``), memory in MiB or GiB (``220.5Mi``), the rest as a number."""
    if name == "cpu":
        return f"{milli / 1000:.3g}"
    if name == "memory":
        size = milli / 1000
        return f"{size / _GI:.3g}Gi" if size >= _GI else f"{size / _MI:.4g}Mi"
    return f"{milli / 1000:g}"


def _words(values: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {shown(k, v)}" for k, v in sorted(values.items())) or "nothing"
