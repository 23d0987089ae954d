"""Every private part of kopf the operator replaces is still where, and shaped as, the patch expects.

Why: controller/kopf_decoding.py, kopf_memories.py and kopf_namespaces.py swap out attributes
that kopf does not promise to keep. A kopf release that moves or reshapes one would let the
protection lapse silently (the replacement is installed on a name nobody calls any more) or break
it at run time. pyproject.toml pins kopf to the minor these checks were made on; this test is what
fails first when the pin is moved. It reads kopf's source files (not the live modules, which the
patches may already have changed), so it sees kopf as shipped.
"""

from __future__ import annotations

import ast
import inspect
import tomllib
from importlib import metadata
from pathlib import Path
from types import ModuleType

import kopf
from kopf._cogs.clients import api as kopf_api
from kopf._cogs.clients import fetching
from kopf._cogs.structs import references
from kopf._core.reactor import inventory, observation
from packaging.requirements import Requirement

from ironflow.controller import kopf_decoding, kopf_memories, kopf_namespaces

ROOT = Path(__file__).resolve().parents[2]


def _tree(module: ModuleType) -> ast.Module:
    assert module.__file__
    return ast.parse(Path(module.__file__).read_text())


def _function(scope: ast.AST, name: str) -> ast.AsyncFunctionDef | ast.FunctionDef:
    for node in ast.iter_child_nodes(scope):
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.name == name:
            return node
    raise AssertionError(f"kopf no longer defines {name} where the patch expects it")


def _class(scope: ast.Module, name: str) -> ast.ClassDef:
    for node in scope.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise AssertionError(f"kopf no longer defines class {name} where the patch expects it")


def _params(function: ast.AsyncFunctionDef | ast.FunctionDef) -> tuple[list[str], list[str]]:
    """(positional, keyword-only) parameter names."""
    positional = [a.arg for a in function.args.posonlyargs + function.args.args]
    return positional, [a.arg for a in function.args.kwonlyargs]


def _calls(function: ast.AST, owner: str, attribute: str) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attribute
        and isinstance(node.func.value, ast.Name) and node.func.value.id == owner
        for node in ast.walk(function)
    )


def _names(function: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(function) if isinstance(node, ast.Name)}


def test_given_the_installed_kopf_when_compared_with_pyproject_then_it_is_inside_the_pinned_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [spec] = [Requirement(d) for d in project["dependencies"] if Requirement(d).name == "kopf"]
    assert spec.specifier.contains(metadata.version("kopf")), f"kopf {metadata.version('kopf')} is not {spec}"
    assert not spec.specifier.contains("1.44.5"), "1.44 lacks settings.watching.label_selectors"
    assert not spec.specifier.contains("1.46.0"), "a new minor must be checked against this file first"


def test_given_kopf_when_inspected_then_the_public_hooks_the_operator_sets_exist() -> None:
    settings = kopf.OperatorSettings()
    settings.watching.label_selectors["v1", "secrets"] = "app.kubernetes.io/managed-by=ironflow-operator"
    assert dict(settings.watching.label_selectors.items())  # what controller/settings.py sets
    session_fields = set(inspect.signature(kopf.AiohttpSession).parameters)
    assert {"server", "aiohttp_session", "expiration"} <= session_fields  # what controller/login.py passes


def test_given_kopfs_api_client_when_read_then_decoding_goes_through_what_kopf_decoding_replaces() -> None:
    """kopf_decoding replaces `api.json` (for `stream`'s json.loads) and `api.get` (listings)."""
    tree = _tree(kopf_api)
    imports = [n for n in tree.body if isinstance(n, ast.Import)]
    assert any(alias.name == "json" and alias.asname is None for n in imports for alias in n.names)
    assert _calls(_function(tree, "stream"), "json", "loads"), "watch lines are no longer json.loads'd"
    get = _function(tree, "get")
    assert isinstance(get, ast.AsyncFunctionDef) and _calls(get, "response", "json")
    assert _params(get) == _params(_function(_tree(kopf_decoding), "_bounded_get"))
    request_positional, request_keywords = _params(_function(tree, "request"))
    assert {"method", "url"} <= set(request_positional)
    assert {"settings", "payload", "headers", "timeout", "logger"} <= set(request_keywords)
    fetching_tree = _tree(fetching)
    assert _calls(_function(fetching_tree, "fetch_objs"), "api", "get"), "listings no longer call api.get"
    assert fetching.api is kopf_api


def test_given_kopfs_memories_when_read_then_recall_has_the_signature_kopf_memories_wraps() -> None:
    tree = _tree(inventory)
    memories = _class(tree, "ResourceMemories")
    recall = _function(memories, "recall")
    assert isinstance(recall, ast.AsyncFunctionDef)
    assert _params(recall) == (["self", "raw_body"], ["memobase", "noticed_by_listing", "ephemeral"])
    wrapper = _function(_function(_tree(kopf_memories), "install"), "recall")
    assert _params(wrapper) == _params(recall)
    assert "ephemeral" in {k.arg for k in _function(memories, "recall_memo").args.kwonlyargs}


def test_given_kopfs_observation_when_read_then_the_namespace_handler_is_found_where_it_is_replaced() -> None:
    tree = _tree(observation)
    handler = _function(tree, "process_discovered_namespace_event")
    assert isinstance(handler, ast.AsyncFunctionDef)
    positional, keywords = _params(handler)
    assert positional == [] and {"raw_event", "namespaces", "insights"} <= set(keywords)
    assert "process_discovered_namespace_event" in _names(_function(tree, "namespace_observer"))
    assert {"raw_events", "insights", "namespaces"} <= set(_params(_function(tree, "revise_namespaces"))[1])
    assert "revised" in {f.name for f in references.Insights.__dataclass_fields__.values()}
    ours = _function(_tree(kopf_namespaces), "_process_namespace_event")
    assert set(_params(ours)[1]) == {"raw_event", "namespaces", "insights"}
