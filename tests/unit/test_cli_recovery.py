"""`secret unseal --master-key-file`: offline disaster recovery, never a plaintext on a terminal."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from ironflow.cli import recovery
from ironflow.cli.main import cli
from ironflow.core.crypto import derive_sealing_key, seal
from ironflow.core.signing import derive_signer

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


OLD = "a1" * 32


def backup_manifest(data: dict[str, str], *, encode: bool = True) -> str:
    """What `ironflow key backup -f FILE` writes (base64 `data`), or a hand-written `stringData`."""
    body = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()} if encode else data
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "ironflow-master-key", "namespace": "ironflow-system"},
            "type": "Opaque",
            "data" if encode else "stringData": body,
        },
        sort_keys=False,
    )


def unseal_with(path: Path, value: str) -> Result:
    args = ["secret", "unseal", "DB", "-", "-e", "prod", "--master-key-file", str(path)]
    return CliRunner(env=NO_CLUSTER).invoke(cli, args, input=value)


@pytest.mark.parametrize("encode", [True, False], ids=["data", "stringData"])
def test_given_key_backup_manifest_when_unsealed_offline_then_current_and_previous_keys_are_used(
    tmp_path: Path, encode: bool
) -> None:
    path = tmp_path / "backup.yaml"
    path.write_text(
        backup_manifest(
            {"IRONFLOW_MASTER_KEY": KEY, "IRONFLOW_PREVIOUS_KEYS": OLD, "IRONFLOW_SIGNER_CHAIN": "[]"},
            encode=encode,
        )
    )
    assert unseal_with(path, sealed(b"pw")).stdout_bytes == b"pw"
    old_sealed = seal(derive_sealing_key(bytes.fromhex(OLD)).public, "prod", "DB", b"old-pw")
    assert unseal_with(path, old_sealed).stdout_bytes == b"old-pw"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty"),
        ("5e5e\n", "is 4 characters long; expected 64 hex characters"),
        ("zz" * 32, "characters other than hex digits"),
        (backup_manifest({"IRONFLOW_MASTER_KEY": "5e" * 30}), "IRONFLOW_MASTER_KEY in master key file"),
        (backup_manifest({"IRONFLOW_PREVIOUS_KEYS": KEY}), "without IRONFLOW_MASTER_KEY"),
        (backup_manifest({"IRONFLOW_MASTER_KEY": KEY, "IRONFLOW_PREVIOUS_KEYS": "a1"}), "entry 1 of 1"),
        ("kind: Secret\ndata:\n  IRONFLOW_MASTER_KEY: '%%%'\n", "IRONFLOW_MASTER_KEY is not valid base64"),
        ("kind: ConfigMap\ndata: {}\n", "holds a ConfigMap, not a Secret"),
        (f"kind: Secret\ndata:\n  IRONFLOW_MASTER_KEY: [{KEY}\n  x: y\n", "YAML error at line"),
    ],
    ids=["empty", "short", "not-hex", "short-in-manifest", "no-current", "bad-previous", "not-base64",
         "not-a-secret", "broken-yaml"],
)
def test_given_malformed_key_file_when_unsealing_then_one_line_naming_the_file_and_never_its_content(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "recovery" / "master-key.yaml"
    path.parent.mkdir()
    path.write_text(content)
    result = unseal_with(path, sealed(b"pw"))
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], result.stderr
    assert "in Secret" not in lines[0]
    for secret in (KEY, base64.b64encode(KEY.encode()).decode(), "5e" * 30):
        assert secret not in result.stderr


def test_given_missing_key_file_when_unsealing_then_error_names_the_file(tmp_path: Path) -> None:
    result = unseal_with(tmp_path / "nope.key", sealed(b"pw"))
    assert result.exit_code == 1 and f"master key file {tmp_path / 'nope.key'}" in result.stderr


def test_given_backup_file_when_key_ids_run_offline_then_signer_ids_to_check_and_no_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "backup.yaml"
    path.write_text(backup_manifest({"IRONFLOW_MASTER_KEY": KEY, "IRONFLOW_PREVIOUS_KEYS": OLD}))
    result = CliRunner(env=NO_CLUSTER).invoke(cli, ["key", "ids", "--master-key-file", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for line, key, role in zip(lines, (KEY, OLD), ("current", "previous"), strict=True):
        assert line.startswith(role) and derive_signer(bytes.fromhex(key)).id in line
        assert derive_sealing_key(bytes.fromhex(key)).kid in line
    assert KEY not in result.output and OLD not in result.output
