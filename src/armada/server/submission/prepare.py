"""From a JobSubmitRequest to JobSpecs: defaulting, validation, conversion, gang checks."""

from __future__ import annotations

import logging
import math
import re
from collections import OrderedDict
from dataclasses import dataclass, field

import msgspec
from armada_client.armada import submit_pb2
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.config.submission import SubmissionSettings
from armada.domain import jobs as dj
from armada.domain.clock import Clock, IdSource
from armada.domain.quoting import shown
from armada.server.submission.defaults import apply_pod_defaults
from armada.server.submission.errors import SubmissionError
from armada.server.submission.names import check_free_text, check_item_metadata
from armada.server.submission.validate import check_pod_as_sent, exposed_ports, job_resources

log = logging.getLogger(__name__)

MAX_PRIORITY = 2**32 - 1
MAX_CARDINALITY = 2**32 - 1  # GangInfo.cardinality is a uint32
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
JOB_ID_TEMPLATE = "{JobId}"
VERDICT_CACHE_SIZE = 4096
# What a container runs (with its image): read by no check and no default, so pods differing
# only in these share a verdict.
PROGRAM_FIELDS = ("command", "args", "env")


@dataclass(frozen=True)
class PodVerdict:
    """What validating and defaulting one pod spec produced; a pure function of the spec and
    the settings, so jobs with identical pod specs (most of a batch) share one verdict."""

    pod_bytes: bytes
    requirements: dj.SchedulingRequirements
    exposed_ports: frozenset[int]


@dataclass
class PreparedRequest:
    """The jobs to store, and the response's job ids in request order."""

    specs: list[dj.JobSpec] = field(default_factory=list)
    response_ids: list[str] = field(default_factory=list)


