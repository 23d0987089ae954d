"""`secret seal -f` and `validate -f` with cluster access: the published key, and the operator's word."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml
from cli_support import Cli, trust_signer
from kubernetes import client
from operator_fixtures import Operator, configmap_data, new_key, ready, secret_data, wait_ready, wait_status

from ironflow.core.keyring import Keyring
from ironflow.core.sealing_key import derive_sealing_key
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["operator_fixtures", "cli_fixtures"]
CANARY = "Qx4-canary-seal-file"


def test_given_secret_manifest_when_sealed_applied_and_validated_then_operator_vouches_and_copies_fail(
    cli: Cli, cluster: Cluster, operator: Operator, namespace: str, k8s_api: client.ApiClient, tmp_path: Path
) -> None:
    key = new_key()
    operator.set_master_key(key)
    operator.start()
    kid = derive_sealing_key(bytes.fromhex(key)).kid
    trust_signer(cli, Keyring.from_master_keys(bytes.fromhex(key)))  # what the admin tells users
    eventually(
        lambda: (configmap_data(k8s_api, namespace, "ironflow-sealing-key") or {}).get("keyId") == kid,
        what="the sealing key published",
    )
    plain = tmp_path / "secret.yaml"
    plain.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "app", "namespace": namespace},
                "data": {"DB_PASSWORD": base64.b64encode(CANARY.encode()).decode()},
                "stringData": {"config.yaml": "a: 1\n"},
            }
        )
    )
    result = cli.ok("secret", "seal", "-f", str(plain))
    assert CANARY not in result.stdout + result.stderr
    doc = yaml.safe_load(result.stdout)
    assert all(v.startswith(f"ifs:v1:{kid}:") for v in doc["spec"]["sealed"].values())
    sealed_file = tmp_path / "sealed.yaml"
    sealed_file.write_text(result.stdout)
    cluster.kubectl("apply", "-f", str(sealed_file))
    wait_ready(k8s_api, "IronflowSecret", namespace, "app")
    assert secret_data(k8s_api, namespace, "app") == {"DB_PASSWORD": CANARY, "config.yaml": "a: 1\n"}

    rows = json.loads(cli.ok("validate", "-f", str(sealed_file), "-o", "json").stdout)
    assert {(r["name"], r["reason"]) for r in rows} == {
        ("DB_PASSWORD", "Projected"),
        ("config.yaml", "Projected"),
    }

    # Sealed for the same key but another namespace: well-formed, right key id, and still refused.
    key_file = tmp_path / "key.pem"
    key_file.write_text(cli.ok("secret", "public-key", "-n", namespace).stdout)
    copied = cli.ok(
        "secret", "seal", "DB_PASSWORD", "x", "-n", "elsewhere", "--public-key", str(key_file)
    ).stdout.strip()
    doc["spec"]["sealed"]["DB_PASSWORD"] = copied
    sealed_file.write_text(yaml.safe_dump(doc))
    offline = json.loads(
        cli.ok("validate", "-f", str(sealed_file), "--public-key", str(key_file), "-o", "json").stdout
    )
    assert {r["reason"] for r in offline} == {"Sealed"}  # the documented limit of offline checks
    cluster.kubectl("apply", "-f", str(sealed_file))
    wait_status(
        k8s_api,
        "IronflowSecret",
        namespace,
        "app",
        lambda c: ready(c).get("reason") == "UnsealFailed",
        "UnsealFailed",
    )
    refused = cli("validate", "-f", str(sealed_file))
    assert refused.code == 1, refused
    assert "DB_PASSWORD: the operator cannot unseal it" in refused.stdout
    assert secret_data(k8s_api, namespace, "app") == {"DB_PASSWORD": CANARY, "config.yaml": "a: 1\n"}
