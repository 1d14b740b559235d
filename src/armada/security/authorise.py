"""What a principal may do: global permissions mapped from groups, scopes and claims, and the
verbs a queue grants its owners and the subjects of its permissions (Armada's rules)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from armada.config.auth import AuthSettings, PermissionMapping
from armada.domain.queues import Queue
from armada.domain.quoting import shown
from armada.security.errors import PermissionDenied
from armada.security.principal import Principal


class Permission(enum.StrEnum):
    SUBMIT_ANY_JOBS = "submit_any_jobs"
    CANCEL_ANY_JOBS = "cancel_any_jobs"
    PREEMPT_ANY_JOBS = "preempt_any_jobs"
    REPRIORITIZE_ANY_JOBS = "reprioritize_any_jobs"
    WATCH_ALL_EVENTS = "watch_all_events"
    CREATE_QUEUE = "create_queue"
    DELETE_QUEUE = "delete_queue"
    CORDON_QUEUE = "cordon_queue"
    CORDON_NODES = "cordon_nodes"
    EXECUTE_JOBS = "execute_jobs"
    UPDATE_EXECUTOR_SETTINGS = "update_executor_settings"
    CREATE_RETRY_POLICY = "create_retry_policy"
    UPDATE_RETRY_POLICY = "update_retry_policy"
    DELETE_RETRY_POLICY = "delete_retry_policy"


# The global permission that grants a queue verb on every queue.
VERB_PERMISSION = {
    "submit": Permission.SUBMIT_ANY_JOBS,
    "cancel": Permission.CANCEL_ANY_JOBS,
    "preempt": Permission.PREEMPT_ANY_JOBS,
    "reprioritize": Permission.REPRIORITIZE_ANY_JOBS,
    "watch": Permission.WATCH_ALL_EVENTS,
}


def _mapped(mapping: PermissionMapping, permission: str, holds: Iterable[str]) -> bool:
    allowed = mapping.get(permission, ())
    return any(value in allowed for value in holds)


def queue_refusal(who: Principal, queue: str, verb: str) -> PermissionDenied:
    """The refusal of ``verb`` on ``queue``, naming both and the global permission."""
    return PermissionDenied(
        f"user {who.user!r} lacks permission {VERB_PERMISSION[verb].value} and the "
        f"queue {shown(queue)} grants them no {verb!r}"
    )


class Authoriser:
    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings

    def has(self, who: Principal, permission: Permission) -> bool:
        """Whether a group, scope or claim of ``who`` is mapped to ``permission``."""
        s = self._settings
        groups = s.permission_group_mapping.get(permission, ())
        return (
            any(who.in_group(group) for group in groups)
            or _mapped(s.permission_scope_mapping, permission, who.scopes)
            or _mapped(s.permission_claim_mapping, permission, who.claims)
        )

    def require(self, who: Principal, permission: Permission) -> None:
        if not self.has(who, permission):
            raise PermissionDenied(f"user {who.user!r} lacks permission {permission.value}")

    @staticmethod
    def granted_by_queue(who: Principal, queue: Queue, verb: str) -> bool:
        """Whether ``queue`` itself lets ``who`` do ``verb``: as an owner (every verb) or as
        a subject (the user, or one of their groups) of a permission naming the verb."""
        if who.user in queue.user_owners or any(who.in_group(g) for g in queue.group_owners):
            return True
        for entry in queue.permissions:
            if verb not in entry.verbs:
                continue
            for subject in entry.subjects:
                kind = subject.kind.lower()
                if (kind == "user" and subject.name == who.user) or (
                    kind == "group" and who.in_group(subject.name)
                ):
                    return True
        return False

    def may_on_queue(self, who: Principal, queue: Queue, verb: str) -> bool:
        return self.has(who, VERB_PERMISSION[verb]) or self.granted_by_queue(who, queue, verb)

    def require_on_queue(self, who: Principal, queue: Queue, verb: str) -> None:
        """PermissionDenied unless ``who`` holds the verb's global permission or the queue
        grants it the verb."""
        if not self.may_on_queue(who, queue, verb):
            raise queue_refusal(who, queue.name, verb)

    def executor_may_act_for(self, who: Principal, cluster_id: str) -> None:
        """An executor's credentials may lease and report only for the cluster ids bound to
        them in ``executorClusters`` (any, if they are not listed), and need execute_jobs."""
        self.require(who, Permission.EXECUTE_JOBS)
        bound = self._settings.executor_clusters.get(who.user)
        if bound is not None and cluster_id not in bound:
            raise PermissionDenied(
                f"user {who.user!r} may act only for executors {', '.join(bound)}, "
                f"not {shown(cluster_id)}"
            )
