"""Only `ironflow.k8s` talks to the API server: read from the source, so that a shortcut fails here.

Cluster selection (never a fallback to ~/.kube/config), error typing, path escaping and the "no
value in an error message" rule are implemented once, in k8s/. A module elsewhere that imports an
HTTP client, or spells an API path itself, would bypass all four without any test noticing, so
this test reads every module outside k8s/ (and outside the test bed, which starts its own control
plane) and fails on either. Serving HTTP (`aiohttp.web`: health, the webhook) is not talking to
the API server and stays allowed. The CLI goes one step further: it names what it wants
(`list_workloads`, `read_secret`, ...) and never sends a request with a path of its choosing.
import-linter checks the same boundary by module (pyproject.toml); this test also sees paths and
the aiohttp client, which import-linter cannot tell from aiohttp's server.

The operator (controller/, webhook/) is held to the same rule as the CLI: it calls functions that
name the resource (`k8s.core_objects.get_object(kube, "secrets", ns, name)`,
`k8s.informers.namespaces(kube)`), never imports the path builders (`ironflow.k8s.paths`,
`core_path`, `group_path`), never hands a path to the informer or the pager, and never sends
`.request(`/`.watch(`/`.get_raw(` on a client.
A function of an imported module with such a name stays allowed (`masterkey.watch(runtime)`), and
so does kopf's own `api.request` in controller/kopf_decoding.py: kopf chooses those paths, the
wrapper only decodes the bodies.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import pytest

import ironflow

PACKAGE: Final = Path(ironflow.__file__).parent
EXEMPT: Final = ("k8s",)
HTTP_CLIENTS: Final = ("aiohttp", "urllib3", "requests", "httpx", "http.client", "urllib.request",
                       "kubernetes", "kubernetes_asyncio")
SERVING: Final = ("aiohttp.web",)
CLIENT_NAMES: Final = frozenset({"ClientSession", "TCPConnector", "ApiClient", "call_api", "param_serialize",
                                 "PoolManager", "HTTPConnection", "HTTPSConnection", "urlopen"})
API_PREFIXES: Final = ("/api/", "/apis/")
REQUEST_METHODS: Final = frozenset({"request", "get_raw", "watch"})
PATH_MODULES: Final = ("ironflow.k8s.paths",)
# Names that build a path, or take one: only ironflow.k8s may use them.
PATH_NAMES: Final = frozenset({"core_path", "group_path", "segment", "Informer", "pages", "list_items"})


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or node.module is None:
        return []  # relative: inside the package
    # `from aiohttp import web` is aiohttp.web (the server), `from aiohttp import ClientSession` is not.
    return [f"{node.module}.{alias.name}" for alias in node.names]


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _module_names(tree: ast.Module) -> set[str]:
    """Names bound to an imported module or function: `trust.watch(...)` calls a module, not a client."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return bound


def _sends(node: ast.Call, modules: set[str]) -> str | None:
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr not in REQUEST_METHODS:
        return None
    if isinstance(func.value, ast.Name) and func.value.id in modules:
        return None  # a module's function of that name (`masterkey.watch(runtime)`)
    return func.attr


def violations(source: str) -> list[str]:
    """Every way this module's source reaches the API server around ironflow.k8s, with its line."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    modules = _module_names(tree)
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            clients = [n for n in _imported(node) if _within(n, HTTP_CLIENTS) and not _within(n, SERVING)]
            found += [f"l.{line}: imports the HTTP client's {name}" for name in clients]
            paths = [n for n in _imported(node) if _within(n, PATH_MODULES)
                     or n.rsplit(".", 1)[-1] in PATH_NAMES]
            found += [f"l.{line}: imports {name}, which builds or takes an API path" for name in paths]
        elif isinstance(node, ast.Attribute) and node.attr in CLIENT_NAMES:
            found.append(f"l.{line}: uses the HTTP client's {node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr in PATH_NAMES:
            found.append(f"l.{line}: uses {node.attr}, which builds or takes an API path")
        elif isinstance(node, ast.Name) and node.id in CLIENT_NAMES:
            found.append(f"l.{line}: uses the HTTP client's {node.id}")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and (node.value.startswith(API_PREFIXES) or node.value in ("/api", "/apis"))):
            found.append(f"l.{line}: builds the API path {node.value[:60]!r}")
        elif isinstance(node, ast.Call) and (sent := _sends(node, modules)):
            found.append(f"l.{line}: sends a request of its own (.{sent}); name it in ironflow.k8s")
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in EXEMPT)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_given_module_outside_k8s_when_read_then_no_http_client_and_no_api_path(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8")) == []


def test_given_the_package_when_listed_then_the_check_reads_controller_webhook_and_cli() -> None:
    tops = {p.relative_to(PACKAGE).parts[0] for p in _modules()}
    assert {"cli", "controller", "webhook", "core"} <= tops
    assert not tops & set(EXEMPT)


@pytest.mark.parametrize(
    "source",
    [
        "import aiohttp",
        "from aiohttp import ClientSession",
        "from aiohttp import web, ClientSession",
        "import urllib3",
        "import requests",
        "from http import client",
        "import http.client",
        "from urllib.request import urlopen",
        "from kubernetes import client",
        "import kubernetes_asyncio.client",
        "session = kopf_thing.ClientSession()",
        "path = '/api/v1/namespaces'",
        "path = f'/apis/apps/v1/namespaces/{ns}/deployments'",
        "path = '/apis'",
        "from ironflow.k8s.async_client import Kube, core_path",
        "from ironflow.k8s.paths import group_path",
        "from ironflow.k8s import paths",
        "import ironflow.k8s.paths",
        "from ironflow.k8s.informer import Informer",
        "from ironflow.k8s.informer import list_items",
        "def f(kube):\n    return kube.request('GET', p)\n",
        "async def f(runtime):\n    return await runtime.kube.request('DELETE', p, body={})\n",
        "def f(self):\n    return self._kube.watch(p, {}, '0')\n",
        "def f(kube):\n    return kube.get_raw(p)\n",
        "from ironflow.k8s import async_client\np = async_client.core_path('secrets')\n",
    ],
)
def test_given_a_shortcut_to_the_api_when_checked_then_caught(source: str) -> None:
    assert violations(source)


def test_given_a_module_sending_its_own_request_when_checked_then_caught_in_cli_and_operator_alike() -> None:
    source = "def f(api):\n    return api.client.request('GET', path)\n"
    assert violations(source)


@pytest.mark.parametrize(
    "source",
    [
        "from aiohttp import web",
        "import aiohttp.web",
        "from http import HTTPStatus",
        "from urllib.parse import urlsplit",
        "from ironflow.k8s.async_client import ApiError, Kube",
        "from ironflow.k8s.informer import Synced",
        "url = 'https://x/mutate-pods'",
        "'''/api/v1/namespaces in a docstring explains, it does not build.'''",
        "from ironflow.k8s import core_objects\n"
        "def f(kube):\n    return core_objects.get_object(kube, 'secrets', 'n', 'x')\n",
        "from ironflow.controller import masterkey\ndef f(runtime):\n    return masterkey.watch(runtime)\n",
    ],
)
def test_given_serving_or_going_through_k8s_when_checked_then_allowed(source: str) -> None:
    assert violations(source) == []
