"""The API server's audit log proves that no request the CLI sends carries the plaintext.

The audit policy records full request bodies and URLs. A canary value is set through every input
path (argument, stdin, file) and then searched for in the whole log in every encoding a careless
client might use. A positive control (a dev-mode value, which is plaintext on purpose) shows the
search would find a leak: without it, a broken search would pass forever.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from cli_support import Cli, publish_sealing_key, spec_map
from kubernetes import client

from ironflow.core.keyring import Keyring
from ironflow_testbed.audit import AuditLog
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["cli_fixtures"]


def encodings(value: str) -> dict[str, str]:
    """Every spelling of `value` worth searching for, including base64 at each byte alignment."""
    raw = value.encode("utf-8")
    found = {
        "raw": value,
        "json-escaped": json.dumps(value)[1:-1],
        "json-escaped-utf8": json.dumps(value, ensure_ascii=False)[1:-1],
        "url-encoded": quote(value, safe=""),
        "url-encoded-plus": quote_plus(value),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
    }
    for shift in range(3):
        padded = b"\0" * shift + raw
        first, last = math.ceil(8 * shift / 6), (8 * len(padded)) // 6
        for name, encoder in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            found[f"{name}@{shift}"] = encoder(padded + b"\0\0").decode("ascii")[first:last]
    return found


def leaks(log_text: str, value: str) -> list[str]:
    """Encodings of `value` present in the log; checked on the raw text and on its decoded JSON."""
    decoded = "\n".join(
        json.dumps(json.loads(line), ensure_ascii=False) for line in log_text.splitlines() if line
    )
    return [name for name, form in encodings(value).items() if form in log_text or form in decoded]


def test_given_encodings_when_computed_then_base64_forms_appear_in_any_embedding() -> None:
    value = 'canary-åß"/ +&?'
    for prefix in (b"", b"x", b"xy", b"xyz"):
        embedded = base64.b64encode(prefix + value.encode() + b"tail").decode()
        assert any(form in embedded for name, form in encodings(value).items() if name.startswith("base64@"))


@pytest.fixture
def audit(cluster: Cluster) -> AuditLog:
    if cluster.audit is None:
        pytest.skip(
            "the audit log is only readable on the session's own control plane, not with --kubeconfig"
        )
    return cluster.audit


def test_given_canary_when_set_by_every_input_path_then_no_request_carries_it_in_any_encoding(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring, audit: AuditLog, tmp_path: Path
) -> None:
    canary = f'canary-{uuid.uuid4().hex}-åß"/ +&?'
    value_file = tmp_path / "value"
    value_file.write_text(canary, encoding="utf-8")
    runs = [
        cli.ok("secret", "set", "BY_ARGUMENT", canary, "--env", namespace),
        cli.ok("secret", "set", "BY_STDIN", "-", "--env", namespace, stdin=canary + "\n"),
        cli.ok("secret", "set", "BY_FILE", "--from-file", str(value_file), "--env", namespace, "-o", "json"),
        cli.ok("secret", "seal", "SEALED_ONLY", canary, "--env", namespace),
        cli.ok("secret", "list", "--env", namespace),
    ]
    assert set(spec_map(k8s_api, namespace, "ironflowsecrets")) == {"BY_ARGUMENT", "BY_STDIN", "BY_FILE"}
    # Wait until the server has logged the last write, then search everything it logged.
    audit.wait_for(
        lambda e: e.contains("/spec/sealed/BY_FILE"),
        resource="ironflowsecrets",
        namespace=namespace,
        verb="patch",
    )
    assert leaks(audit.path.read_text(encoding="utf-8"), canary) == []
    for run in runs[:3] + runs[4:]:
        assert canary not in run.stdout + run.stderr


def test_given_dev_mode_value_when_set_then_the_leak_search_finds_it(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, audit: AuditLog
) -> None:
    """Positive control: dev mode stores plaintext on purpose, so the same search must see it."""
    publish_sealing_key(k8s_api, namespace, mode="dev")
    control = f'control-{uuid.uuid4().hex}-åß"/ +&?'
    cli.ok("secret", "set", "DEV_VALUE", "-", "--dev", "--env", namespace, stdin=control)
    audit.wait_for(lambda e: e.contains("DEV_VALUE"), resource="ironflowsecrets", namespace=namespace)
    found = leaks(audit.path.read_text(encoding="utf-8"), control)
    assert found, "the leak search missed a value the audit log holds in plaintext"
