"""What the executor's state machine asks its shell to do, and what the shell tells it back.

:class:`~armada.executor.runs.RunTracker` returns :data:`Instruction` values (create this pod,
delete that one, report this event); the agent carries them out and reports the result of a
create call as ``None`` or a :class:`SubmitError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from armada.executor.model import PodPlan
from armada.executor.observe import RunEvent


@dataclass(frozen=True, slots=True)
class CreatePod:
    plan: PodPlan


@dataclass(frozen=True, slots=True)
class DeletePod:
    run_id: str
    namespace: str
    pod_name: str
    grace: float | None
    force: bool = False


@dataclass(frozen=True, slots=True)
class ReportEvent:
    event: RunEvent
    created: float
    final: bool = False


Instruction = CreatePod | DeletePod | ReportEvent


@dataclass(frozen=True, slots=True)
class SubmitError:
    """Why a pod could not be created; ``fatal`` fails the job, otherwise the lease returns."""

    message: str
    fatal: bool = False
