"""A KUBECONFIG list, merged as kubectl merges it, for the operator's resolver and for the CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from ironflow.cli.kubecontext import context_namespace
from ironflow.k8s.config import ClusterChoice, choose_cluster
from ironflow.k8s.kubeconfig import resolve
from ironflow.k8s.kubeconfig_files import merge
from ironflow.k8s.sync_client import connect


def _config(path: Path, current: str | None, clusters: dict[str, str], users: dict[str, dict[str, Any]],
            contexts: dict[str, tuple[str, str, str | None]]) -> Path:
    document: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": {"cluster": c, "user": u, **({"namespace": ns} if ns else {})}}
                     for n, (c, u, ns) in contexts.items()],
    }
    if current:
        document["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    first = _config(tmp_path / "one" / "config", None, {"c1": "https://first:6443"},
                    {"u1": {"token": "first-token"}}, {"a": ("c1", "u1", "team-a")})
    second = _config(tmp_path / "two" / "config", "b",
                     {"c1": "https://ignored:6443", "c2": "https://second:6443"},
                     {"u1": {"token": "ignored"}, "u2": {"tokenFile": "token"}},
                     {"a": ("c2", "u2", "ignored"), "b": ("c2", "u2", "team-b")})
    (second.parent / "token").write_text("second-token")
    return first, second


def test_given_two_files_when_merged_then_the_first_definition_of_each_name_wins_whole(
    two_files: tuple[Path, Path],
) -> None:
    first, second = two_files
    merged = merge([first, second])
    assert merged.current_context == "b"  # the first file sets none: the second's counts
    assert merged.named("clusters", "c1").body == {"server": "https://first:6443"}
    assert merged.named("users", "u1").body == {"token": "first-token"}
    assert merged.named("contexts", "a").body["cluster"] == "c1"
    assert merged.named("users", "u2").base == second.parent
    endpoint = resolve(ClusterChoice(str(first), None, False, (str(second),)))
    assert endpoint.server == "https://second:6443"  # current-context b, from the second file
    assert endpoint.token_file == str(second.parent / "token")  # relative to the file defining u2
    named = resolve(ClusterChoice(str(first), "a", False, (str(second),)))
    assert (named.server, named.token) == ("https://first:6443", "first-token")


def test_given_both_files_set_current_context_when_merged_then_the_first_one_counts(tmp_path: Path) -> None:
    token = {"token": "t"}
    first = _config(tmp_path / "1", "x", {"c": "https://x:1"}, {"u": token}, {"x": ("c", "u", None)})
    second = _config(tmp_path / "2", "y", {"d": "https://y:1"}, {"v": token}, {"y": ("d", "v", None)})
    assert merge([first, second]).current_context == "x"
    assert merge([second, first]).current_context == "y"
    empty = tmp_path / "empty"
    empty.write_text("")
    assert merge([empty, first]).current_context == "x"  # an empty file contributes nothing


def test_given_a_kubeconfig_list_when_chosen_then_existing_files_in_order_once(
    two_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = two_files
    listed = [str(tmp_path / "missing"), str(first), "", str(second), str(first)]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(listed))
    choice = choose_cluster()
    assert choice.kubeconfig_files == (str(first), str(second))
    assert str(second) in choice.describe()
    assert choose_cluster(str(second)).kubeconfig_files == (str(second),)  # --kubeconfig: that file only


def test_given_a_kubeconfig_list_when_the_cli_connects_then_kubectls_merge_not_the_official_clients(
    two_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = two_files
    third = _config(tmp_path / "three" / "config", "z", {"c3": "https://third:6443"},
                    {"u3": {"token": "t3"}}, {"z": ("c3", "u3", "team-z")})
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(second), str(third)]))
    # kubectl: current-context b (the first file to set one); the official client alone would take z
    assert context_namespace(None, None) == "team-b"
    assert context_namespace(None, "a") == "team-a"
    client = connect(choose_cluster(allow_default_file=True))
    try:
        assert client.server == "https://second:6443"
    finally:
        client.close()
