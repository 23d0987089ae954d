"""A declared name is injected only once its projected object holds a value of it.

The environment's status facts (what the operator reported per name) decide: a name that never
projected is refused with its own cause when required and left out with a warning when optional;
a name whose new value failed keeps its last good value, which the pod gets (with a warning).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers_ironflow_env import pod

from ironflow.cli.blocked import _row
from ironflow.core.declarations import parse_declaration
from ironflow.core.environment_view import EnvironmentView, build_view
from ironflow.core.injection import InjectionRefused, plan_injection
from ironflow.core.injection_readiness import unprojected_from_refusal
from ironflow.webhook.reader import environment_reader

WRONG_KEY = ("DB_PASSWORD: sealed for unknown key id f00dfeed, not among the operator's keys "
             "(current 1234abcd): sealed for another cluster or with a retired key; "
             "seal it again for this environment")


def _secret(
    names: dict[str, dict[str, str]], generation: int = 1, observed: int | None = 1
) -> dict[str, Any]:
    status: dict[str, Any] = {"names": names}
    if observed is not None:
        status["observedGeneration"] = observed
    return {
        "metadata": {"name": "app", "creationTimestamp": "2026-01-01T00:00:00Z", "uid": "u1",
                     "generation": generation},
        "spec": {"sealed": dict.fromkeys(["DB_PASSWORD", "OTHER"], "")},
        "status": status,
    }


PROJECTED = {"state": "Projected", "version": "u1-1", "keyId": "1234abcd"}
NEVER = {"state": "Failed", "reason": "WrongKey", "keyId": "f00dfeed", "message": WRONG_KEY}
KEPT = {**NEVER, "version": "u1-1"}


def _view(db: dict[str, str], **kw: Any) -> EnvironmentView:
    return build_view("prod", [_secret({"DB_PASSWORD": db, "OTHER": PROJECTED}, **kw)], [])


def _plan(annotation: str, view: EnvironmentView) -> Any:
    declaration = parse_declaration({"ironflow.io/secrets": annotation})
    assert declaration is not None
    return plan_injection(declaration, view, pod({"ironflow.io/secrets": annotation}))


def test_given_required_name_that_never_unsealed_when_admitted_then_refused_with_its_cause() -> None:
    with pytest.raises(InjectionRefused) as refused:
        _plan("DB_PASSWORD, OTHER", _view(NEVER))
    message = str(refused.value)
    assert "environment prod has not projected" in message
    assert "secret DB_PASSWORD (IronflowSecret app): never projected" in message
    assert "sealed for unknown key id f00dfeed" in message and "seal it again" in message
    assert "OTHER" not in message


def test_given_optional_name_that_never_unsealed_when_admitted_then_left_out_with_a_warning() -> None:
    injection = _plan("DB_PASSWORD?, OTHER", _view(NEVER))
    env = next(op["value"] for op in injection.patch if op["path"].endswith("/env"))
    assert [e["name"] for e in env] == ["OTHER"]
    assert '"absentOptional":["DB_PASSWORD"]' in injection.record
    assert any("optional secret DB_PASSWORD" in w and "f00dfeed" in w and w.endswith("left out")
               for w in injection.warnings)


def test_given_new_value_failed_but_old_one_projected_when_admitted_then_injected_with_a_warning() -> None:
    injection = _plan("DB_PASSWORD", _view(KEPT))
    env = next(op["value"] for op in injection.patch if op["path"].endswith("/env"))
    assert [e["name"] for e in env] == ["DB_PASSWORD"]
    assert any("current definition is not projected" in w and "value projected before it" in w
               for w in injection.warnings)


def test_given_no_status_yet_when_admitted_then_refused_as_not_projected_yet() -> None:
    view = build_view("prod", [_secret({}, observed=None)], [])
    assert not view.settled("secret", "DB_PASSWORD")
    with pytest.raises(InjectionRefused) as refused:
        _plan("DB_PASSWORD", view)
    assert "not projected yet" in str(refused.value)
    assert "kubectl wait --for=condition=Ready ironflowsecret/app -n prod" in str(refused.value)


def test_given_failure_reported_for_an_older_generation_when_viewed_then_unsettled() -> None:
    assert _view(NEVER).settled("secret", "DB_PASSWORD")
    assert not _view(NEVER, generation=2, observed=1).settled("secret", "DB_PASSWORD")
    assert _view(KEPT, generation=2, observed=1).settled("secret", "DB_PASSWORD")


class _Kube:
    def __init__(self, live: list[dict[str, Any]]) -> None:
        self.live, self.paths = live, []  # type: list[dict[str, Any]], list[str]

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        self.paths.append(path)
        return {"items": self.live if path.endswith("/ironflowsecrets") else []}

    async def get(self, path: str, **_: Any) -> dict[str, Any] | None:
        self.paths.append(path)
        return None


def _reads(cached: EnvironmentView, live: list[dict[str, Any]]) -> tuple[EnvironmentView, list[str]]:
    kube = _Kube(live)

    async def from_cache(namespace: str) -> EnvironmentView:
        return cached

    read = environment_reader(kube, cached=from_cache, owned=lambda *_: True)  # type: ignore[arg-type]
    view = asyncio.run(read("prod", [("secret", "DB_PASSWORD")]))
    return view, [p for p in kube.paths if "ironflow.io" in p]


def test_given_cache_status_trailing_the_spec_when_read_then_live_listing_decides() -> None:
    live = [_secret({"DB_PASSWORD": PROJECTED, "OTHER": PROJECTED}, generation=2, observed=2)]
    view, lists = _reads(_view(NEVER, generation=2, observed=1), live)
    assert view.version("secret", "DB_PASSWORD") == "u1-1"
    assert len(lists) == 2


def test_given_failure_reported_for_the_current_generation_when_read_then_no_list() -> None:
    view, lists = _reads(_view(NEVER), [])
    assert view.version("secret", "DB_PASSWORD") is None and lists == []


def test_given_not_projected_refusal_when_read_back_then_names_and_resources_are_recovered() -> None:
    with pytest.raises(InjectionRefused) as refused:
        _plan("DB_PASSWORD, OTHER", _view(NEVER))
    quoted = ('admission webhook "declarations.pods.ironflow.io" denied the request: '
              f"ironflow: {refused.value}")
    assert unprojected_from_refusal(quoted) == [("secret", "DB_PASSWORD", "app")]
    rs = {"metadata": {"name": "web-1", "namespace": "prod",
                       "ownerReferences": [{"controller": True, "kind": "Deployment", "name": "web"}]}}
    row = _row(rs, quoted)
    assert row["missing"] == ["secret DB_PASSWORD (not projected)"]
    assert row["fix"] == ["see why: kubectl describe ironflowsecret app -n prod"]


def test_given_cause_without_advice_when_refused_then_what_to_do_is_added() -> None:
    fact = {"state": "Failed", "reason": "NoMasterKey",
            "message": "DB_PASSWORD: not unsealed, the operator has no master key"}
    with pytest.raises(InjectionRefused) as refused:
        _plan("DB_PASSWORD", _view(fact))
    assert "the operator has no master key; restore the ironflow-master-key Secret" in str(refused.value)
