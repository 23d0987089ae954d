"""The pieces `ironflow status` judges with: CA bundles, refusals read back, liveness, staleness."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers_ironflow_env import pod, view

from ironflow.cli import liveness
from ironflow.cli.blocked import _row
from ironflow.cli.status import _staleness
from ironflow.core.ca_bundle import check_ca_bundle
from ironflow.core.declarations import parse_declaration
from ironflow.core.injection import InjectionRefused, missing_from_refusal, plan_injection
from ironflow.k8s.sync_errors import Forbidden, NotFound

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _bundle(not_before: datetime, not_after: datetime) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


def test_given_valid_bundle_when_checked_then_ok_with_its_expiry() -> None:
    result = check_ca_bundle(_bundle(NOW - timedelta(days=1), NOW + timedelta(days=90)), NOW)
    assert result.ok and not result.expiring_soon and "valid until 2027-02-28" in result.detail


def test_given_expired_bundle_when_checked_then_problem_naming_the_date() -> None:
    result = check_ca_bundle(_bundle(NOW - timedelta(days=90), NOW - timedelta(days=1)), NOW)
    assert not result.ok and "expired on 2026-11-29" in result.detail


def test_given_bundle_expiring_in_days_when_checked_then_ok_but_flagged() -> None:
    result = check_ca_bundle(_bundle(NOW - timedelta(days=1), NOW + timedelta(days=3)), NOW)
    assert result.ok and result.expiring_soon


def test_given_missing_or_garbage_bundle_when_checked_then_problem() -> None:
    assert not check_ca_bundle(None, NOW).ok
    assert not check_ca_bundle(base64.b64encode(b"not a certificate").decode(), NOW).ok
    assert not check_ca_bundle("%%%", NOW).ok


def test_given_missing_name_refusal_when_read_back_then_environment_and_names_are_recovered() -> None:
    annotations = {"ironflow.io/secrets": "DB_PASSWORD, API_TOKEN", "ironflow.io/configs": "X"}
    declaration = parse_declaration(annotations)
    assert declaration is not None
    try:
        plan_injection(declaration, view(namespace="team-a"), pod({}))
    except InjectionRefused as exc:
        quoted = f'admission webhook "declarations.pods.ironflow.io" denied the request: ironflow: {exc}'
    else:
        raise AssertionError("not refused")
    assert missing_from_refusal(quoted) == (
        "team-a", [("secret", "DB_PASSWORD"), ("secret", "API_TOKEN"), ("config", "X")]
    )
    assert missing_from_refusal("something else entirely") is None


def test_given_replicaset_refused_for_missing_names_when_rowed_then_fix_commands_name_them() -> None:
    rs = {"metadata": {"name": "web-5d4", "namespace": "dev",
                       "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": True}]}}
    message = ("pods \"web-5d4-x\" is forbidden: admission webhook \"declarations.pods.ironflow.io\" "
               "denied the request: ironflow: environment dev does not define secret DB_PASSWORD, "
               "config TIMEOUT; define it")
    row = _row(rs, message)
    assert (row["kind"], row["name"]) == ("Deployment", "web")
    assert row["missing"] == ["secret DB_PASSWORD", "config TIMEOUT"]
    assert row["fix"] == [
        "ironflow secret set DB_PASSWORD --env dev", "ironflow config set TIMEOUT VALUE --env dev"
    ]


class FakeClient:
    def __init__(self, objects: dict[str, Any], raw: tuple[int, bytes] = (0, b"")) -> None:
        self.objects, self.raw, self.proxied = objects, raw, []

    def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        for prefix, answer in self.objects.items():
            if path.startswith(prefix):
                return dict(answer)
        raise NotFound("no", status=404, reason="NotFound")

    def get_raw(self, path: str) -> tuple[int, bytes]:
        self.proxied.append(path)
        return self.raw


def _operator_pod(phase: str = "Running", ready: str = "False") -> dict[str, Any]:
    return {"metadata": {"name": "ironflow-operator-abc"},
            "spec": {"containers": [{"ports": [{"name": "health", "containerPort": 9999}]}]},
            "status": {"phase": phase, "podIP": "10.0.0.7",
                       "conditions": [{"type": "Ready", "status": ready}]}}


def _installed(raw: tuple[int, bytes], *pods: dict[str, Any]) -> FakeClient:
    return FakeClient({"/apis/apps/v1/namespaces/ironflow-system/deployments/ironflow-operator": {},
                       "/api/v1/namespaces/ironflow-system/pods": {"items": list(pods)}}, raw)


def test_given_operator_ready_through_proxy_when_asked_then_alive_from_readiness_endpoint() -> None:
    client = _installed((200, b"ready\n"), _operator_pod())
    result = liveness.operator_alive(client, "ironflow-system")  # type: ignore[arg-type]
    assert (result.state, result.source) == ("alive", "readiness endpoint")
    assert client.proxied == [
        "/api/v1/namespaces/ironflow-system/pods/http:ironflow-operator-abc:9999/proxy/readyz"
    ]


def test_given_operator_not_ready_when_asked_then_down_with_its_own_words() -> None:
    client = _installed((503, b"waiting for master key\n"), _operator_pod())
    result = liveness.operator_alive(client, "ironflow-system")  # type: ignore[arg-type]
    assert result.state == "down" and "waiting for master key" in result.detail


def test_given_proxy_refused_by_api_server_when_asked_then_pod_ready_condition_decides() -> None:
    refused = (403, json.dumps({"kind": "Status", "message": "forbidden"}).encode())
    ready, unready = _installed(refused, _operator_pod(ready="True")), _installed(refused, _operator_pod())
    alive = liveness.operator_alive(ready, "ironflow-system")  # type: ignore[arg-type]
    down = liveness.operator_alive(unready, "ironflow-system")  # type: ignore[arg-type]
    assert (alive.state, alive.source) == ("alive", "pod Ready condition")
    assert down.state == "down"


class LeaseForbidden(FakeClient):
    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if "/leases/" in path:
            raise Forbidden("no", status=403, reason="Forbidden")
        return super().request(method, path, **kwargs)


def test_given_lease_unreadable_and_no_operator_deployment_when_asked_then_unknown_saying_why() -> None:
    result = liveness.operator_alive(LeaseForbidden({}), "ironflow-system")  # type: ignore[arg-type]
    assert result.state == "unknown" and "cannot be determined" in result.detail


def test_given_no_lease_and_no_operator_deployment_when_asked_then_down() -> None:
    result = liveness.operator_alive(FakeClient({}), "ironflow-system")  # type: ignore[arg-type]
    assert (result.state, result.source) == ("down", "leader Lease")
    assert "no operator has ever taken the leader Lease" in result.detail


def test_given_deployment_with_pending_pod_when_asked_then_down() -> None:
    client = _installed((0, b""), _operator_pod(phase="Pending"))
    result = liveness.operator_alive(client, "ironflow-system")  # type: ignore[arg-type]
    assert result.state == "down" and "Pending" in result.detail


def _cr(generation: int, observed: int, changed: datetime) -> dict[str, Any]:
    return {"metadata": {"generation": generation, "managedFields": [
        {"manager": "ironflow-cli", "time": changed.strftime("%Y-%m-%dT%H:%M:%SZ")},
        {"manager": "ironflow-operator", "subresource": "status", "time": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")},
    ]}, "status": {"observedGeneration": observed}}


def test_given_generation_ahead_of_observed_when_old_then_stale_and_when_fresh_then_pending() -> None:
    stale = _staleness(_cr(10, 9, NOW - timedelta(minutes=5)), NOW, grace=30)
    pending = _staleness(_cr(10, 9, NOW - timedelta(seconds=3)), NOW, grace=30)
    assert stale is not None and stale[0] == "StaleStatus" and "observedGeneration 9" in stale[1]
    assert pending is not None and pending[0] == "Pending"
    assert _staleness(_cr(10, 10, NOW), NOW, grace=30) is None
