"""A real exec credential plugin and kubeconfigs that use it, for the operator's kubeconfig tests.

The plugin is a small script, as `aws eks get-token` or `tsh kube credentials` would be: run N
hands out credential N of a list the test wrote (the last one again once the list is exhausted),
stamped to expire PLUGIN_LIFETIME seconds later when that is set, and records each run (and the
KUBERNETES_EXEC_INFO it got) in a file, so a test counts the runs.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from ironflow_testbed import access

V1 = "client.authentication.k8s.io/v1"

PLUGIN = f"""#!{sys.executable}
import datetime, json, os, sys
state = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(state, "runs"), "a+") as runs:
    runs.seek(0)
    n = len(runs.readlines())
    runs.write(json.dumps({{"info": json.loads(os.environ["KUBERNETES_EXEC_INFO"]),
                           "stdin_tty": sys.stdin.isatty()}}) + "\\n")
listed = json.load(open(os.path.join(state, "credentials.json")))
status = dict(listed[min(n, len(listed) - 1)])
lifetime = os.environ.get("PLUGIN_LIFETIME")
if lifetime:
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=float(lifetime))
    status["expirationTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({{"apiVersion": "{V1}", "kind": "ExecCredential", "status": status}}))
"""


class ExecPlugin:
    def __init__(self, directory: Path, credentials: list[dict[str, str]]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        self.script = directory / "plugin"
        self.script.write_text(PLUGIN)
        self.script.chmod(0o700)
        (directory / "credentials.json").write_text(json.dumps(credentials))

    def runs(self) -> list[dict[str, Any]]:
        path = self.dir / "runs"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def kubeconfig(self, admin: Path, lifetime: float | None, **cluster: Any) -> Path:
        """A kubeconfig beside the plugin naming it by a relative path (resolved as kubectl does)."""
        server, ca = access.cluster_of(admin)
        env = [{"name": "PLUGIN_LIFETIME", "value": str(lifetime)}] if lifetime else []
        document = {
            "apiVersion": "v1", "kind": "Config", "current-context": "exec",
            "clusters": [{"name": "envtest", "cluster": {
                "server": server, "certificate-authority-data": base64.b64encode(ca).decode(), **cluster}}],
            "users": [{"name": "plugin", "user": {"exec": {
                "apiVersion": V1, "command": "./plugin", "env": env, "interactiveMode": "Never",
                "provideClusterInfo": True, "installHint": "the test writes it"}}}],
            "contexts": [{"name": "exec", "context": {"cluster": "envtest", "user": "plugin"}}],
        }
        path = self.dir / "kubeconfig"
        path.write_text(yaml.safe_dump(document))
        return path


def mint_token(api: client.ApiClient, namespace: str, name: str) -> str:
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[],
                                                                                 expiration_seconds=3600))
    status = client.CoreV1Api(api).create_namespaced_service_account_token(name, namespace, request).status
    assert status is not None and status.token
    return str(status.token)


def jti(token: str) -> str:
    """The token's id, which the audit log records as the request's credential id."""
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def credential_id(event_raw: dict[str, Any]) -> str:
    extra = event_raw.get("user", {}).get("extra", {})
    values = extra.get("authentication.kubernetes.io/credential-id") or [""]
    return str(values[0]).removeprefix("JTI=")
