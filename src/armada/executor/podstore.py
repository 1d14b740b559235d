"""In-memory pods with watchers: the "API server" half of the fake and process backends.

Both local backends keep their pods here. A change is stored and handed to every watcher's
queue at once, so the agent sees each transition in order, as a Kubernetes watch would show it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from armada.executor.cluster import PodChange, PodKey, PodSnapshot, WatchItem
from armada.executor.model import PodView


class PodStore:
    """Pods by (namespace, name), and the watchers that follow them."""

    def __init__(self) -> None:
        self._pods: dict[PodKey, PodView] = {}
        self._watchers: set[asyncio.Queue[WatchItem]] = set()
        self._version = 0

    def get(self, namespace: str, name: str) -> PodView | None:
        return self._pods.get((namespace, name))

    def pods(self) -> list[PodView]:
        return list(self._pods.values())

    def __len__(self) -> int:
        return len(self._pods)

    def next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def put(self, pod: PodView) -> None:
        key = (pod.namespace, pod.name)
        change = PodChange("MODIFIED" if key in self._pods else "ADDED", pod)
        self._pods[key] = pod
        for queue in self._watchers:
            queue.put_nowait(change)

    def remove(self, namespace: str, name: str) -> PodView | None:
        pod = self._pods.pop((namespace, name), None)
        if pod is not None:
            change = PodChange("DELETED", pod)
            for queue in self._watchers:
                queue.put_nowait(change)
        return pod

    async def watch(self) -> AsyncIterator[WatchItem]:
        queue: asyncio.Queue[WatchItem] = asyncio.Queue()
        self._watchers.add(queue)
        try:
            yield PodSnapshot(self.pods())
            while True:
                yield await queue.get()
        finally:
            self._watchers.discard(queue)
