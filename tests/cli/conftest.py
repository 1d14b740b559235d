"""armadactl tests: the command line run in-process (click's runner) against an embedded
``armada dev``, and helpers to write job files."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from armada.cli.armadactl.main import cli
from armada.client import Client, ConnectionDetails
from armada.dev.embedded import EmbeddedArmada

JOB = """\
  - priority: {priority}
    namespace: default
    podSpec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:latest
          args: [sleep, "1"]
          resources:
            requests: {{cpu: 150m, memory: 64Mi}}
            limits: {{cpu: 150m, memory: 64Mi}}
"""


def job_file_text(queue: str = "queue-a", job_set: str = "set-1", jobs: int = 1) -> str:
    body = "".join(JOB.format(priority=i) for i in range(jobs))
    return f"queue: {queue}\njobSetId: {job_set}\njobs:\n{body}"


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of its own, so that no real ~/.armadactl.yaml is read."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("COLUMNS", raising=False)
    return home


class Armadactl:
    """Runs armadactl in-process, pointed at a server unless told otherwise."""

    def __init__(self, url: str | None) -> None:
        self.url = url

    def __call__(self, *args: str, input: str | None = None, url: bool = True) -> Result:
        argv = ["--armadaUrl", self.url] if url and self.url else []
        return CliRunner().invoke(cli, [*argv, *args], input=input, catch_exceptions=False)


@pytest.fixture
def armadactl(armada: EmbeddedArmada) -> Armadactl:
    return Armadactl(armada.address)


@pytest.fixture
def offline() -> Armadactl:
    """armadactl with no server (for commands that need none)."""
    return Armadactl(None)


@pytest.fixture
def api(armada: EmbeddedArmada) -> Iterator[Client]:
    """The project's client, to set up and check what armadactl did."""
    with Client.connect(ConnectionDetails(url=armada.address)) as client:
        yield client


@pytest.fixture
def job_file(tmp_path: Path) -> Path:
    return write(tmp_path / "jobs.yaml", job_file_text(jobs=2))
