"""Contexts, basic auth, version, completion, exit codes and one-line errors, help on every
command, and the real ``armadactl`` console script."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml
from armada_client.armada import submit_pb2

from armada.cli.armadactl.main import cli
from armada.client import Client
from armada.config.auth import BasicAuthSettings, UserInfo, open_auth
from armada.dev.embedded import EmbeddedArmada
from tests.cli.conftest import Armadactl, write
from tests.conftest import dev_settings

ARMADACTL = str(Path(sys.executable).with_name("armadactl"))

CONFIG = """\
# my contexts
currentContext: local
contexts:
  local:
    armadaUrl: {url}
    basicAuth:
      username: alice
      password: secret
  nowhere:
    armadaUrl: 127.0.0.1:1
"""


# The argon2 hash of "secret" (armada hash-password): alice is checked, as a server would.
ALICE = (
    "$argon2id$v=19$m=65536,t=3,p=4$WUu+wvNc/CmAlR6KZvcacA$59+9IH"
    "+96a/uAQIBdn6vg4wA4V/h0ClvPYe3W52OtWI"
)


@pytest.fixture
def armada(tmp_path: Path) -> Iterator[EmbeddedArmada]:
    """armada dev's open defaults, plus a basic-auth user alice (password: secret)."""
    auth = open_auth().model_copy(
        update={"basic_auth": BasicAuthSettings(users={"alice": UserInfo(password_hash=ALICE)})}
    )
    with EmbeddedArmada(dev_settings(tmp_path / "data", auth=auth)) as running:
        yield running


@pytest.fixture
def config_file(isolated_home: Path, armada: EmbeddedArmada) -> Path:
    return write(isolated_home / ".armadactl.yaml", CONFIG.format(url=armada.address))


def test_the_current_context_is_used_with_its_credentials(
    config_file: Path, offline: Armadactl, api: Client
) -> None:
    api.create_queue(submit_pb2.Queue(name="q", priority_factor=1))
    ids = api.submit_jobs("q", "s", [_item()])
    result = offline("cancel", "job", "q", "s", ids[0])
    assert result.exit_code == 0, result.output
    cancelling = [
        m.message.cancelling
        for m in api.job_set_events("q", "s")
        if m.message.HasField("cancelling")
    ]
    assert cancelling[0].requestor == "alice"  # the basic-auth user reached the server
    elsewhere = offline("-c", "nowhere", "get", "queues")
    assert elsewhere.exit_code == 3 and "127.0.0.1:1" in elsewhere.stderr
    flag_wins = offline("-c", "nowhere", "--armadaUrl", api.url, "get", "queues")
    assert flag_wins.exit_code == 0


def _item() -> object:
    from armada.client import parse_job_file
    from tests.cli.conftest import job_file_text

    return parse_job_file(job_file_text()).items[0]


def test_config_commands(config_file: Path, offline: Armadactl) -> None:
    assert offline("config", "current-context").stdout == "Current context: local\n"
    listed = offline("config", "get-contexts", "-o", "yaml")
    assert [(c["name"], c["current"]) for c in yaml.safe_load(listed.stdout)] == [
        ("local", True),
        ("nowhere", False),
    ]
    table = offline("config", "get-contexts").stdout
    assert "local" in table and "127.0.0.1:1" in table
    result = offline("config", "use-context", "nowhere")
    assert result.stdout == "Current context set to nowhere\n"
    text = config_file.read_text()
    assert text.startswith("# my contexts\ncurrentContext: nowhere\n")  # comments kept
    unknown = offline("config", "use-context", "mars")
    assert unknown.exit_code == 2
    assert "context 'mars' is not defined (defined: local, nowhere)" in unknown.stderr


def test_config_commands_for_scripts(config_file: Path, offline: Armadactl) -> None:
    current = offline("config", "current-context", "-o", "json")
    assert yaml.safe_load(current.stdout) == {"currentContext": "local"}
    used = offline("config", "use-context", "nowhere", "-o", "yaml")
    assert yaml.safe_load(used.stdout) == {"currentContext": "nowhere"}


def test_current_context_says_why_there_is_none(
    isolated_home: Path, tmp_path: Path, offline: Armadactl
) -> None:
    default = isolated_home / ".armadactl.yaml"
    absent = offline("config", "current-context")
    assert (absent.exit_code, absent.stdout) == (
        0,
        f"No current context: {default} does not exist; "
        "armadactl uses --armadaUrl, else localhost:50051\n",
    )
    assert yaml.safe_load(offline("config", "current-context", "-o", "json").stdout) == {
        "currentContext": None
    }
    flat = write(tmp_path / "flat.yaml", "armadaUrl: somewhere:1234\n")
    result = offline("--config", str(flat), "config", "current-context")
    assert (
        result.stdout
        == f"No current context: {flat} has no named contexts; its settings are used\n"
    )
    unset = write(tmp_path / "unset.yaml", "contexts:\n  a:\n    armadaUrl: x:1\n")
    result = offline("--config", str(unset), "config", "current-context")
    assert result.exit_code == 0 and "choose one with: armadactl config use-context NAME" in (
        result.stdout
    )


