"""Running the real `ironflow` program against the test cluster, as a new user would.

The CLI runs as a subprocess of the installed console script with an explicit --kubeconfig,
KUBECONFIG pointing at the same file, and HOME an empty directory, so nothing from the
developer's machine can leak in. Until the operator publishes the sealing-key ConfigMap itself,
tests publish it from a test master key, exactly in the documented shape.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

from ironflow.core.key_publication import sealing_key_data
from ironflow.core.keyring import Keyring, generate_master_key

BINARY = Path(sys.executable).parent / "ironflow"
SEALING_KEY = "ironflow-sealing-key"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@dataclass
class Cli:
    kubeconfig: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)  # e.g. IRONFLOW_OPERATOR_NAMESPACE

    def __call__(self, *args: str, stdin: bytes | str = b"", kubeconfig: Path | None = None) -> Run:
        config = str(kubeconfig or self.kubeconfig)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "KUBECONFIG": config,
            "LANG": "C.UTF-8",
            **self.env,
        }
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        done = subprocess.run(
            [str(BINARY), "--kubeconfig", config, *args],
            input=data,
            capture_output=True,
            env=env,
            timeout=120,
        )
        return Run(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))

    def ok(self, *args: str, stdin: bytes | str = b"") -> Run:
        result = self(*args, stdin=stdin)
        assert result.code == 0, f"ironflow {' '.join(args)} -> {result.code}: {result.stderr}"
        return result


def assert_one_line_error(result: Run, code: int, *fragments: str) -> None:
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.error_lines[0], result.error_lines[0]
    assert "Traceback" not in result.stderr


def publish_sealing_key(
    api: client.ApiClient,
    namespace: str,
    master_hex: str | None = None,
    mode: str = "keyed",
    keyring: Keyring | None = None,
) -> Keyring | None:
    """The ConfigMap the operator would publish (signed when keyed); returns the Keyring that can
    unseal for it. The CLI still has to trust its signer: see `trust_signer`."""
    if mode == "keyed" and keyring is None:
        keyring = Keyring.from_master_keys(bytes.fromhex(master_hex or generate_master_key()))
    data = sealing_key_data(keyring, mode, namespace)
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(
            name=SEALING_KEY, labels={"app.kubernetes.io/managed-by": "ironflow-operator"}
        ),
        data=data,
    )
    core = client.CoreV1Api(api)
    try:
        core.create_namespaced_config_map(namespace, body)
    except client.ApiException as error:  # a `served` fixture's stand-in, replaced by the real thing
        if error.status != 409:
            raise
        core.replace_namespaced_config_map(SEALING_KEY, namespace, body)
    return keyring


def trust_signer(cli: Cli, keyring: Keyring) -> None:
    """What a user does once per cluster with the signer id their admin gave them."""
    assert keyring.signer is not None
    cli.ok("trust", "pin", keyring.signer.id)


def get_resource(api: client.ApiClient, namespace: str, plural: str, name: str = "app") -> dict[str, Any]:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, plural, name
    )
    assert isinstance(obj, dict)
    return obj


def spec_map(api: client.ApiClient, namespace: str, plural: str, name: str = "app") -> dict[str, Any]:
    field = "sealed" if plural == "ironflowsecrets" else "values"
    return dict(get_resource(api, namespace, plural, name)["spec"].get(field) or {})
