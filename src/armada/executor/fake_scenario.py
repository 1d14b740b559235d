"""What a pod does on the fake cluster: read from its command line and annotations.

A container "runs" for the duration of its ``sleep`` argument (``sleep 60``, ``sleep 30s``,
``sleep 1m``, ``sh -c "sleep 5"``, and Armada's ``sleep $(( (RANDOM % 60) + 10 ))``), or for the
``armadaproject.io/fake-runtime`` annotation, else for the configured default. Annotations ask
for failures (``armadaproject.io/fake-exit-code: 3``, ``armadaproject.io/fake-failure: oom``)
and extra output (``armadaproject.io/fake-output``); ``armadaproject.io/fake-usage:
cpu=2,memory=1Gi`` says what the pod uses while it runs (by default its requests). ``echo``
commands are "printed" to the log.
"""

from __future__ import annotations

import random
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from armada.config.base import parse_duration
from armada.domain.resources import InvalidQuantity, parse_quantity

PREFIX = "armadaproject.io/fake-"
RUNTIME_ANNOTATION = PREFIX + "runtime"
EXIT_CODE_ANNOTATION = PREFIX + "exit-code"
FAILURE_ANNOTATION = PREFIX + "failure"
OUTPUT_ANNOTATION = PREFIX + "output"
IGNORE_SIGTERM_ANNOTATION = PREFIX + "ignore-sigterm"
USAGE_ANNOTATION = PREFIX + "usage"

FAILURES = frozenset(
    {"oom", "evicted", "deadline", "image-pull", "invalid-image", "stuck-pending", "unschedulable"}
)

_RANDOM_SLEEP = re.compile(r"\$\(\(\s*\(?\s*RANDOM\s*%\s*(\d+)\s*\)?\s*\+\s*(\d+)\s*\)\)")
_SLEEP = re.compile(r"(?:^|[\s;&|(])sleep\s+([^\s;&|)]+)")
_SLEEP_VALUE = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_ECHO = re.compile(r"(?:^|[;&|]\s*)echo\s+([^;&|]*)")
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class InvalidScenario(ValueError):
    """An annotation of the fake cluster has a value it does not understand."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """How one pod behaves on the fake cluster."""

    runtimes: dict[str, float]
    exit_codes: dict[str, int]
    failure: str = ""
    output: tuple[str, ...] = ()
    ignore_sigterm: bool = False
    usage: Mapping[str, int] = field(default_factory=dict)  # milli-units, over the requests

    @property
    def runtime(self) -> float:
        return max(self.runtimes.values(), default=0.0)


def sleep_seconds(argv: Sequence[str], rng: random.Random) -> float | None:
    """The duration a command line sleeps for, if it is (or runs, via a shell) a sleep."""
    text = " ".join(argv)
    randomised = _RANDOM_SLEEP.search(text)
    if randomised is not None:
        spread, base = int(randomised.group(1)), int(randomised.group(2))
        return float(base + (rng.randrange(spread) if spread > 0 else 0))
    total: float | None = None
    for match in _SLEEP.finditer(text):
        value = _SLEEP_VALUE.match(match.group(1).strip("'\""))
        if value is not None:
            total = (total or 0.0) + float(value.group(1)) * _UNIT[value.group(2)]
    return total


def echoed_lines(argv: Sequence[str]) -> list[str]:
    """What ``echo`` commands in the command line would print."""
    if argv[:1] == ["echo"]:
        return [" ".join(argv[1:])]
    lines: list[str] = []
    for arg in argv:
        for match in _ECHO.finditer(arg):
            try:
                words = shlex.split(match.group(1))
            except ValueError:
                words = [match.group(1).strip()]
            lines.append(" ".join(words))
    return lines


def scenario_of(
    annotations: Mapping[str, str],
    containers: Sequence[tuple[str, Sequence[str]]],
    default_runtime: float,
    rng: random.Random,
) -> Scenario:
    """The pod's behaviour; ``containers`` are (name, command line) pairs."""
    override = annotations.get(RUNTIME_ANNOTATION)
    runtime_override = None
    if override is not None:
        try:
            runtime_override = parse_duration(override).total_seconds()
        except ValueError as exc:
            raise InvalidScenario(f"annotation {RUNTIME_ANNOTATION}: {exc}") from None
    runtimes: dict[str, float] = {}
    output: list[str] = []
    for name, argv in containers:
        slept = sleep_seconds(argv, rng)
        runtimes[name] = (
            runtime_override
            if runtime_override is not None
            else (slept if slept is not None else default_runtime)
        )
        output.extend(echoed_lines(argv))
    exit_codes = {name: 0 for name, _ in containers}
    code_text = annotations.get(EXIT_CODE_ANNOTATION)
    if code_text is not None and containers:
        try:
            exit_codes[containers[0][0]] = int(code_text)
        except ValueError:
            raise InvalidScenario(
                f"annotation {EXIT_CODE_ANNOTATION}: {code_text!r} is not an integer"
            ) from None
    failure = annotations.get(FAILURE_ANNOTATION, "")
    if failure and failure not in FAILURES:
        known = ", ".join(sorted(FAILURES))
        raise InvalidScenario(f"annotation {FAILURE_ANNOTATION}: {failure!r} is not one of {known}")
    extra = annotations.get(OUTPUT_ANNOTATION, "")
    output.extend(line for line in extra.splitlines() if line)
    return Scenario(
        runtimes=runtimes,
        exit_codes=exit_codes,
        failure=failure,
        output=tuple(output),
        ignore_sigterm=annotations.get(IGNORE_SIGTERM_ANNOTATION, "") == "true",
        usage=_usage(annotations.get(USAGE_ANNOTATION, "")),
    )


def _usage(text: str) -> dict[str, int]:
    """``cpu=2,memory=1Gi`` -> milli-units per resource."""
    usage: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, quantity = part.partition("=")
        try:
            usage[name.strip()] = parse_quantity(quantity)
        except InvalidQuantity as exc:
            raise InvalidScenario(f"annotation {USAGE_ANNOTATION}: {exc}") from None
    return usage
