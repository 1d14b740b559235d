"""The commands around security: `armada hash-password`, and `armada server` refusing to start
when no caller could ever be let in."""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher
from click.testing import CliRunner

from armada.cli.armada_main import main


def test_hash_password_prints_an_argon2_hash_of_the_password() -> None:
    result = CliRunner().invoke(main, ["hash-password", "--password-stdin"], input="s3cret\n")
    assert result.exit_code == 0, result.output
    hashed = result.stdout.strip()
    assert hashed.startswith("$argon2id$")
    assert PasswordHasher().verify(hashed, "s3cret")
    assert "s3cret" not in result.stdout


def test_hash_password_refuses_an_empty_password() -> None:
    result = CliRunner().invoke(main, ["hash-password", "--password-stdin"], input="\n")
    assert result.exit_code == 2
    assert "empty" in result.stderr


def test_armada_server_without_any_authenticator_says_so_and_stops(tmp_path: Path) -> None:
    args = ["server", "--host", "127.0.0.1", "--port", "0", "--http-port", "0"]
    result = CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("armada server: no authenticator is configured")
    assert "auth.anonymousAuth" in line


def test_a_plain_password_in_the_config_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "armada.yaml"
    config.write_text("auth:\n  basicAuth:\n    users:\n      alice: {passwordHash: hunter2}\n")
    result = CliRunner().invoke(main, ["server", "--config", str(config)])
    assert result.exit_code == 2
    assert "armada hash-password" in result.stderr
    assert "hunter2" not in result.stderr.replace("passwordHash", "")