class SubmissionPreparer:
    """Validates and defaults submissions the way Armada's server does (reference §1.3)."""

    def __init__(
        self, settings: SubmissionSettings, priority_classes: list[str], clock: Clock, ids: IdSource
    ) -> None:
        self._settings = settings
        self._allowed = settings.allowed_priority_class_names or sorted(priority_classes)
        self._clock = clock
        self._ids = ids
        self._verdicts: OrderedDict[tuple[str, bytes], PodVerdict | SubmissionError] = OrderedDict()

    def prepare(
        self,
        request: submit_pb2.JobSubmitRequest,
        user: str,
        groups: tuple[str, ...],
        existing_client_ids: dict[str, str],
    ) -> PreparedRequest:
        """Raise SubmissionError for the first problem; otherwise the specs to store.

        Every item is validated, duplicates included (as Armada does), so a request with any
        invalid item is refused whole. Then ``existing_client_ids`` (client ids already used in
        this queue, mapped to their job ids) and the request's own earlier items de-duplicate:
        a resubmission returns the original id and is not stored again.
        """
        if not request.queue:
            raise SubmissionError("queue", "a queue is required")
        if not request.job_set_id:
            raise SubmissionError("job_set_id", "a job set id is required")
        check_free_text("job_set_id", request.job_set_id, self._settings.max_job_set_id_length)
        if not request.job_request_items:
            raise SubmissionError("job_request_items", "at least one job is required")
        now = self._clock.now()
        fresh_ids = iter(self._ids.job_ids(len(request.job_request_items)))
        specs = []
        same = SameItems()
        for index, item in enumerate(request.job_request_items):
            job_id = next(fresh_ids)
            template, key = same.find(item)
            if template is not None:
                specs.append(msgspec.structs.replace(template, job_id=job_id))
                continue
            try:
                spec = self._prepare_item(
                    request, item, user=user, groups=groups, now=now, job_id=job_id
                )
            except SubmissionError as exc:
                raise exc.within(f"job_request_items[{index}]") from None
            same.remember(key, item, spec)
            specs.append(spec)
        check_gangs(specs, request)
        return deduplicate(specs, existing_client_ids)

    def _prepare_item(
        self,
        request: submit_pb2.JobSubmitRequest,
        item: submit_pb2.JobSubmitRequestItem,
        *,
        user: str,
        groups: tuple[str, ...],
        now: float,
        job_id: str,
    ) -> dj.JobSpec:
        settings = self._settings
        priority = check_priority(item.priority)
        verdict = self._judge_pod(item)
        ingress = convert_ingress(item, verdict.exposed_ports)
        services = convert_services(
            item, verdict.exposed_ports, settings.allow_custom_service_names
        )
        requirements = verdict.requirements
        if item.required_node_labels:
            selector = dict(item.required_node_labels)
            selector.update(requirements.node_selector)
            requirements = msgspec.structs.replace(requirements, node_selector=selector)
        # Empty maps skipped first: iterating a protobuf map goes through the generic Mapping
        # methods, a large share of the item's time when most items have none.
        annotations = (
            {k: v.replace(JOB_ID_TEMPLATE, job_id) for k, v in item.annotations.items()}
            if item.annotations
            else {}
        )
        labels = (
            {k: v.replace(JOB_ID_TEMPLATE, job_id) for k, v in item.labels.items()}
            if item.labels
            else {}
        )
        check_item_metadata(item, labels, annotations, settings.max_client_id_length)
        gang = gang_from_annotations(annotations, settings.default_gang_node_uniformity_label)
        fail_fast = annotations.get(dj.FAIL_FAST_ANNOTATION, "").lower() == "true"
        if gang is not None:
            if dj.FAIL_FAST_ANNOTATION in annotations and not fail_fast:
                raise SubmissionError(
                    f"annotations[{dj.FAIL_FAST_ANNOTATION}]", "gang jobs must be fail-fast"
                )
            fail_fast = True
        return dj.JobSpec(
            job_id=job_id,
            queue=request.queue,
            job_set=request.job_set_id,
            namespace=item.namespace,
            priority=priority,
            requirements=requirements,
            pod_spec=verdict.pod_bytes,
            submitted=now,
            owner=user,
            groups=groups,
            client_id=item.client_id,
            labels=labels,
            annotations=annotations,
            gang=gang,
            fail_fast=fail_fast,
            ingress=ingress,
            services=services,
            external_job_uri=item.external_job_uri
            or annotations.get(dj.EXTERNAL_JOB_URI_ANNOTATION, ""),
            scheduler=item.scheduler,
        )

    def _judge_pod(self, item: submit_pb2.JobSubmitRequestItem) -> PodVerdict:
        original, pod_field = single_pod_spec(item)
        key = (pod_field, original.SerializeToString(deterministic=True))
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._judge_by_shape(pod_field, original)
            self._remember(key, verdict)
        if isinstance(verdict, SubmissionError):
            raise SubmissionError(verdict.field, verdict.problem)
        return verdict

    def _judge_by_shape(
        self, pod_field: str, original: core.PodSpec
    ) -> PodVerdict | SubmissionError:
        """The verdict on a pod spec, from the verdict on its shape (the spec without what no
        check or default reads: its containers' programs): generated jobs differ in their
        arguments and environment, and are validated and defaulted once per shape."""
        shape = core.PodSpec()
        shape.CopyFrom(original)  # defaulting changes it; the request stays as sent
        for container in (*shape.containers, *shape.initContainers):
            for cleared in ("command", "args", "env", "image"):
                container.ClearField(cleared)
        key = ("shape:" + pod_field, shape.SerializeToString(deterministic=True))
        judged = self._verdicts.get(key)
        if judged is None:
            try:
                judged = judge_pod(pod_field, shape, self._settings, self._allowed)
            except SubmissionError as exc:
                judged = exc
            self._remember(key, judged)
        if isinstance(judged, SubmissionError):
            return judged
        pod = core.PodSpec.FromString(judged.pod_bytes)  # the shape, defaulted
        for target, source in zip(
            (*pod.containers, *pod.initContainers),
            (*original.containers, *original.initContainers),
            strict=True,
        ):
            for name in PROGRAM_FIELDS:
                getattr(target, name).MergeFrom(getattr(source, name))
            target.image = source.image
        try:
            return PodVerdict(
                pod_bytes=pod_spec_bytes(pod_field, pod, self._settings),
                requirements=judged.requirements,
                exposed_ports=judged.exposed_ports,
            )
        except SubmissionError as exc:
            return exc

    def _remember(self, key: tuple[str, bytes], verdict: PodVerdict | SubmissionError) -> None:
        self._verdicts[key] = verdict
        if len(self._verdicts) > VERDICT_CACHE_SIZE:
            self._verdicts.popitem(last=False)


def judge_pod(
    pod_field: str, pod: core.PodSpec, settings: SubmissionSettings, allowed_classes: list[str]
) -> PodVerdict:
    """Validate one pod spec as sent, default it, then check the job's total request (Armada's
    order: a container with no resources is refused before ``defaultJobLimits`` could fill it);
    raise SubmissionError or return the verdict."""
    check_pod_as_sent(pod_field, pod, settings, allowed_classes)
    apply_pod_defaults(pod, settings)
    resources = job_resources(pod_field, pod, settings)
    pod_bytes = pod_spec_bytes(pod_field, pod, settings)
    requirements = dj.SchedulingRequirements(
        resources=resources,
        priority_class=pod.priorityClassName,
        node_selector=dict(pod.nodeSelector),
        tolerations=tuple(
            dj.Toleration(key=t.key, operator=t.operator or "Equal", value=t.value, effect=t.effect)
            for t in pod.tolerations
        ),
        node_affinity=required_node_affinity(pod),
    )
    return PodVerdict(
        pod_bytes=pod_bytes, requirements=requirements, exposed_ports=frozenset(exposed_ports(pod))
    )


