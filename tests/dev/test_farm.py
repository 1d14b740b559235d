"""The shape of `armada dev`'s simulated clusters: the default group from the flags, plus the
node groups (labels, taints) the config file gives, on every cluster."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core
from click.testing import CliRunner

from armada.cli.armada_main import main
from armada.config import load_settings
from armada.config.dev import DevSettings
from armada.dev.farm import FarmError, executor_settings
from armada.executor.machine import machine_resources
from armada.executor.process import ProcessCluster
from tests.api_builders import container, create_queue, item, pod_spec
from tests.dev.test_end_to_end import finished, running_dev, wait_until

GPU_GROUP = """\
executor:
  fake:
    nodeGroups:
      - name: gpu
        count: 2
        resources: {cpu: "8", memory: 64Gi, ephemeral-storage: 100Gi, nvidia.com/gpu: "4"}
        labels: {accelerator: a100}
        taints: [{key: gpu, value: "true", effect: NoSchedule}]
"""


def load(tmp_path: Path, text: str, **flags: object) -> DevSettings:
    path = tmp_path / "dev.yaml"
    path.write_text(text)
    return load_settings(DevSettings, path, overrides=flags)


def test_node_groups_from_the_config_are_kept_beside_the_default_group(tmp_path: Path) -> None:
    settings = load(tmp_path, GPU_GROUP, nodes_per_cluster=3, node_resources="cpu=16,memory=8Gi")
    for index, cluster in ((0, "cluster-1"), (1, "cluster-2")):
        groups = executor_settings(settings, index, "127.0.0.1:1").fake.node_groups
        default, gpu = groups
        assert (default.name, default.count) == (f"{cluster}-node", 3)
        assert default.resources == {"cpu": "16", "memory": "8Gi", "ephemeral-storage": "1Ti"}
        assert (gpu.name, gpu.count, gpu.labels) == (f"{cluster}-gpu", 2, {"accelerator": "a100"})
        assert gpu.resources["nvidia.com/gpu"] == "4"
        assert [(t.key, t.value, t.effect) for t in gpu.taints] == [("gpu", "true", "NoSchedule")]
    # A config's executor section is laid over armada dev's defaults, not production's.
    assert settings.executor.heartbeat_interval == timedelta(seconds=1)
    assert settings.executor.max_leased_jobs == 1000


def test_without_node_groups_each_cluster_has_the_default_group_alone(tmp_path: Path) -> None:
    settings = load(tmp_path, "executor: {fake: {startupDelay: 10ms}}\n", nodes_per_cluster=5)
    (group,) = executor_settings(settings, 1, "127.0.0.1:1").fake.node_groups
    assert (group.name, group.count) == ("cluster-2-node", 5)


def test_no_default_group_clashing_names_and_no_nodes_at_all(tmp_path: Path) -> None:
    only_gpus = load(tmp_path, GPU_GROUP, nodes_per_cluster=0)
    groups = executor_settings(only_gpus, 0, "127.0.0.1:1").fake.node_groups
    assert [g.name for g in groups] == ["cluster-1-gpu"]
    clash = load(tmp_path, "executor: {fake: {nodeGroups: [{name: node}]}}\n")
    with pytest.raises(FarmError, match="'cluster-1-node'"):
        executor_settings(clash, 0, "127.0.0.1:1")
    empty = load(tmp_path, "executor: {fake: {nodeGroups: []}}\n", nodes_per_cluster=0)
    with pytest.raises(FarmError, match="no nodes"):
        executor_settings(empty, 0, "127.0.0.1:1")


def test_armada_dev_refuses_a_bad_farm_before_starting(tmp_path: Path) -> None:
    config = tmp_path / "dev.yaml"
    config.write_text("executor: {fake: {nodeGroups: [{name: node}]}}\n")
    result = CliRunner().invoke(main, ["dev", "--config", str(config)])
    assert result.exit_code == 2
    assert "two groups would be named 'cluster-1-node'" in result.output


def test_jobs_reach_the_labelled_tainted_group_only_when_they_ask_for_it(tmp_path: Path) -> None:
    groups = [
        {
            "name": "gpu",
            "count": 1,
            "labels": {"accelerator": "a100"},
            "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}],
        }
    ]
    executor = {"heartbeat_interval": "200ms", "fake": {"startup_delay": "50ms"}}
    executor["fake"]["node_groups"] = groups  # type: ignore[index]
    with (
        running_dev(tmp_path, clusters=2, nodes_per_cluster=1, executor=executor) as armada,
        grpc.insecure_channel(armada.address) as channel,
    ):
        client = ArmadaClient(channel)
        create_queue(client)
        gpu_job = item(
            pod=pod_spec(
                container(args=("sleep", "100ms")),
                nodeSelector={"accelerator": "a100"},
                tolerations=[core.Toleration(key="gpu", operator="Equal", value="true")],
            )
        )
        plain_job = item(pod=pod_spec(container(args=("sleep", "100ms"))))
        jobs = [gpu_job] * 2 + [plain_job] * 4
        ids = [r.job_id for r in client.submit_jobs("queue-a", "s", jobs).job_response_items]
        wait_until(lambda: all(finished(client, "s", j) for j in ids), what="every job")
        details = client.get_job_details(ids).job_details
        nodes = [details[j].job_runs[-1].node for j in ids]
        assert all(finished(client, "s", j)[-1] == "succeeded" for j in ids)
    assert {n.split("-", 2)[2] for n in nodes[:2]} == {"gpu-0"}
    assert {n.split("-", 2)[2] for n in nodes[2:]} == {"node-0"}


def test_the_process_backend_offers_this_machine_unless_node_resources_are_given(
    tmp_path: Path,
) -> None:
    """Issue 14.4: `armada dev --backend process` offered cpu=32, memory=256Gi (the simulated
    nodes' default) on a 2-core machine, against the docs."""
    settings = load(tmp_path, f"storage: {{dataDir: {tmp_path / 'data'}}}\n", backend="process")
    process = executor_settings(settings, 0, "127.0.0.1:1").process
    cluster = ProcessCluster(process)
    (node,) = asyncio.run(cluster.list_nodes())
    machine = machine_resources(Path(process.log_dir))
    assert (node.allocatable["cpu"], node.allocatable["memory"]) == (
        machine["cpu"],
        machine["memory"],
    )
    assert node.allocatable["ephemeral-storage"].endswith("Mi")  # the data dir's free disk
    assert Path(process.log_dir) == tmp_path / "data" / "process" / "cluster-1"

    given = load(tmp_path, "", backend="process", node_resources="cpu=64,memory=256Gi")
    process = executor_settings(given, 0, "127.0.0.1:1").process
    assert process.resources == {"cpu": "64", "memory": "256Gi", "ephemeral-storage": "1Ti"}
