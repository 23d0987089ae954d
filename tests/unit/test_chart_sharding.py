"""The chart turns sharding on exactly when more than one replica writes, unless told otherwise.

`sharding.enabled` null (the default) follows `replicas`: one replica owns every namespace anyway,
two or more share them out. Rendered with helm, as `helm install` does; the operator reads the
decision from IRONFLOW_SHARDING, and only a sharded install gets the Role rule for member Leases.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ironflow_testbed.binaries import BIN_DIR_ENV

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "ironflow"


def _helm() -> str:
    spec = importlib.util.spec_from_file_location("gen_manifests", ROOT / "hack" / "gen-manifests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.find_helm(str(Path(os.environ[BIN_DIR_ENV]) / "helm")))


def _template(*sets: str) -> subprocess.CompletedProcess[str]:
    argv = [_helm(), "template", "ironflow", str(CHART), "--namespace", "ironflow-system",
            "--kube-version", "1.35.0"]
    for value in sets:
        argv += ["--set", value]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def _rendered(*sets: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The operator container's env by name, and the leader-election Role's rules."""
    run = _template(*sets)
    assert run.returncode == 0, run.stderr
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(run.stdout) if d}
    pod = docs[("Deployment", "ironflow-operator")]["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "operator")
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    return env, docs[("Role", "ironflow-operator-leader-election")]["rules"]


def _member_lease_rule(rules: list[dict[str, Any]]) -> bool:
    return any(r["resources"] == ["leases"] and "resourceNames" not in r and "list" in r["verbs"]
               for r in rules)


@pytest.mark.parametrize(("sets", "sharded"), [
    (("replicas=1",), False),
    (("replicas=2",), True),
    ((), True),  # the default: replicas 2
    (("replicas=3", "sharding.enabled=false"), False),
    (("replicas=1", "sharding.enabled=true"), True),
    (("replicas=4", "sharding.enabled=null"), True),
])
def test_given_replicas_and_sharding_value_when_rendered_then_env_and_rbac_follow(
    sets: tuple[str, ...], sharded: bool
) -> None:
    env, rules = _rendered(*sets)
    assert env["IRONFLOW_SHARDING"] == ("true" if sharded else "false")
    assert _member_lease_rule(rules) is sharded
    assert env["IRONFLOW_REPLICA_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["IRONFLOW_POD_UID"] == {"fieldRef": {"fieldPath": "metadata.uid"}}  # the member Lease's owner


def test_given_sharding_on_member_lease_rule_when_rendered_then_it_lists_renews_and_deletes() -> None:
    _, rules = _rendered("replicas=2")
    rule = next(r for r in rules if r["resources"] == ["leases"] and "list" in r["verbs"])
    assert set(rule["verbs"]) == {"get", "list", "watch", "update", "delete"}
    assert any(r["resources"] == ["leases"] and r["verbs"] == ["create"] for r in rules)


def test_given_sharding_without_leader_election_when_rendered_then_refused_naming_both() -> None:
    run = _template("replicas=2", "leaderElection.enabled=false")
    assert run.returncode != 0 and "needs leaderElection.enabled" in run.stderr
    assert _template("replicas=1", "leaderElection.enabled=false").returncode == 0


def test_given_sharding_enabled_not_a_boolean_when_rendered_then_schema_refuses() -> None:
    run = _template("sharding.enabled=yes")
    assert run.returncode != 0 and "sharding" in run.stderr