def pod_spec_bytes(pod_field: str, pod: core.PodSpec, settings: SubmissionSettings) -> bytes:
    pod_bytes = pod.SerializeToString()
    if len(pod_bytes) > settings.max_pod_spec_size_bytes:
        raise SubmissionError(
            pod_field,
            f"is {len(pod_bytes)} bytes; the limit is {settings.max_pod_spec_size_bytes}",
        )
    return pod_bytes


def deduplicate(specs: list[dj.JobSpec], existing_client_ids: dict[str, str]) -> PreparedRequest:
    """Drop the specs whose client id was used before (in the queue or earlier in the request);
    their response id is the original job's."""
    prepared = PreparedRequest()
    seen = dict(existing_client_ids)
    for spec in specs:
        original = seen.get(spec.client_id) if spec.client_id else None
        if original is not None:
            prepared.response_ids.append(original)
            continue
        if spec.client_id:
            seen[spec.client_id] = spec.job_id
        prepared.specs.append(spec)
        prepared.response_ids.append(spec.job_id)
    return prepared


class SameItems:
    """The items of one request that are the same, byte for byte, give the same spec but for
    its job id (unless a label or annotation names ``{JobId}``): a generated batch is often
    one job a thousand times, and each copy after the first costs its bytes, not its checks.
    A request whose first items are all different stops looking (a sweep of arguments)."""

    GIVE_UP_AFTER = 32  # different items, none the same, after which it stops looking

    def __init__(self) -> None:
        self._specs: dict[bytes, dj.JobSpec] = {}
        self._hits = 0
        self._misses = 0

    def find(self, item: submit_pb2.JobSubmitRequestItem) -> tuple[dj.JobSpec | None, bytes]:
        """The spec of an earlier item like this one (None: none, or no longer looking), and
        the item's key for :meth:`remember`."""
        if not self._hits and self._misses >= self.GIVE_UP_AFTER:
            return None, b""
        key = item.SerializeToString()
        spec = self._specs.get(key)
        if spec is None:
            self._misses += 1
        else:
            self._hits += 1
        return spec, key

    def remember(self, key: bytes, item: submit_pb2.JobSubmitRequestItem, spec: dj.JobSpec) -> None:
        if key and not any(
            JOB_ID_TEMPLATE in value
            for values in (item.annotations, item.labels)
            if values
            for value in values.values()
        ):
            self._specs[key] = spec


def check_priority(priority: float) -> int:
    if math.isnan(priority) or priority < 0 or priority > MAX_PRIORITY:
        raise SubmissionError("priority", f"must be between 0 and {MAX_PRIORITY}, got {priority}")
    return int(priority)


def single_pod_spec(item: submit_pb2.JobSubmitRequestItem) -> tuple[core.PodSpec, str]:
    """The item's one pod spec (not a copy) and the name of the field it came from."""
    has_single = item.HasField("pod_spec")
    count = len(item.pod_specs) + (1 if has_single else 0)
    if count == 0:
        raise SubmissionError("pod_spec", "a pod spec is required")
    if count > 1:
        raise SubmissionError("pod_specs", "jobs with multiple pods are not supported")
    if has_single:
        return item.pod_spec, "pod_spec"
    return item.pod_specs[0], "pod_specs[0]"


def required_node_affinity(pod: core.PodSpec) -> tuple[dj.NodeSelectorTerm, ...]:
    required = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
    return tuple(
        dj.NodeSelectorTerm(
            match_expressions=tuple(
                dj.NodeSelectorRequirement(key=e.key, operator=e.operator, values=tuple(e.values))
                for e in term.matchExpressions
            )
        )
        for term in required.nodeSelectorTerms
    )


