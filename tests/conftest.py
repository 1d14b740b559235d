"""Shared fixtures: an embedded Armada on a temporary data directory, and clients for it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.client import ArmadaClient
from hypothesis import settings

from armada.config.dev import DevSettings
from armada.dev.embedded import EmbeddedArmada

# Hypothesis' per-example deadline is a timed unit test in disguise: on a machine whose other
# core is busy an example can take ten times its usual time. Examples are bounded by their
# count, and the whole run by pytest-timeout.
settings.register_profile("armada", deadline=None)

# Every process a test starts serves HTTP (metrics, health) on a port of its own choosing,
# never on the defaults (8080, 9000, 9001) that a developer's `armada dev` may hold.
os.environ.setdefault("ARMADA_HTTP__PORT", "0")
settings.load_profile("armada")


def dev_settings(data_dir: Path, **overrides: object) -> DevSettings:
    values: dict[str, object] = {
        "grpc": {"host": "127.0.0.1", "port": 0},
        "http": {"host": "127.0.0.1", "port": 0},
        "storage": {"data_dir": data_dir},
        "clusters": 0,
    }
    values.update(overrides)
    # Usage reports would add utilisation events to every event sequence the tests compare;
    # the tests of usage turn them on.
    executor = values.get("executor")
    if executor is None or isinstance(executor, dict):
        values["executor"] = {"utilisation_sample_interval": "0s", **(executor or {})}
    return DevSettings.model_validate(values)


@pytest.fixture
def armada(tmp_path: Path) -> Iterator[EmbeddedArmada]:
    with EmbeddedArmada(dev_settings(tmp_path / "data")) as running:
        yield running


@pytest.fixture
def channel(armada: EmbeddedArmada) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(armada.address) as ch:
        yield ch


@pytest.fixture
def client(channel: grpc.Channel) -> ArmadaClient:
    return ArmadaClient(channel)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL store of this test's own (see tests/postgres_support.py)."""
    from tests.postgres_support import fresh_schema

    with fresh_schema() as url:
        yield url
