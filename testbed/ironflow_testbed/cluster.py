"""What a test gets: one explicitly chosen cluster and the tools to talk to it.

Either the control plane the test session started itself, or one named on purpose with
`pytest --kubeconfig PATH`. Everything here is built from that one kubeconfig file; nothing
reads KUBECONFIG, ~/.kube/config or in-cluster credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kubernetes import client, config

from ironflow_testbed import access
from ironflow_testbed.audit import AuditLog
from ironflow_testbed.controlplane import ControlPlane
from ironflow_testbed.kubectl import Kubectl


@dataclass
class Cluster:
    kubeconfig: Path
    kubectl: Kubectl
    bin_dir: Path | None
    plane: ControlPlane | None = None

    @property
    def owned(self) -> bool:
        """True for the session's own control plane (audit log and CA available)."""
        return self.plane is not None

    @property
    def audit(self) -> AuditLog | None:
        return self.plane.audit if self.plane is not None else None

    def api_client(self) -> client.ApiClient:
        """A new synchronous client configured only from this cluster's kubeconfig."""
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig), persist_config=False
        )
        return cast(client.ApiClient, api)

    def apply(self, *paths: str | Path, namespace: str | None = None) -> str:
        return self.kubectl.apply(*paths, namespace=namespace)

    def service_account_kubeconfig(
        self,
        api: client.ApiClient,
        namespace: str,
        name: str,
        path: Path,
        rules: list[dict[str, Any]] | None = None,
    ) -> Path:
        """Kubeconfig of a new ServiceAccount that may do only `rules` in `namespace`."""
        return access.service_account_kubeconfig(api, self.kubeconfig, namespace, name, path, rules)

    def user_kubeconfig(self, path: Path, user: str, groups: tuple[str, ...] = ()) -> Path:
        """Kubeconfig of a certificate user (own control plane only: needs the CA key)."""
        if self.plane is None:
            raise RuntimeError("certificate users need the session's own control plane; use a ServiceAccount")
        return self.plane.user_kubeconfig(path, user, groups)
