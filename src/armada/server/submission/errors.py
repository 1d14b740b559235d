"""The error a refused submission carries: which item, which field, what is wrong."""

from __future__ import annotations


class SubmissionError(ValueError):
    """An invalid submission. ``str()`` names the field path, e.g.
    ``job_request_items[2].pod_spec.containers[0].resources: ...``."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)

    def within(self, prefix: str) -> SubmissionError:
        """The same error, with ``prefix`` put in front of its field path."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return SubmissionError(field, self.problem)
