"""A small synchronous API client for the CLI: plain dicts in, plain dicts out, typed errors.

The CLI makes a handful of requests per run, so the blocking client is the right tool (the
operator uses kubernetes_asyncio). Requests go through the official client's transport (auth,
TLS, exec plugins, proxies from the kubeconfig) but bodies stay JSON dicts: the CLI handles
custom resources, and it must choose the patch type itself (a merge patch of one key, or a JSON
patch), which the generated typed methods would pick for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Final

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ironflow.core import bounded_json
from ironflow.k8s.config import ClusterChoice
from ironflow.k8s.kubeconfig_files import KubeconfigError, merge
from ironflow.k8s.sync_errors import BadKubeconfig, Unreachable, from_status

MERGE_PATCH: Final = "application/merge-patch+json"
JSON_PATCH: Final = "application/json-patch+json"
# (connect, read): fail fast on a dead address, leave the server time on a busy one.
DEFAULT_TIMEOUT: Final = (10.0, 60.0)
FIELD_MANAGER: Final = "ironflow-cli"


def connect(choice: ClusterChoice, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> SyncClient:
    """Load the named kubeconfig only; never in-cluster credentials (see k8s.config)."""
    if choice.in_cluster or not choice.kubeconfig:
        raise BadKubeconfig("the CLI only uses a kubeconfig file")
    configuration = k8s_client.Configuration()
    try:
        # The official client merges a path list too, but lets the LAST file's current-context
        # win; kubectl takes the first one's, so the context is named here from our own merge.
        context = choice.context or merge(choice.kubeconfig_files).current_context
        api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=os.pathsep.join(choice.kubeconfig_files),
            context=context,
            persist_config=False,
            client_configuration=configuration,
        )
    except (ConfigException, KubeconfigError, OSError, ValueError, TypeError, KeyError) as exc:
        raise BadKubeconfig(f"cannot use {choice.describe()}: {_one_line(str(exc))}") from None
    configuration.retries = 1
    return SyncClient(api, where=choice.describe(), timeout=timeout)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "unknown error"


class SyncClient:
    """Raw JSON requests against one cluster; every failure is an ironflow.k8s.sync_errors type."""

    def __init__(self, api: k8s_client.ApiClient, *, where: str, timeout: tuple[float, float]) -> None:
        self._api = api
        self.where = where
        self.server = str(api.configuration.host)
        self._timeout = timeout

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | Sequence[Any] | None = None,
        content_type: str = "application/json",
        query: Sequence[tuple[str, str]] = (),
    ) -> dict[str, Any]:
        what = f"{method} {path}"
        headers = {"Accept": "application/json", "Content-Type": content_type}
        status, data = self._send(method, path, headers, body, query)
        if not 200 <= status < 300:
            raise from_status(status, data, what)
        try:
            parsed = bounded_json.loads(data) if data else {}
        except ValueError:
            raise from_status(500, b"", f"{what}: answer is not JSON") from None
        return parsed if isinstance(parsed, dict) else {}

    def get_raw(self, path: str) -> tuple[int, bytes]:
        """A GET whose answer may be anything (a pod's /readyz through the API server's proxy):
        the status and body as they came; only a transport failure raises."""
        return self._send("GET", path, {"Accept": "*/*"}, None, ())

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Mapping[str, Any] | Sequence[Any] | None,
        query: Sequence[tuple[str, str]],
    ) -> tuple[int, bytes]:
        serialized = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query) or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        http_method, url, header_params, payload, _ = serialized
        try:
            response = self._api.call_api(
                http_method, url, header_params=header_params, body=payload, _request_timeout=self._timeout
            )
            response.read()  # type: ignore[no-untyped-call]
        except ApiException as exc:  # the client's wrapper for TLS failures
            raise Unreachable(
                f"cannot reach the API server at {self.server}: {_one_line(str(exc.reason))}"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(f"cannot reach the API server at {self.server}: {_reason(exc)}") from None
        return int(response.status), response.data or b""


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "reason", None)
    if isinstance(inner, BaseException):
        return _reason(inner)
    return _one_line(str(exc)) if str(exc) else type(exc).__name__
