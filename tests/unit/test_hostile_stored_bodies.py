"""Hostile STORED bodies through every handler and task that reads one, not only the parser.

A CRD without Ironflow's schema lets the API server store any JSON as spec and status, under
metadata the API server itself keeps valid. Such a body once passed the parser (InvalidSpec) but
reached the master-key watch raw: at the next key change `stranded_values` raised AttributeError
and the watch ended; the rollouts handler raised on every event. Here each stored body goes
through the kopf event handlers, the cache, a key change with a key removed (stranding), the
reconcile, the reseal worker, the rollout check, the webhook's view and the CLI's readers; the
only failures allowed are the typed ones a command reports (UserError).
"""

from __future__ import annotations

import asyncio
import base64
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_bodies import ANY_JSON, SPEC

from ironflow.cli import promote_files, reseal_files
from ironflow.cli.errors import UserError
from ironflow.cli.manifests import merge_into
from ironflow.controller import cr_events, masterkey, projector, reseal, resync, rollouts
from ironflow.controller.masterkey import key_state
from ironflow.controller.state import Options, Runtime
from ironflow.core.keyring import generate_master_key
from ironflow.core.model import CONFIG_KIND, SECRET_KIND, Kind, spec_of
from ironflow.core.outcomes import KeyState
from ironflow.core.reseal import RESEAL_ANNOTATION
from ironflow.core.rollout import plan
from ironflow.k8s.config import ClusterChoice
from ironflow.k8s.sync_resources import CONFIGS, SECRETS, entries
from ironflow.webhook.reader import CachedEnvironments

EXAMPLES = 60
NS = "prod"
CURRENT, PREVIOUS = generate_master_key(), generate_master_key()


def _keys(*hex_keys: str) -> KeyState:
    data = {"IRONFLOW_MASTER_KEY": base64.b64encode(hex_keys[0].encode()).decode()}
    if len(hex_keys) > 1:
        data["IRONFLOW_PREVIOUS_KEYS"] = base64.b64encode(",".join(hex_keys[1:]).encode()).decode()
    return key_state({"data": data})


WITH_PREVIOUS, ROTATED = _keys(CURRENT, PREVIOUS), _keys(CURRENT)
DECLARING = {
    "metadata": {"name": "web", "namespace": NS, "uid": "w1", "resourceVersion": "5",
                 "annotations": {}},
    "spec": {"template": {"metadata": {"annotations": {"ironflow.io/secrets": "DB_PASSWORD",
                                                       "ironflow.io/configs": "HTTP_TIMEOUT_MS?"}}}},
}


class _FakeKube:
    """Answers like an API server holding `stored` and nothing else; writes are echoed."""

    write_guard = None

    def __init__(self, stored: dict[str, Any]) -> None:
        self.stored = stored

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        if method == "GET" and "/deployments" in path:
            return {"items": [copy.deepcopy(DECLARING)], "metadata": {}}
        return {"items": [], "metadata": {"resourceVersion": "1"}}

    async def get(self, path: str, **_: Any) -> dict[str, Any] | None:
        ours = "/ironflowsecrets/" in path or "/ironflowconfigs/" in path
        return copy.deepcopy(self.stored) if ours else None

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        meta = {**body.get("metadata", {}), "resourceVersion": "2", "uid": "created"}
        return {**body, "metadata": meta}

    async def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        meta = {**self.stored["metadata"], "resourceVersion": "8"}
        return {**copy.deepcopy(self.stored), **copy.deepcopy(patch), "metadata": meta}


def _runtime(kube: _FakeKube) -> Runtime:
    options = Options(cluster=ClusterChoice(kubeconfig=None, context=None, in_cluster=False), namespaces=(),
                      operator_namespace="ironflow-system", master_key_secret="ironflow-master-key",
                      metrics_port=0, health_port=0, bind_address="127.0.0.1", workers=1)
    runtime = Runtime(options=options, kube=kube)  # type: ignore[arg-type]
    runtime.projected.listing_expected = False
    return runtime


STORED = st.fixed_dictionaries(
    {"metadata": st.fixed_dictionaries(
        {"namespace": st.just(NS), "name": st.just("app"), "uid": st.just("0123456789abcdef"),
         "resourceVersion": st.just("7"), "creationTimestamp": st.just("2026-01-01T00:00:00Z")},
        optional={"annotations": st.just({RESEAL_ANNOTATION: "n1"})})},
    optional={"spec": SPEC | st.sampled_from(["just-a-string", 5, {"sealed": "x"}, {"sealed": [1]},
                                               {"values": "x"}, {"template": 3}]),
              "status": ANY_JSON},
)


