"""Executor settings load from YAML in Armada's camelCase, with clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from armada.config import ConfigError, load_settings
from armada.config.executor import ExecutorConfig
from armada.executor.backends import build_cluster
from armada.executor.fake import FakeCluster
from armada.executor.process import ProcessCluster


def test_yaml_in_armadas_words(tmp_path: Path) -> None:
    path = tmp_path / "executor.yaml"
    path.write_text(
        """
clusterId: gpu-cluster
pool: gpu
heartbeatInterval: 2s
podKillTimeout: 1m
pendingPodChecks:
  deadlineForNodeAssignment: 10m
fake:
  nodeGroups:
    - name: gpu
      count: 3
      resources: {cpu: "16", memory: 64Gi, nvidia.com/gpu: "8"}
      taints: [{key: nvidia.com/gpu, effect: NoSchedule}]
"""
    )
    settings = load_settings(ExecutorConfig, path, env={"ARMADA_MAX_LEASED_JOBS": "5"})
    assert (settings.cluster_id, settings.pool, settings.max_leased_jobs) == (
        "gpu-cluster",
        "gpu",
        5,
    )
    assert settings.heartbeat_interval == timedelta(seconds=2)
    assert settings.pod_kill_timeout == timedelta(minutes=1)
    assert settings.pending_pod_checks.deadline_for_node_assignment == timedelta(minutes=10)
    assert settings.fake.node_groups[0].taints[0].key == "nvidia.com/gpu"


def test_unknown_keys_and_bad_values_are_named(tmp_path: Path) -> None:
    path = tmp_path / "executor.yaml"
    path.write_text("backend: nomad\nheartbeatIntervall: 2s\n")
    with pytest.raises(ConfigError) as error:
        load_settings(ExecutorConfig, path)
    assert "backend" in str(error.value) and "heartbeatIntervall" in str(error.value)


def test_the_backend_is_built_from_the_settings(tmp_path: Path) -> None:
    assert isinstance(build_cluster(ExecutorConfig(backend="fake")), FakeCluster)
    process = build_cluster(ExecutorConfig(backend="process", process={"logDir": str(tmp_path)}))  # type: ignore[arg-type]
    assert isinstance(process, ProcessCluster) and process.log_dir == tmp_path
