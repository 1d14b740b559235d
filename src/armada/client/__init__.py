"""The project's own client for Armada's public gRPC API (what armadactl is built on).

Everything here talks to a server only through the public API, never through the server's
modules, so it works against any Armada-compatible server.

* :class:`Client` (``Client.connect(ConnectionDetails(url=...))``): Submit, QueueService,
  RetryPolicyService, Event and Jobs.
* :class:`SchedulerReports` and :class:`Binoculars`: scheduling reports and pod logs.
* :class:`JobSetFollower`, :class:`JobSetEvent`, :class:`JobSetState`: resumable watching.
* :func:`load_job_file`, :func:`load_resources`: Armada's YAML files, with line-numbered errors.
* :mod:`armada.client.errors`: what can go wrong.
"""

from armada.client.api import Client, PartialSubmission, job_state_name, job_state_value
from armada.client.connection import DEFAULT_URL, Connection, ConnectionDetails, Stream
from armada.client.errors import (
    AlreadyExists,
    ClientError,
    FailedPrecondition,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ServerUnreachable,
    Unimplemented,
)
from armada.client.job_files import JobFile, load_job_file, parse_job_file
from armada.client.logs import Binoculars, LogLine
from armada.client.queue_selection import QueueQuery, parse_labels
from armada.client.reports import SchedulerReports
from armada.client.resources import (
    API_VERSION,
    QUEUE,
    RETRY_POLICY,
    Resource,
    load_resources,
    parse_resources,
    resource_document,
)
from armada.client.watching import JobSetEvent, JobSetFollower, JobSetState
from armada.client.yaml_documents import FileError
from armada.client.yaml_messages import message_to_document, read_message

__all__ = [
    "API_VERSION",
    "DEFAULT_URL",
    "QUEUE",
    "RETRY_POLICY",
    "AlreadyExists",
    "Binoculars",
    "Client",
    "ClientError",
    "Connection",
    "ConnectionDetails",
    "FailedPrecondition",
    "FileError",
    "InvalidRequest",
    "JobFile",
    "JobSetEvent",
    "JobSetFollower",
    "JobSetState",
    "LogLine",
    "NotFound",
    "PartialSubmission",
    "PermissionDenied",
    "QueueQuery",
    "Resource",
    "SchedulerReports",
    "ServerUnreachable",
    "Stream",
    "Unimplemented",
    "job_state_name",
    "job_state_value",
    "load_job_file",
    "load_resources",
    "message_to_document",
    "parse_job_file",
    "parse_labels",
    "parse_resources",
    "read_message",
    "resource_document",
]