def test_an_explicit_config_file(tmp_path: Path, offline: Armadactl) -> None:
    path = write(tmp_path / "other.yaml", "armadaUrl: somewhere:1234\n")  # Armada's flat format
    result = offline("--config", str(path), "version", "-o", "json")
    assert '"url": "somewhere:1234"' in result.stdout
    missing = offline("--config", str(tmp_path / "none.yaml"), "get", "queues")
    assert missing.exit_code == 2 and "none.yaml: no such file" in missing.stderr
    bad = write(tmp_path / "bad.yaml", "contexts:\n  a:\n    armadaUrl: x\n    tls: yes\n")
    result = offline("--config", str(bad), "get", "queues")
    assert result.exit_code == 2 and "bad.yaml:4: contexts.a.tls: unknown setting" in result.stderr
    oidc = write(tmp_path / "oidc.yaml", "armadaUrl: x:1\nopenIdConnect: {providerUrl: y}\n")
    result = offline("--config", str(oidc), "get", "queues")
    assert (
        result.exit_code == 2
        and "openidconnect, which this armadactl does not support" in result.stderr
    )


def test_version(armadactl: Armadactl, offline: Armadactl) -> None:
    result = armadactl("version")
    assert result.stdout.startswith("armadactl: 0.1.0\nserver:    ")
    assert "SERVING" in result.stdout
    down = offline("--armadaUrl", "127.0.0.1:1", "version")
    assert down.exit_code == 0 and "unreachable" in down.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(offline: Armadactl, shell: str) -> None:
    result = offline("completion", shell)
    assert result.exit_code == 0 and "_ARMADACTL_COMPLETE" in result.stdout


def test_completion_answers(armada: EmbeddedArmada) -> None:
    env = {
        "_ARMADACTL_COMPLETE": "bash_complete",
        "COMP_WORDS": "armadactl cancel j",
        "COMP_CWORD": "2",
    }
    result = subprocess.run([ARMADACTL], env=env, capture_output=True, text=True, check=False)
    assert "plain,job\n" in result.stdout and "plain,job-set" in result.stdout


def test_unreachable_server_exit_3_names_the_url(offline: Armadactl) -> None:
    result = offline("--armadaUrl", "127.0.0.1:1", "get", "queues")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: cannot reach the Armada server at 127.0.0.1:1 (")
    assert result.stderr.count("\n") == 1


def test_usage_errors_exit_2_on_one_line(offline: Armadactl) -> None:
    for args in (
        ("frobnicate",),
        ("cancel", "job", "q"),
        ("create", "queue", "q", "--priority-factor", "x"),
    ):
        result = offline(*args)
        assert result.exit_code == 2, args
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "see 'armadactl cancel job --help'" in offline("cancel", "job", "q").stderr


def all_commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []

    def visit(path: str, command: click.Command) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                visit(f"{path} {name}", sub)

    visit("armadactl", cli)
    return found


@pytest.mark.parametrize(
    ("path", "command"), all_commands(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_command_has_help(offline: Armadactl, path: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 20, path
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{path} {param.opts}"
    result = offline(*path.split()[1:], "--help")
    assert result.exit_code == 0 and result.stdout.startswith("Usage: armadactl")
    if not isinstance(command, click.Group):
        assert "Example" in command.help, path


def test_every_command_is_in_the_docs() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    for path, command in all_commands():
        if not isinstance(command, click.Group):
            assert f"`{path}" in docs or f"{path} " in docs, path


def test_the_console_script(armada: EmbeddedArmada) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [ARMADACTL, "--armadaUrl", armada.address, *args]
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)

    assert run("create", "queue", "script-q").stdout == "Created queue script-q\n"
    refused = run("create", "queue", "script-q")
    assert (refused.returncode, refused.stderr) == (1, "Error: queue 'script-q' already exists\n")
    unreachable = subprocess.run(
        [ARMADACTL, "--armadaUrl", "127.0.0.1:1", "get", "queues"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unreachable.returncode == 3 and "Traceback" not in unreachable.stderr
    usage = run("submit")
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1
    assert run("--help").returncode == 0
