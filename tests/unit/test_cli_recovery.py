"""`secret unseal --master-key-file`: offline disaster recovery, never a plaintext on a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ironflow.cli import recovery
from ironflow.cli.main import cli
from ironflow.core.crypto import derive_sealing_key, seal

KEY = "5e" * 32
NO_CLUSTER = {"KUBECONFIG": "/nonexistent/kubeconfig", "HOME": "/nonexistent"}


def sealed(value: bytes, env: str = "prod", name: str = "DB") -> str:
    return seal(derive_sealing_key(bytes.fromhex(KEY)).public, env, name, value)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "master.key"
    path.write_text(KEY + "\n")
    return path


def test_given_backup_key_when_unsealed_offline_then_plaintext_on_stdout_only(key_file: Path) -> None:
    result = CliRunner(env=NO_CLUSTER).invoke(
        cli,
        ["secret", "unseal", "DB", "-", "-e", "prod", "--master-key-file", str(key_file)],
        input=sealed(b"pw"),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b"pw" and "pw" not in result.stderr


def test_given_terminal_when_unsealing_without_yes_then_refused_before_reading(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recovery, "to_terminal", lambda: True)
    args = ["secret", "unseal", "DB", sealed(b"pw"), "-e", "prod", "--master-key-file", str(key_file)]
    refused = CliRunner(env=NO_CLUSTER).invoke(cli, args)
    assert refused.exit_code == 1 and "terminal" in refused.stderr and refused.stdout == ""
    assert CliRunner(env=NO_CLUSTER).invoke(cli, [*args, "--yes"]).stdout_bytes == b"pw"


def test_given_value_for_another_environment_when_unsealed_then_one_line_refusal(key_file: Path) -> None:
    args = [
        "secret",
        "unseal",
        "DB",
        sealed(b"pw", env="staging"),
        "-e",
        "prod",
        "--master-key-file",
        str(key_file),
    ]
    result = CliRunner(env=NO_CLUSTER).invoke(cli, args)
    assert result.exit_code == 1 and "failed authentication" in result.stderr and "pw" not in result.stderr
