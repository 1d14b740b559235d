"""Queues and retry policies: protobuf (api.Queue, api.RetryPolicy) <-> domain, with checks."""

from __future__ import annotations

import math
import re

from armada_client.armada import submit_pb2

from armada.domain.queues import (
    QUEUE_VERBS,
    PermissionSubject,
    Queue,
    QueuePermission,
    ResourceFractionLimits,
    RetryAction,
    RetryPolicy,
    RetryRule,
)
from armada.domain.quoting import shown
from armada.domain.resources import InvalidQuantity, parse_quantity
from armada.server.submission.errors import SubmissionError
from armada.server.submission.names import check_free_text, check_total_size

MAX_PRINCIPAL_LENGTH = 253  # a user, group or label key
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$", re.IGNORECASE)


class InvalidObject(ValueError):
    """A queue or retry policy that cannot be accepted; the message names the field."""


def check_name(kind: str, name: str) -> None:
    if not name:
        raise InvalidObject(f"{kind} name is required")
    if len(name) > 253 or not _NAME.match(name):
        raise InvalidObject(
            f"{kind} name {shown(name)} is invalid: use letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )


def _fractions(field: str, values: dict[str, float]) -> dict[str, float]:
    for resource, fraction in values.items():
        if math.isnan(fraction) or not 0 <= fraction <= 1:
            raise InvalidObject(f"{field}[{resource}]: must be a fraction between 0 and 1")
    return dict(values)


def queue_from_proto(message: submit_pb2.Queue) -> Queue:
    check_name("queue", message.name)
    factor = message.priority_factor
    if not math.isfinite(factor) or factor <= 0:
        raise InvalidObject(f"priority_factor must be greater than 0 (and finite), got {factor}")
    permissions = []
    for i, permission in enumerate(message.permissions):
        for verb in permission.verbs:
            if verb not in QUEUE_VERBS:
                raise InvalidObject(
                    f"permissions[{i}].verbs: {shown(verb)} is not a verb "
                    f"({', '.join(QUEUE_VERBS)})"
                )
        subjects = []
        for subject in permission.subjects:
            if subject.kind not in ("User", "Group"):
                raise InvalidObject(
                    f"permissions[{i}].subjects: kind must be User or Group, got "
                    f"{shown(subject.kind)}"
                )
            subjects.append(PermissionSubject(kind=subject.kind, name=subject.name))
        permissions.append(QueuePermission(subjects=tuple(subjects), verbs=tuple(permission.verbs)))
    limits = {}
    for pc, limit in message.resource_limits_by_priority_class_name.items():
        field = f"resource_limits_by_priority_class_name[{pc}]"
        limits[pc] = ResourceFractionLimits(
            maximum_resource_fraction=_fractions(field, dict(limit.maximum_resource_fraction)),
            maximum_resource_fraction_by_pool={
                pool: _fractions(f"{field}[{pool}]", dict(p.maximum_resource_fraction))
                for pool, p in limit.maximum_resource_fraction_by_pool.items()
            },
        )
    labels = dict(message.labels)
    for text in message.labels_deprecated:
        key, _, value = text.partition("=")
        labels.setdefault(key, value)
    _check_free_text(message, labels)
    return Queue(
        name=message.name,
        priority_factor=factor,
        user_owners=tuple(message.user_owners),
        group_owners=tuple(message.group_owners),
        permissions=tuple(permissions),
        cordoned=message.cordoned,
        labels=labels,
        resource_limits_by_priority_class=limits,
        retry_policies=tuple(message.retry_policies),
    )


def _check_free_text(message: submit_pb2.Queue, labels: dict[str, str]) -> None:
    """Owners and subjects: printable and bounded; labels: 256 KiB in all, as on a pod."""
    names = [(f"user_owners[{i}]", v) for i, v in enumerate(message.user_owners)]
    names += [(f"group_owners[{i}]", v) for i, v in enumerate(message.group_owners)]
    for i, permission in enumerate(message.permissions):
        names += [(f"permissions[{i}].subjects", s.name) for s in permission.subjects]
    names += [(f"labels[{shown(k)}]", k) for k in labels]
    try:
        for field, value in names:
            check_free_text(field, value, MAX_PRINCIPAL_LENGTH)
        check_total_size("labels", labels, "labels")
    except SubmissionError as exc:
        raise InvalidObject(str(exc)) from None


def queue_to_proto(queue: Queue) -> submit_pb2.Queue:
    message = submit_pb2.Queue(
        name=queue.name,
        priority_factor=queue.priority_factor,
        user_owners=list(queue.user_owners),
        group_owners=list(queue.group_owners),
        cordoned=queue.cordoned,
        labels=dict(queue.labels),
        retry_policies=list(queue.retry_policies),
    )
    for permission in queue.permissions:
        p = message.permissions.add(verbs=list(permission.verbs))
        for subject in permission.subjects:
            p.subjects.add(kind=subject.kind, name=subject.name)
    for pc, limit in queue.resource_limits_by_priority_class.items():
        target = message.resource_limits_by_priority_class_name[pc]
        target.maximum_resource_fraction.update(limit.maximum_resource_fraction)
        for pool, fractions in limit.maximum_resource_fraction_by_pool.items():
            target.maximum_resource_fraction_by_pool[pool].maximum_resource_fraction.update(
                fractions
            )
    return message


_ACTIONS = {
    submit_pb2.RETRY_ACTION_UNSPECIFIED: RetryAction.UNSPECIFIED,
    submit_pb2.RETRY_ACTION_FAIL: RetryAction.FAIL,
    submit_pb2.RETRY_ACTION_RETRY: RetryAction.RETRY,
}
_ACTIONS_BACK = {v: k for k, v in _ACTIONS.items()}


def retry_policy_from_proto(message: submit_pb2.RetryPolicy) -> RetryPolicy:
    check_name("retry policy", message.name)
    rules = []
    for i, rule in enumerate(message.rules):
        if rule.action == submit_pb2.RETRY_ACTION_UNSPECIFIED:
            raise InvalidObject(f"rules[{i}].action: must be Retry or Fail")
        memory = rule.mutate.resources.memory
        if memory.static and memory.factor:
            raise InvalidObject(
                f"rules[{i}].mutate.resources.memory: set static or factor, not both"
            )
        if memory.static:
            try:
                parse_quantity(memory.static)
            except InvalidQuantity as exc:
                raise InvalidObject(f"rules[{i}].mutate.resources.memory.static: {exc}") from None
        if memory.factor and memory.factor <= 1.0:
            raise InvalidObject(f"rules[{i}].mutate.resources.memory.factor: must be above 1.0")
        rules.append(
            RetryRule(
                action=_ACTIONS[rule.action],
                on_category=rule.on_category,
                on_subcategory=rule.on_subcategory,
                avoid_same_node=rule.mutate.affinity.avoid_same_node,
                memory_static=memory.static,
                memory_factor=memory.factor,
            )
        )
    return RetryPolicy(
        name=message.name,
        retry_limit=message.retry_limit,
        default_action=_ACTIONS.get(message.default_action, RetryAction.UNSPECIFIED),
        rules=tuple(rules),
    )


def retry_policy_to_proto(policy: RetryPolicy) -> submit_pb2.RetryPolicy:
    message = submit_pb2.RetryPolicy(
        name=policy.name,
        retry_limit=policy.retry_limit,
        default_action=_ACTIONS_BACK[policy.default_action],
    )
    for rule in policy.rules:
        r = message.rules.add(
            action=_ACTIONS_BACK[rule.action],
            on_category=rule.on_category,
            on_subcategory=rule.on_subcategory,
        )
        r.mutate.affinity.avoid_same_node = rule.avoid_same_node
        if rule.memory_static:
            r.mutate.resources.memory.static = rule.memory_static
        if rule.memory_factor:
            r.mutate.resources.memory.factor = rule.memory_factor
    return message
