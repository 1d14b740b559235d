"""Keys: the named objects of the control plane, as the log tracks them for preconditions.

Some decisions must be taken against the log itself, inside the append's transaction, or two
concurrent callers (threads or processes) can both pass a check made before it: two creations
of one queue, two deletions. The log therefore keeps, for every key, whether the object exists
and the offset of the last entry that touched it (its version), derived from the events by
:func:`key_effects`; an append may carry :class:`~armada.eventlog.base.Expect` preconditions on
them. Submissions touch their queue's key (without changing whether it exists), so a deletion
that checked the queue was empty at one version fails if a job was submitted since; and they
create a key per client id, so that two submissions with one client id cannot both be stored.
"""

from __future__ import annotations

from armada.domain import events as ev

# What an entry does to a key: True (now exists), False (now absent), None (touched only).
Effect = bool | None


def queue_key(name: str) -> str:
    return f"queue/{name}"


def client_id_key(queue: str, client_id: str) -> str:
    """A client id used in a queue (submissions with it are de-duplicated)."""
    return f"client-id/{queue}/{client_id}"


def retry_policy_key(name: str) -> str:
    return f"retry-policy/{name}"


def executor_settings_key(executor: str) -> str:
    return f"executor-settings/{executor}"


def key_effects(sequence: ev.EventSequence) -> dict[str, Effect]:
    """The keys one sequence touches, and what it leaves them as (the last event wins)."""
    effects: dict[str, Effect] = {}
    for event in sequence.events:
        match event:
            case ev.SubmitJob(spec=spec):
                effects.setdefault(queue_key(spec.queue), None)
                if spec.client_id:
                    effects[client_id_key(spec.queue, spec.client_id)] = True
            case ev.QueueCreated(queue=queue):
                effects[queue_key(queue.name)] = True
            case ev.QueueUpdated(queue=queue):
                effects[queue_key(queue.name)] = True  # the views upsert it
            case ev.QueueDeleted(name=name):
                effects[queue_key(name)] = False
            case ev.RetryPolicyUpserted(policy=policy):
                effects[retry_policy_key(policy.name)] = True
            case ev.RetryPolicyDeleted(name=name):
                effects[retry_policy_key(name)] = False
            case ev.ExecutorSettingsUpserted(settings=settings):
                effects[executor_settings_key(settings.executor)] = True
            case ev.ExecutorSettingsDeleted(executor=executor):
                effects[executor_settings_key(executor)] = False
            case _:
                pass
    return effects
