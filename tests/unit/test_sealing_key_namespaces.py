"""Kubernetes' own namespaces get no sealing-key ConfigMap unless the operator is told otherwise."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from click.testing import CliRunner

from ironflow.controller import main as operator_main
from ironflow.controller.namespaces import _serve
from ironflow.controller.state import SYSTEM_NAMESPACES
from ironflow.controller.withdraw import to_withdraw
from ironflow.controller.work import SealingKeyKey


def _runtime(excluded: tuple[str, ...]) -> Any:
    queued: list[SealingKeyKey] = []
    return SimpleNamespace(options=SimpleNamespace(sealing_key_excluded=excluded), served_namespaces=set(),
                           queue=SimpleNamespace(add=queued.append), queued=queued)


def test_given_default_exclusions_when_system_namespaces_are_discovered_then_nothing_is_published() -> None:
    runtime = _runtime(SYSTEM_NAMESPACES)
    for namespace in ("kube-system", "kube-public", "kube-node-lease", "team-a"):
        _serve(runtime, namespace)
    assert runtime.queued == [SealingKeyKey("team-a")]
    assert runtime.served_namespaces == {"team-a"}


def test_given_exclusions_cleared_when_kube_system_is_discovered_then_it_is_published() -> None:
    runtime = _runtime(())
    _serve(runtime, "kube-system")
    assert runtime.queued == [SealingKeyKey("kube-system")]


def test_given_operator_flag_when_parsed_then_default_is_the_system_namespaces_and_empty_means_none(
    monkeypatch: Any, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    seen: list[tuple[str, ...]] = []

    def fake_run(coroutine: Any) -> None:
        coroutine.close()

    monkeypatch.setattr(operator_main, "serve", lambda options: seen.append(options.sealing_key_excluded)
                        or _noop())
    monkeypatch.setattr(operator_main.asyncio, "run", fake_run)
    monkeypatch.setattr(operator_main.logs, "configure", lambda *_: None)
    runner = CliRunner()
    for extra in ([], ["--sealing-key-excluded-namespaces="], ["--sealing-key-excluded-namespaces=a, b"]):
        result = runner.invoke(operator_main.main, ["--kubeconfig", str(kubeconfig), *extra], env={})
        assert result.exit_code == 0, result.output
    assert seen == [SYSTEM_NAMESPACES, (), ("a", "b")]


async def _noop() -> None:
    return None


def _published(namespace: str, mark: str | None, kid: str | None, labelled: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "ironflow-sealing-key", "namespace": namespace}
    if labelled:
        meta["labels"] = {"app.kubernetes.io/managed-by": "ironflow-operator"}
    if mark is not None:
        meta["annotations"] = {"ironflow.io/published-by": mark}
    return {"metadata": meta, "data": {"mode": "keyed", "keyId": kid} if kid else {"mode": "no-key"}}


def test_given_published_sealing_keys_when_namespaces_narrowed_then_own_unserved_ones_withdrawn() -> None:
    items = [
        _published("served", "ironflow-system", "k1"),
        _published("old", "ironflow-system", None),  # ours by the mark, whatever its mode
        _published("old-unmarked", None, "k2"),  # published before the mark: ours by its key id
        _published("other-install", "team-b-system", "k1"),
        _published("unmarked-foreign", None, "kx"),
        _published("unmarked-no-key", None, None),  # cannot tell whose: left alone
        _published("unlabelled", "ironflow-system", "k1", labelled=False),
    ]
    chosen = to_withdraw(items, lambda ns: ns == "served", "ironflow-system", ("k1", "k2"))
    assert [c["metadata"]["namespace"] for c in chosen] == ["old", "old-unmarked"]
