"""The process backend after its executor died: what it started is taken back, or given up.

A "crash" here is a backend dropped without ``close()``: its tasks stop, its processes run on
(they are in sessions of their own), and a new backend on the same ``logDir`` starts."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from armada.executor.cluster import PodSnapshot
from armada.executor.model import PodView
from armada.executor.process import ProcessCluster
from armada.executor.proclaunch import ContainerFiles, alive, read_exit, read_pid
from tests.executor.test_process_backend import cluster_in, final, plan, until_running


async def crash(cluster: ProcessCluster) -> None:
    """The executor dies: nothing of it runs any more, its pods' processes live on. (Once
    they have said who they are: one that dies before has never started, as far as anyone
    can tell, and is lost; see test_a_pod_whose_process_vanished_is_not_taken_back.)"""
    stems = [
        cluster.log_path(pod.plan.namespace, pod.plan.pod_name).with_suffix("")
        for pod in cluster._pods.values()
    ]
    async with asyncio.timeout(5):
        while not all(read_pid(ContainerFiles.at(stem)) for stem in stems):
            await asyncio.sleep(0.01)
    tasks = [pod.task for pod in cluster._pods.values() if pod.task is not None]
    if cluster._stamper is not None:
        tasks.append(cluster._stamper)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def first_snapshot(cluster: ProcessCluster) -> list[PodView]:
    async for item in cluster.watch_pods():
        assert isinstance(item, PodSnapshot)
        return item.pods
    raise AssertionError("no snapshot")


async def test_a_running_pod_is_taken_back_and_its_end_collected(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    script = f"echo start >> {marker}; sleep 1; echo end >> {marker}; exit 3"
    before = cluster_in(tmp_path)
    await before.create_run(plan("j1", ["sh", "-c", script]))
    await until_running(before, "j1")
    await crash(before)

    after = cluster_in(tmp_path)
    (pod,) = await first_snapshot(after)
    assert (pod.run_id, pod.phase, pod.containers[0].state) == ("run-j1", "Running", "running")
    ended = await final(after, "j1")
    assert (ended.phase, ended.containers[0].exit_code) == ("Failed", 3)
    assert marker.read_text() == "start\nend\n", "started once"
    assert await after.delete_pod("default", "armada-j1-0", run_id="run-j1", grace=1)
    assert list((tmp_path / "logs").iterdir()) == [], "its files go with it"
    await after.close()
    await before.close()  # reaps what the dead executor started (this test's children)


async def test_a_pod_that_ended_while_nobody_watched_is_seen_ended(tmp_path: Path) -> None:
    go = tmp_path / "go"  # the job ends only once its executor is gone
    script = f"while [ ! -e {go} ]; do sleep 0.01; done; echo done"
    before = cluster_in(tmp_path)
    await before.create_run(plan("j1", ["sh", "-c", script]))
    await until_running(before, "j1")
    await crash(before)
    go.touch()
    files = ContainerFiles.at(before.log_path("default", "armada-j1-0").with_suffix(""))
    async with asyncio.timeout(5):  # the status written whole, not only the file created
        while read_exit(files) is None:
            await asyncio.sleep(0.02)

    after = cluster_in(tmp_path)
    (pod,) = await first_snapshot(after)
    assert (pod.phase, pod.containers[0].exit_code, pod.containers[0].reason) == (
        "Succeeded",
        0,
        "Completed",
    )
    assert [line.line for line in await after.read_log("default", "armada-j1-0")] == ["done"]
    await after.close()
    await before.close()  # reaps what the dead executor started (this test's children)


async def test_a_pod_whose_process_vanished_is_not_taken_back(tmp_path: Path) -> None:
    """No exit status to tell how it ended: the run is lost (the scheduler, seeing it gone,
    gives the lease back), never started again here."""
    before = cluster_in(tmp_path)
    await before.create_run(plan("j1", ["sleep", "30"]))
    await until_running(before, "j1")
    await crash(before)
    pid_file = before.log_path("default", "armada-j1-0").with_suffix(".pid")
    found = read_pid(ContainerFiles.at(pid_file.with_suffix("")))
    assert found is not None
    pid, ticks = found
    os.killpg(pid, signal.SIGKILL)
    async with asyncio.timeout(5):
        while alive(pid, ticks):
            await asyncio.sleep(0.02)

    after = cluster_in(tmp_path)
    assert await first_snapshot(after) == []
    assert list((tmp_path / "logs").iterdir()) == []
    await after.close()
    await before.close()  # reaps what the dead executor started (this test's children)


async def test_a_reused_pid_is_not_taken_for_the_pod(tmp_path: Path) -> None:
    """The pid file names a live process, but not the one that started then (pid reuse)."""
    before = cluster_in(tmp_path)
    await before.create_run(plan("j1", ["sleep", "30"]))
    await until_running(before, "j1")
    await crash(before)
    pid_file = before.log_path("default", "armada-j1-0").with_suffix(".pid")
    pid = int(pid_file.read_text().split()[0])
    os.killpg(pid, signal.SIGKILL)
    pid_file.write_text(f"{os.getpid()} 1\n")  # this test's process: alive, other start time

    after = cluster_in(tmp_path)
    assert await first_snapshot(after) == []
    await after.close()
    await before.close()  # reaps what the dead executor started (this test's children)
