"""The CLI's parsing and offline paths: values, keys, output formats and one-line errors.

Everything here runs without a cluster: `secret seal --public-key` is fully offline, and the
cluster-facing commands are exercised only up to the point where they give up with a reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from ironflow.cli.main import cli
from ironflow.core.crypto import derive_sealing_key, parse_sealed, sealing_key_configmap_data, unseal
from ironflow.core.keyring import Keyring

MASTER = bytes.fromhex("5e" * 32)
PAIR = derive_sealing_key(MASTER)
KEYRING = Keyring.from_master_keys(MASTER)


NO_CLUSTER = {"KUBECONFIG": "/nonexistent/ironflow-unit-kubeconfig", "IRONFLOW_ENV": None}


def run(*args: str, stdin: bytes | str | None = None) -> Result:
    """Hermetic: even when the session has started a cluster, these tests name none."""
    return CliRunner(env=NO_CLUSTER).invoke(cli, list(args), input=stdin, prog_name="ironflow")


def assert_one_line_error(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "no error on stderr"
    reason = lines[-1]
    assert reason.startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in reason, reason
    assert "Traceback" not in result.output
    if code != 2:  # click's usage errors carry a "Usage:" line on purpose
        assert len(lines) == 1, result.stderr


@pytest.fixture
def configmap_file(tmp_path: Path) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ironflow-sealing-key", "namespace": "dev"},
        "data": {**sealing_key_configmap_data(PAIR), "mode": "keyed"},
    }
    path = tmp_path / "key.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def bare_key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key.pem"
    path.write_text(sealing_key_configmap_data(PAIR)["publicKey"] + "\n")
    return path


def opened(sealed: str, env: str = "dev", name: str = "DB_PASSWORD") -> bytes:
    return unseal(KEYRING, env, name, sealed, allow_dev=False)


def test_given_configmap_file_when_sealing_argument_then_operator_unseals_it_for_that_env_and_name(
    configmap_file: Path,
) -> None:
    result = run(
        "secret", "seal", "DB_PASSWORD", "hunter2", "--env", "dev", "--public-key", str(configmap_file)
    )
    assert result.exit_code == 0, result.output
    sealed = result.stdout.strip()
    assert sealed.startswith(f"ifs:v1:{PAIR.kid}:")
    assert opened(sealed) == b"hunter2"
    assert "hunter2" not in result.output


def test_given_bare_base64_key_file_when_sealing_stdin_then_one_trailing_newline_is_dropped(
    bare_key_file: Path,
) -> None:
    result = run(
        "secret", "seal", "TOKEN", "-", "-e", "dev", "--public-key", str(bare_key_file), stdin=b"v\n\n"
    )
    assert result.exit_code == 0, result.output
    assert opened(result.stdout.strip(), name="TOKEN") == b"v\n"


def test_given_crlf_on_stdin_when_sealing_then_crlf_is_dropped(bare_key_file: Path) -> None:
    result = run(
        "secret", "seal", "TOKEN", "-", "-e", "dev", "--public-key", str(bare_key_file), stdin=b"v\r\n"
    )
    assert opened(result.stdout.strip(), name="TOKEN") == b"v"


def test_given_from_file_when_sealing_then_bytes_are_kept_exactly(
    bare_key_file: Path, tmp_path: Path
) -> None:
    source = tmp_path / "value.bin"
    source.write_bytes(b"\x00\xffline\n")
    args = [
        "secret",
        "seal",
        "BLOB",
        "-e",
        "dev",
        "--public-key",
        str(bare_key_file),
        "--from-file",
        str(source),
    ]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert opened(result.stdout.strip(), name="BLOB") == b"\x00\xffline\n"


def test_given_json_output_when_sealing_then_data_is_json_with_key_id(configmap_file: Path) -> None:
    result = run("secret", "seal", "A", "x", "-e", "dev", "--public-key", str(configmap_file), "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["keyId"] == PAIR.kid and doc["name"] == "A" and doc["environment"] == "dev"
    assert opened(doc["sealed"], name="A") == b"x"


def test_given_output_option_before_subcommand_when_sealing_then_it_applies(configmap_file: Path) -> None:
    result = run("-o", "yaml", "secret", "seal", "A", "x", "-e", "dev", "--public-key", str(configmap_file))
    assert yaml.safe_load(result.stdout)["keyId"] == PAIR.kid


def test_given_dev_mode_key_file_when_sealing_then_refused_without_printing_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    path.write_text(yaml.safe_dump({"data": {"mode": "dev"}}))
    result = run("secret", "seal", "A", "plain-canary", "-e", "dev", "--public-key", str(path))
    assert_one_line_error(result, 1, "development mode", "--dev")
    assert "plain-canary" not in result.stdout + result.stderr


def test_given_dev_and_public_key_when_sealing_then_usage_error(bare_key_file: Path) -> None:
    result = run("secret", "seal", "A", "x", "-e", "dev", "--dev", "--public-key", str(bare_key_file))
    assert_one_line_error(result, 2, "--dev")


def test_given_offline_seal_when_done_then_key_id_on_stderr(bare_key_file: Path) -> None:
    result = run("secret", "seal", "A", "x", "-e", "dev", "--public-key", str(bare_key_file))
    assert result.exit_code == 0
    kid = parse_sealed(result.stdout.strip()).kid
    assert f"key id {kid}" in result.stderr


def test_given_invalid_key_mode_when_sealing_then_refused_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"data": {"mode": "invalid-key"}}))
    result = run("secret", "seal", "A", "x", "-e", "dev", "--public-key", str(path))
    assert_one_line_error(result, 1, "master key is malformed")


@pytest.mark.parametrize("content", ["not a key", "{}", "data: {publicKey: AAAA}", ""])
def test_given_unusable_key_file_when_sealing_then_one_line_reason(tmp_path: Path, content: str) -> None:
    path = tmp_path / "key"
    path.write_text(content)
    assert_one_line_error(run("secret", "seal", "A", "x", "-e", "dev", "--public-key", str(path)), 1)


def test_given_tampered_key_id_in_configmap_when_sealing_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.yaml"
    path.write_text(yaml.safe_dump({"data": {**sealing_key_configmap_data(PAIR), "keyId": "0" * 16}}))
    assert_one_line_error(
        run("secret", "seal", "A", "x", "-e", "dev", "--public-key", str(path)), 1, "key id"
    )


def test_given_missing_key_file_when_sealing_then_one_line_reason() -> None:
    assert_one_line_error(
        run("secret", "seal", "A", "x", "-e", "dev", "--public-key", "/nonexistent/k"), 1, "cannot read"
    )


@pytest.mark.parametrize("name", ["1BAD", "with-dash", "a b", "É"])
def test_given_invalid_name_when_sealing_then_user_error(bare_key_file: Path, name: str) -> None:
    result = run("secret", "seal", name, "x", "-e", "dev", "--public-key", str(bare_key_file))
    assert_one_line_error(result, 1, "not a valid environment variable name")


def test_given_invalid_environment_when_sealing_then_user_error(bare_key_file: Path) -> None:
    result = run("secret", "seal", "A", "x", "-e", "Prod_1", "--public-key", str(bare_key_file))
    assert_one_line_error(result, 1, "not a DNS label")


def test_given_no_value_when_sealing_then_usage_error(bare_key_file: Path) -> None:
    result = run("secret", "seal", "A", "-e", "dev", "--public-key", str(bare_key_file))
    assert_one_line_error(result, 2, "missing the value")


def test_given_value_and_file_when_sealing_then_usage_error(bare_key_file: Path) -> None:
    result = run(
        "secret",
        "seal",
        "A",
        "x",
        "--from-file",
        str(bare_key_file),
        "-e",
        "dev",
        "--public-key",
        str(bare_key_file),
    )
    assert_one_line_error(result, 2, "not both")


def test_given_empty_stdin_when_sealing_then_refused_unless_allowed(bare_key_file: Path) -> None:
    base = ["secret", "seal", "A", "-", "-e", "dev", "--public-key", str(bare_key_file)]
    assert_one_line_error(run(*base, stdin=b""), 1, "empty", "--allow-empty")
    allowed = run(*base, "--allow-empty", stdin=b"")
    assert allowed.exit_code == 0
    assert opened(allowed.stdout.strip(), name="A") == b""


def test_given_no_env_when_sealing_then_usage_error(bare_key_file: Path) -> None:
    assert_one_line_error(run("secret", "seal", "A", "x", "--public-key", str(bare_key_file)), 2, "--env")


def test_given_env_variable_when_sealing_then_it_names_the_environment(bare_key_file: Path) -> None:
    result = CliRunner(env={**NO_CLUSTER, "IRONFLOW_ENV": "staging"}).invoke(
        cli, ["secret", "seal", "A", "x", "--public-key", str(bare_key_file)]
    )
    assert opened(result.stdout.strip(), env="staging", name="A") == b"x"


def test_given_unknown_output_format_when_listing_then_usage_error() -> None:
    assert_one_line_error(run("secret", "list", "-e", "dev", "-o", "xml"), 2, "xml")


def test_when_keygen_then_fresh_64_hex_keys() -> None:
    first, second = run("keygen"), run("keygen")
    assert first.exit_code == 0
    for result in (first, second):
        assert len(result.stdout.strip()) == 64
        bytes.fromhex(result.stdout.strip())
    assert first.stdout != second.stdout
    assert len(json.loads(run("keygen", "-o", "json").stdout)["masterKey"]) == 64


@pytest.mark.parametrize(
    "args",
    [
        ["secret", "list", "-e", "dev"],
        ["secret", "set", "A", "x", "-e", "dev"],
        ["config", "set", "A", "1", "-e", "dev"],
        ["status"],
    ],
)
def test_given_no_cluster_named_when_command_needs_one_then_exit_3_with_reason(args: list[str]) -> None:
    # HOME is an empty directory for the whole test session, and KUBECONFIG names a missing file.
    assert_one_line_error(run(*args), 3, "KUBECONFIG")


def test_given_kubeconfig_of_dead_server_when_listing_then_exit_3_cannot_reach(tmp_path: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    assert_one_line_error(run("secret", "list", "-e", "dev", "--kubeconfig", str(path)), 3, "cannot reach")
    assert_one_line_error(
        run("secret", "list", "-e", "dev", "--kubeconfig", str(path), "--context", "nope"), 3, "nope"
    )


def test_given_installed_entry_point_when_run_then_it_works_as_a_program() -> None:
    binary = Path(sys.executable).parent / "ironflow"
    env = {**os.environ, "KUBECONFIG": "/nonexistent/kubeconfig"}
    keygen = subprocess.run([binary, "keygen"], capture_output=True, text=True, env=env, timeout=60)
    assert keygen.returncode == 0 and len(keygen.stdout.strip()) == 64
    listing = subprocess.run(
        [binary, "secret", "list", "-e", "dev"], capture_output=True, text=True, env=env, timeout=60
    )
    assert listing.returncode == 3
    assert listing.stderr.strip().splitlines() == [
        "Error: KUBECONFIG is set to '/nonexistent/kubeconfig' but no such file exists"
    ]
