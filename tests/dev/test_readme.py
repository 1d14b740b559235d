"""The README's quick start, run as written against an embedded armada dev: the job file, the
armadactl commands and the Python snippet, each of which must end on its own."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from armada.cli.armadactl.main import cli
from armada.dev.embedded import EmbeddedArmada
from tests.dev.test_end_to_end import running_dev

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.fixture
def armada(tmp_path: Path) -> Iterator[EmbeddedArmada]:
    with running_dev(tmp_path, clusters=1, nodes_per_cluster=4) as running:
        yield running


def block(language: str, containing: str) -> str:
    for found in re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL):
        if containing in found:
            return str(found)
    raise AssertionError(f"no {language} block with {containing!r} in the README")


def write_job_file(folder: Path) -> None:
    """The quick start's sleep.yaml, sleeping 1s instead of 10s."""
    job_file = re.search(r"cat > sleep.yaml <<'EOF'\n(.*?)\nEOF\n", README, re.DOTALL)
    assert job_file is not None
    (folder / "sleep.yaml").write_text(job_file.group(1).replace("10s", "1s") + "\n")


def test_the_quick_start_commands_end_on_their_own(armada: EmbeddedArmada, tmp_path: Path) -> None:
    script = block("bash", "armadactl submit")
    write_job_file(tmp_path)
    commands = [
        line.split("#")[0].split()[1:]
        for line in script.splitlines()
        if line.startswith(".venv/bin/armadactl") and "<job id>" not in line
    ]
    assert [c[:1] for c in commands] == [["create"], ["submit"], ["watch"]]
    armadactl = str(Path(sys.executable).with_name("armadactl"))
    for command in commands:  # watch returns only because the quick start asks it to
        done = subprocess.run(
            [armadactl, "--armadaUrl", armada.address, *command],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )
        assert done.returncode == 0, (command, done.stderr)
    assert "Succeeded" in done.stdout


def test_the_python_snippet_ends_on_its_own(armada: EmbeddedArmada, tmp_path: Path) -> None:
    snippet = block("python", "get_job_events_stream").replace("localhost:50051", armada.address)
    runner = CliRunner()
    write_job_file(tmp_path)
    for command in (["create", "queue", "test"], ["submit", str(tmp_path / "sleep.yaml")]):
        assert runner.invoke(cli, ["--armadaUrl", armada.address, *command]).exit_code == 0
    done = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60, check=True
    )
    assert " ".join(done.stdout.split()) == "submitted queued leased pending running succeeded"
