"""The rotation runbook keeps every pinned CLI working: `key rotate` -> `secret reseal` -> `key
retire`, twice, and a CLI pinned before the first rotation still seals, follows the signer chain to
the current signer and moves its pin, without `ironflow trust pin`. A chain a ConfigMap editor
tampered with is refused and moves no pin. Real API server, real operator, the installed CLI.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from cli_support import Cli, assert_one_line_error, spec_map
from kubernetes import client, config
from operator_fixtures import Operator, configmap_data, new_key

from ironflow.core.crypto import derive_sealing_key, parse_sealed
from ironflow.core.key_publication import sealing_key_data
from ironflow.core.keyring import Keyring
from ironflow.core.signer_chain import Link, encode, make_link, parse
from ironflow.core.signing import derive_signer
from ironflow_testbed import eventually
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["cli_fixtures", "operator_fixtures"]
SEALING_KEY = "ironflow-sealing-key"
SECRETS = "ironflowsecrets"
CM_EDITOR = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create", "update", "patch"]}
]


def _published(api: client.ApiClient, namespace: str) -> dict[str, str]:
    return configmap_data(api, namespace, SEALING_KEY) or {}


def _pin(user: Cli) -> str:
    doc = json.loads((user.home / ".config" / "ironflow" / "known-signers.json").read_text())
    [entry] = doc.values()
    signer = entry["signerId"]
    assert isinstance(signer, str)
    return signer


def _accepted(operator: Operator, count: int) -> int:
    return operator.logs().count(f"({count} key(s) accepted for unsealing)")


def _runbook(admin: Cli, operator: Operator, api: client.ApiClient, namespace: str, rounds: int) -> str:
    """docs/operations.md "Rotating the key", `rounds` times; returns the current signer id."""
    signer = ""
    for _ in range(rounds):
        before = _accepted(operator, 1)
        rotated = json.loads(admin.ok("key", "rotate", "-o", "json").stdout)
        kid, signer = rotated["keyId"], rotated["signerId"]
        eventually(lambda k=kid: _published(api, namespace).get("keyId") == k, what="new key published")
        admin.ok("secret", "reseal", "--env", namespace)
        admin.ok("key", "retire", rotated["oldKeyId"])
        eventually(lambda b=before: _accepted(operator, 1) > b, what="the operator dropped the old key")
    eventually(lambda: _published(api, namespace).get("signerId") == signer, what="current signer published")
    return signer


def _setup(
    cli: Cli, operator: Operator, api: client.ApiClient, namespace: str, tmp_path: Path
) -> tuple[Cli, str]:
    key = new_key()
    operator.set_master_key(key)
    operator.start()
    kid = derive_sealing_key(bytes.fromhex(key)).kid
    eventually(lambda: _published(api, namespace).get("keyId") == kid, what="the signed key published")
    cli.env["IRONFLOW_OPERATOR_NAMESPACE"] = operator.operator_namespace
    admin = Cli(cli.kubeconfig, tmp_path / "admin-home", dict(cli.env))
    admin.home.mkdir()
    cli.ok("secret", "set", "A", "a-value", "--env", namespace)  # the user pins the signer from the anchor
    assert _pin(cli) == derive_signer(bytes.fromhex(key)).id
    return admin, _pin(cli)


def test_given_cli_pinned_before_two_rotations_when_runbook_done_then_it_seals_and_its_pin_follows(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, tmp_path: Path
) -> None:
    admin, first = _setup(cli, operator, k8s_api, namespace, tmp_path)
    current = _runbook(admin, operator, k8s_api, namespace, rounds=2)
    assert current != first and _pin(cli) == first  # the user did nothing meanwhile

    followed = cli.ok("secret", "set", "B", "b-value", "--env", namespace)
    assert f"changed from {first} to {current} (2 rotations" in followed.stderr
    assert _pin(cli) == current
    kid = _published(k8s_api, namespace)["keyId"]
    assert parse_sealed(spec_map(k8s_api, namespace, SECRETS)["B"]).kid == kid
    again = cli.ok("secret", "seal", "C", "c-value", "--env", namespace)
    assert "changed" not in again.stderr and parse_sealed(again.stdout.strip()).kid == kid


def _attacker_api(
    cluster: Cluster, api: client.ApiClient, namespace: str, tmp_path: Path
) -> client.CoreV1Api:
    path = cluster.service_account_kubeconfig(api, namespace, "mallory", tmp_path / "mallory", CM_EDITOR)
    return client.CoreV1Api(config.new_client_from_config(config_file=str(path)))


def _tampered(genuine: dict[str, str], namespace: str) -> dict[str, dict[str, str]]:
    """What a ConfigMap editor can make of the published chain (A -> B -> C) without a master key."""
    links = list(parse(genuine["signerChain"]))
    attacker = Keyring.from_master_keys(bytes.fromhex(new_key()))
    assert attacker.signer is not None
    mine = sealing_key_data(attacker, "keyed", namespace)  # the attacker's key, self-signed

    def claimed(endorser: bytes, endorsed: bytes) -> Link:  # a link the attacker signed, claiming `endorser`
        assert attacker.signer is not None
        return Link(endorser, endorsed, make_link(attacker.signer, endorsed).signature)

    return {
        "reordered": {**genuine, "signerChain": encode(links[::-1])},
        "first link forged": {**genuine, "signerChain": encode([claimed(links[0].endorser, links[0].endorsed),
                                                                links[1]])},
        "attacker signer, genuine chain": {**mine, "signerChain": genuine["signerChain"]},
        "attacker signer, chain extended": {
            **mine, "signerChain": encode([*links, claimed(links[-1].endorsed, attacker.signer.public)])
        },
        "attacker signer, chain from the old pin": {
            **mine, "signerChain": encode([claimed(links[0].endorser, attacker.signer.public)])
        },
    }


def test_given_tampered_signer_chain_when_old_pin_follows_then_refused_and_pin_unchanged(
    cli: Cli, operator: Operator, namespace: str, k8s_api: client.ApiClient, cluster: Cluster, tmp_path: Path
) -> None:
    admin, first = _setup(cli, operator, k8s_api, namespace, tmp_path)
    current = _runbook(admin, operator, k8s_api, namespace, rounds=2)
    shown = json.loads(cli.ok("trust", "show", "-o", "json").stdout)  # what a user checks first
    assert (shown["pinned"], shown["published"]) == (first, current)
    assert "follows the signer chain to the published signer (2 rotations" in shown["link"]
    genuine = _published(k8s_api, namespace)
    attacker = _attacker_api(cluster, k8s_api, namespace, tmp_path)
    operator.stop()  # nobody repairs the ConfigMap: each tampered chain is what the CLI reads
    before: dict[str, Any] = spec_map(k8s_api, namespace, SECRETS)
    for what, data in _tampered(genuine, namespace).items():
        attacker.patch_namespaced_config_map(SEALING_KEY, namespace, [{"op": "replace", "path": "/data",
                                                                       "value": data}])
        canary = f"canary-{uuid.uuid4().hex}"
        result = cli("secret", "set", "STOLEN", canary, "--env", namespace)
        assert_one_line_error(result, 1, "do not seal")
        assert canary not in result.stdout + result.stderr, what
        assert _pin(cli) == first, what
    assert spec_map(k8s_api, namespace, SECRETS) == before

    attacker.patch_namespaced_config_map(SEALING_KEY, namespace, [{"op": "replace", "path": "/data",
                                                                   "value": genuine}])
    followed = cli.ok("secret", "set", "B", "b-value", "--env", namespace)
    assert f"changed from {first} to {current}" in followed.stderr and _pin(cli) == current