async def _drive(kind: Kind, body: dict[str, Any]) -> None:
    kube = _FakeKube(body)
    runtime = _runtime(kube)
    masterkey.apply(runtime, WITH_PREVIOUS)
    for event_type in ("ADDED", "MODIFIED"):
        event = {"type": event_type, "object": copy.deepcopy(body)}
        await cr_events.on_event(runtime, kind, event, NS, "app")  # kopf's handler of the kind
    masterkey.stranded_values(runtime, {WITH_PREVIOUS.keyring.kids[-1]} if WITH_PREVIOUS.keyring else set())
    masterkey.apply(runtime, ROTATED)  # a key removed: stranding is counted over every cached body
    masterkey.apply(runtime, key_state(None))  # deleted
    masterkey.apply(runtime, WITH_PREVIOUS)  # restored
    resync.resync(runtime)
    await projector.reconcile(runtime, kind, NS, "app", WITH_PREVIOUS)
    if kind == SECRET_KIND:
        await reseal.handle(runtime, NS, "app", WITH_PREVIOUS)
    runtime.rollouts.last_check.clear()
    await rollouts.reconcile_environment(runtime, NS)
    plan(DECLARING, await rollouts._view(runtime, NS))
    await CachedEnvironments(runtime.cache, kube, known=lambda _: True)(NS)  # type: ignore[arg-type]
    await runtime.events.drain(1.0)
    await cr_events.on_event(runtime, kind, {"type": "DELETED", "object": body}, NS, "app")


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from((SECRET_KIND, CONFIG_KIND)), STORED)
def test_given_any_stored_body_when_every_handler_and_task_reads_it_then_none_raises(
        kind: Kind, body: dict[str, Any]) -> None:
    asyncio.run(_drive(kind, body))


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow,
                                                        HealthCheck.function_scoped_fixture])
@given(STORED)
def test_given_any_stored_body_when_the_cli_reads_or_edits_it_then_a_value_or_a_user_error(
        tmp_path: Path, body: dict[str, Any]) -> None:
    for kind, api_kind in ((SECRET_KIND, SECRETS), (CONFIG_KIND, CONFIGS)):
        assert isinstance(entries(body, api_kind), dict)
        doc = {"apiVersion": "ironflow.io/v1alpha1", "kind": kind, **copy.deepcopy(body)}
        text = yaml.safe_dump(doc)
        if kind == SECRET_KIND:
            reseal_files.sealed_documents(text, "f.yaml", NS)
            new = {"apiVersion": "ironflow.io/v1alpha1", "kind": SECRET_KIND,
                   "metadata": {"name": "app", "namespace": NS}, "spec": {"sealed": {"B": "v"}}}
            try:
                merge_into([copy.deepcopy(doc)], [new])
            except UserError as exc:
                assert "must be an object" in str(exc)
        directory = tmp_path / kind
        directory.mkdir(exist_ok=True)
        (directory / "app.yaml").write_text(text, encoding="utf-8")
        promote_files.secret_names_in_dir(directory, NS)
        promote_files.effective_in_dir(directory, NS)
        if kind == CONFIG_KIND:
            try:
                promote_files.write_to_dir(directory, NS, {"app": {"X": 1}})
            except UserError as exc:
                assert "must be an object" in str(exc)


@pytest.mark.parametrize("spec", ["just-a-string", 5, {"sealed": "x"}, {"sealed": [1]}, [1], True])
def test_given_spec_of_wrong_shape_cached_when_a_key_is_removed_then_nothing_stranded_and_key_applied(
        spec: Any) -> None:
    """The defect itself: stranding ran `(body.get("spec") or {}).get("sealed")` on `spec: 5`."""

    async def scenario() -> tuple[list[str], str]:
        runtime = _runtime(_FakeKube({}))
        masterkey.apply(runtime, WITH_PREVIOUS)
        runtime.cache.put(SECRET_KIND, {"metadata": {"namespace": NS, "name": "bad", "uid": "u1"},
                                        "spec": spec})
        stranded = masterkey.stranded_values(runtime, set(WITH_PREVIOUS.keyring.kids)
                                             if WITH_PREVIOUS.keyring else set())
        masterkey.apply(runtime, ROTATED)
        assert runtime.keys is not None
        return stranded, runtime.keys.fingerprint()

    stranded, applied = asyncio.run(scenario())
    assert stranded == []
    assert applied == ROTATED.fingerprint()


@pytest.mark.parametrize("kind", ["secret", "config"])
@pytest.mark.parametrize("spec", ["just-a-string", 5, {"sealed": "x", "values": "x"}])
def test_given_spec_of_wrong_shape_when_rollouts_see_its_event_then_no_exception_and_seen_once(
        kind: str, spec: Any) -> None:
    body = {"metadata": {"namespace": NS, "name": f"bad-{kind}"}, "spec": spec, "status": "odd"}
    seen: dict[tuple[str, str, str], str] = {}
    assert rollouts._versions_changed(seen, kind, body) is True
    assert rollouts._versions_changed(seen, kind, body) is False
    model_kind: Kind = SECRET_KIND if kind == "secret" else CONFIG_KIND
    assert spec_of(model_kind, body).entries == {}

