"""A process whose port is taken says so in one line, before it creates anything."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from armada.cli.armada_main import main


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


@pytest.mark.parametrize("component", ["dev", "server", "scheduler"])
def test_a_port_in_use_is_one_line_naming_it_and_no_store_is_created(
    component: str, busy_port: int, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    args = [component, "--host", "127.0.0.1", "--port", str(busy_port), "--data-dir", str(data)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"armada {component}: port {busy_port} on 127.0.0.1 is already in use")
    assert "--port" in line
    assert not data.exists(), "the store was created before the port was checked"


def test_the_executors_logs_port_in_use_is_one_line(busy_port: int) -> None:
    args = ["executor", "--binoculars-port", str(busy_port), "--scheduler-address", "127.0.0.1:1"]
    result = CliRunner().invoke(main, args, env={"ARMADA_BINOCULARS__HOST": "127.0.0.1"})
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"armada executor: port {busy_port} on 127.0.0.1 is already in use")
    assert "--binoculars-port" in line


@pytest.mark.parametrize("component", ["dev", "server", "scheduler", "executor"])
def test_the_http_port_in_use_is_one_line_naming_it(
    component: str, busy_port: int, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    args = [component, "--http-port", str(busy_port)]
    if component == "executor":
        args += ["--scheduler-address", "127.0.0.1:1", "--binoculars-port", "0"]
    else:
        args += ["--host", "127.0.0.1", "--port", "0", "--data-dir", str(data)]
    result = CliRunner().invoke(main, args, env={"ARMADA_HTTP__HOST": "127.0.0.1"})
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"armada {component}: port {busy_port} on 127.0.0.1 is already in use")
    assert "--http-port" in line
    assert not data.exists(), "the store was created before the port was checked"
