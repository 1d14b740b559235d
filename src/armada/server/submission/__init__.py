"""Turning a JobSubmitRequest into accepted job specs: Armada's validation and defaulting.

A request is all or nothing: the first invalid item fails the whole request with an error
naming the item and the field, and nothing of it is stored.
"""

from armada.server.submission.errors import SubmissionError
from armada.server.submission.prepare import SubmissionPreparer

__all__ = ["SubmissionError", "SubmissionPreparer"]