def gang_from_annotations(annotations: dict[str, str], default_label: str) -> dj.Gang | None:
    gang_id = annotations.get(dj.GANG_ID_ANNOTATION, "")
    cardinality_text = annotations.get(dj.GANG_CARDINALITY_ANNOTATION, "")
    if not gang_id and not cardinality_text:
        return None
    if not gang_id:
        raise SubmissionError(
            f"annotations[{dj.GANG_ID_ANNOTATION}]", "gangCardinality is set but gangId is not"
        )
    # As Go's strconv.Atoi reads it (ASCII digits, an optional sign; not " 2", "1_0" or an
    # Arabic-Indic digit, which int() takes), and within the executor API's uint32.
    if _WHOLE_NUMBER.fullmatch(cardinality_text) is None:
        raise SubmissionError(
            f"annotations[{dj.GANG_CARDINALITY_ANNOTATION}]",
            f"must be a whole number of at least 1, got {shown(cardinality_text)}",
        )
    cardinality = int(cardinality_text) if len(cardinality_text) <= 20 else MAX_CARDINALITY + 1
    if not 1 <= cardinality <= MAX_CARDINALITY:
        raise SubmissionError(
            f"annotations[{dj.GANG_CARDINALITY_ANNOTATION}]",
            f"must be between 1 and {MAX_CARDINALITY}, got {shown(cardinality_text)}",
        )
    label = annotations.get(dj.GANG_NODE_UNIFORMITY_LABEL_ANNOTATION, "") or default_label
    return dj.Gang(id=gang_id, cardinality=cardinality, node_uniformity_label=label)


def check_gangs(specs: list[dj.JobSpec], request: submit_pb2.JobSubmitRequest) -> None:
    """Members of one gang in a request must agree, and be no more than its cardinality."""
    first: dict[str, tuple[int, dj.JobSpec]] = {}
    counts: dict[str, int] = {}
    for index, spec in enumerate(specs):
        gang = spec.gang
        if gang is None:
            continue
        counts[gang.id] = counts.get(gang.id, 0) + 1
        if gang.id not in first:
            first[gang.id] = (index, spec)
            continue
        _, other = first[gang.id]
        assert other.gang is not None
        for what, mine, theirs in (
            ("gangCardinality", gang.cardinality, other.gang.cardinality),
            (
                "gangNodeUniformityLabel",
                gang.node_uniformity_label,
                other.gang.node_uniformity_label,
            ),
            ("priority class", spec.priority_class, other.priority_class),
        ):
            if mine != theirs:
                raise SubmissionError(
                    f"job_request_items[{index}]",
                    f"gang {shown(gang.id)}: members disagree on {what} "
                    f"({shown(mine)} vs {shown(theirs)})",
                )
    for gang_id, count in counts.items():
        spec = first[gang_id][1]
        assert spec.gang is not None
        if count > spec.gang.cardinality:
            raise SubmissionError(
                "job_request_items",
                f"gang {shown(gang_id)} has {count} members but a cardinality of "
                f"{spec.gang.cardinality}",
            )


def convert_ingress(
    item: submit_pb2.JobSubmitRequestItem, exposed: frozenset[int]
) -> tuple[dj.IngressConfig, ...]:
    if not item.ingress:
        return ()
    result = []
    for i, ingress in enumerate(item.ingress):
        if not ingress.ports:
            raise SubmissionError(f"ingress[{i}].ports", "an ingress needs at least one port")
        for port in ingress.ports:
            if port not in exposed:
                raise SubmissionError(
                    f"ingress[{i}].ports", f"port {port} is not exposed by any container"
                )
        result.append(
            dj.IngressConfig(
                ports=tuple(ingress.ports),
                annotations=dict(ingress.annotations),
                tls_enabled=ingress.tls_enabled,
                cert_name=ingress.cert_name,
                use_cluster_ip=ingress.use_clusterIP,
            )
        )
    return tuple(result)


def convert_services(
    item: submit_pb2.JobSubmitRequestItem, exposed: frozenset[int], allow_custom_names: bool
) -> tuple[dj.ServiceConfig, ...]:
    if not item.services:
        return ()
    result = []
    for i, service in enumerate(item.services):
        if not service.ports:
            raise SubmissionError(f"services[{i}].ports", "a service needs at least one port")
        for port in service.ports:
            if port not in exposed:
                raise SubmissionError(
                    f"services[{i}].ports", f"port {port} is not exposed by any container"
                )
        name = service.name
        if name and not allow_custom_names:  # as Armada: accepted, the generated name is used
            log.warning(
                "services[%d].name %s ignored: custom service names are not allowed "
                "(submission.allowCustomServiceNames); the generated name is used",
                i,
                shown(name),
            )
            name = ""
        kind = submit_pb2.ServiceType.Name(service.type)
        result.append(dj.ServiceConfig(type=kind, ports=tuple(service.ports), name=name))
    return tuple(result)
