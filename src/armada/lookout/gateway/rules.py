"""The REST routes of Armada's public API, read from the ``google.api.http`` options of the
service descriptors that ``armada-client`` ships: one source of truth, no route typed by hand.

``google.api.http`` (extension 72295728 of ``MethodOptions``) is not a module this project
installs, so its ``HttpRule`` is declared here in a private descriptor pool and read from the
options' serialised bytes, where the extension lives as an unknown field.
"""

from __future__ import annotations

from dataclasses import dataclass

from armada_client.armada import binoculars_pb2, event_pb2, job_pb2, submit_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from armada.rpc.gen import scheduler_reporting_pb2 as reporting

HTTP_EXTENSION = 72295728
# The services Armada serves over REST: its server's gateway (cmd/server/main.go; api.Executor
# and api.Node carry options too, but are not served) and Binoculars' own gateway (logs).
SERVED = ("api.Submit", "api.RetryPolicyService", "api.Event", "api.Jobs", "binoculars.Binoculars")
REPORTING = "schedulerobjects.SchedulerReporting"
VERBS = ("get", "put", "post", "delete", "patch")


def _http_rule_classes() -> type[Message]:
    """A message with the HttpRule extension as an ordinary field (in a private pool)."""
    f = descriptor_pb2.FileDescriptorProto(name="armadapy_http_rule.proto", package="armadapy")
    string = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
    optional = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    rule = f.message_type.add(name="HttpRule")
    for number, name in enumerate(("selector", *VERBS[:4]), start=1):
        rule.field.add(name=name, number=number, type=string, label=optional)
    rule.field.add(name="patch", number=6, type=string, label=optional)
    rule.field.add(name="body", number=7, type=string, label=optional)
    options = f.message_type.add(name="MethodOptionsView")
    options.field.add(
        name="http",
        number=HTTP_EXTENSION,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".armadapy.HttpRule",
        label=optional,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    view = pool.FindMessageTypeByName("armadapy.MethodOptionsView")
    return message_factory.GetMessageClass(view)


_OptionsView = _http_rule_classes()


@dataclass(frozen=True)
class Rule:
    """One REST route: ``verb`` on ``path`` (``{name}`` segments fill request fields) calls
    ``service``'s ``method``; ``body`` is ``*`` when the JSON body is the whole request."""

    service: str
    method: str
    verb: str
    path: str
    body: str
    streaming: bool
    request: type[Message]
    response: type[Message]

    @property
    def key(self) -> str:
        return f"/{self.service}/{self.method}"


def _rule_of(method: MethodDescriptor) -> Rule | None:
    view = _OptionsView.FromString(method.GetOptions().SerializeToString())
    if not view.HasField("http"):
        return None
    http = view.http  # type: ignore[attr-defined]
    verb = next(v for v in VERBS if getattr(http, v))
    return Rule(
        service=method.containing_service.full_name,
        method=method.name,
        verb=verb.upper(),
        path=getattr(http, verb),
        body=http.body,
        streaming=method.server_streaming,
        request=message_factory.GetMessageClass(method.input_type),
        response=message_factory.GetMessageClass(method.output_type),
    )


def _reporting_rule(
    method: str, path: str, request: type[Message], response: type[Message]
) -> Rule:
    return Rule(REPORTING, method, "GET", path, "", False, request, response)


# Armada's scheduler reports over REST (the google.api.http options of its
# schedulerobjects/scheduler_reporting.proto; our copy of that proto is compiled without them).
REPORTING_RULES = (
    _reporting_rule(
        "GetSchedulingReport",
        "/v1/scheduling-report",
        reporting.SchedulingReportRequest,
        reporting.SchedulingReport,
    ),
    _reporting_rule(
        "GetQueueReport",
        "/v1/queue/{queue_name}/scheduler-report",
        reporting.QueueReportRequest,
        reporting.QueueReport,
    ),
    _reporting_rule(
        "GetJobReport",
        "/v1/job/{job_id}/scheduler-report",
        reporting.JobReportRequest,
        reporting.JobReport,
    ),
)


def http_rules() -> list[Rule]:
    """Every REST route of the services Armada serves over REST."""
    rules: list[Rule] = list(REPORTING_RULES)
    for module in (submit_pb2, event_pb2, job_pb2, binoculars_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            if service.full_name not in SERVED:
                continue
            for method in service.methods:
                rule = _rule_of(method)
                if rule is not None:
                    rules.append(rule)
    return rules
