"""The entry point: one call per round, across every pool.

``schedule(snapshot, settings, monotonic=...)`` is pure: it reads the snapshot (jobs, nodes,
queues, ``now``, rate-limiter state) and returns decisions. It makes no ids, reads no clock but
the injected ``monotonic`` (used only for the round's time budget), and keeps nothing between
calls: the rate-limiter state it returns is passed back in next round.
"""

from __future__ import annotations

from collections.abc import Callable

from armada.config.scheduling import SchedulingSettings
from armada.domain.queues import PriorityClass
from armada.scheduling.cycle import Cycle
from armada.scheduling.nodes import Node
from armada.scheduling.pool_round import run_pool_round
from armada.scheduling.ratelimit import Bucket, RateLimiterState, refill
from armada.scheduling.resources import ResourceSpace
from armada.scheduling.round_data import KeyReason, SchedulingResult, SchedulingSnapshot


def _start_cycle(
    snapshot: SchedulingSnapshot,
    settings: SchedulingSettings,
    monotonic: Callable[[], float],
    space: ResourceSpace,
) -> Cycle:
    classes = settings.domain_priority_classes()
    default = classes.get(settings.default_priority_class_name) or PriorityClass(
        name=settings.default_priority_class_name, priority=0, preemptible=False
    )
    now = snapshot.now
    limits = snapshot.rate_limits
    queues = {q.name: q for q in snapshot.queues}
    queue_tokens = {
        name: refill(
            limits.queues.get(name),
            settings.maximum_per_queue_scheduling_rate,
            settings.maximum_per_queue_scheduling_burst,
            now,
        )
        for name in queues
    }
    return Cycle(
        settings=settings,
        space=space,
        priority_classes=classes,
        default_class=default,
        snap=snapshot.jobs,
        queues=queues,
        now=now,
        number=snapshot.cycle,
        global_tokens=refill(
            limits.global_bucket,
            settings.maximum_scheduling_rate,
            settings.maximum_scheduling_burst,
            now,
        ),
        queue_tokens=queue_tokens,
        monotonic=monotonic,
        deadline=monotonic() + settings.max_scheduling_duration.total_seconds(),
        cordoned_executors=snapshot.cordoned_executors,
    )


def _reasons_outside_pools(cycle: Cycle) -> None:
    """Queued jobs no pool round looks at: those of unknown queues, and those that may run only
    in pools without nodes (told once, under the first pool of the round)."""
    snap, pools = cycle.snap, cycle.pools
    first = min(pools, default="*")
    for queue in snap.queues_with_queued_jobs():
        known = queue in cycle.queues
        for group_id, group in snap.queued_groups(queue).items():
            shared = snap.groups[group_id]
            if not known:
                pool, reason = "*", f"queue {queue} does not exist"
            elif pools and shared.pools and not shared.pools & pools:
                names = ", ".join(sorted(shared.pools))
                pool, reason = first, f"none of the pools it may run in ({names}) has nodes"
            else:
                continue
            cycle.key_reasons.append(
                KeyReason(
                    pool=pool,
                    queue=queue,
                    key_id=shared.key.id,
                    key=shared.key.describe(),
                    reason=reason,
                    jobs=len(group),
                )
            )


def schedule(
    snapshot: SchedulingSnapshot,
    settings: SchedulingSettings,
    *,
    monotonic: Callable[[], float],
    space: ResourceSpace | None = None,
) -> SchedulingResult:
    """Decide one round: leases, preemptions, and why every other queued job waits."""
    space = space or ResourceSpace.from_settings(settings.indexed_resources)
    cycle = _start_cycle(snapshot, settings, monotonic, space)
    by_pool: dict[str, list[Node]] = {}
    for node in snapshot.nodes:
        by_pool.setdefault(node.pool, []).append(node)
    pools = sorted(set(by_pool) | set(snapshot.jobs.active_pools()))
    cycle.pools = frozenset(pools)
    for pool in pools:
        cycle.leases.extend(run_pool_round(cycle, pool, by_pool.get(pool, [])))
    _reasons_outside_pools(cycle)
    now = snapshot.now
    state = RateLimiterState(
        global_bucket=Bucket(tokens=max(0.0, cycle.global_tokens), updated_at=now),
        queues={
            q: Bucket(tokens=max(0.0, t), updated_at=now) for q, t in cycle.queue_tokens.items()
        },
    )
    return SchedulingResult(
        cycle=snapshot.cycle,
        now=now,
        leases=tuple(cycle.leases),
        preemptions=tuple(cycle.preemptions),
        job_reasons={j: "; ".join(r) for j, r in cycle.job_reasons.items()},
        key_reasons=tuple(cycle.key_reasons),
        rate_limits=state,
        pools=tuple(cycle.reports),
    )
