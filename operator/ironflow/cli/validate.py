"""`ironflow validate -f FILE|DIR`: check sealed manifests before they reach the cluster.

For every IronflowSecret in the files (YAML or JSON, several documents, Lists, kustomize trees):
each value must be a well-formed sealed string for the key id its environment publishes. The
environment is the manifest's namespace, else the `namespace:` of the nearest kustomization.yaml
above the file (how overlays set it), else `-n`. The key comes from `--public-key FILE`
(offline) or from the cluster's `ironflow-sealing-key` ConfigMap of that namespace.

With cluster access, a value that is already applied unchanged is also answered by the operator
itself: its status for that name (Projected, or Failed with the reason) says whether it unseals.
A server-side dry run cannot say more: the operator does not see dry runs, and no client can test
the namespace/NAME binding without the master key. Nothing here ever prints a value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import click

from ironflow.cli import sealing
from ironflow.cli.errors import ClusterError, UserError
from ironflow.cli.manifests import load_documents
from ironflow.cli.output import emit, table
from ironflow.cli.session import Session, pass_session, shared_options
from ironflow.core.model import SECRET_KIND, spec_of
from ironflow.core.sealed_check import Check, check_sealed
from ironflow.core.sealing_key import SEALING_KEY_CONFIGMAP
from ironflow.k8s.config import ClusterNotNamed
from ironflow.k8s.sync_resources import SECRETS, entries, name_facts

SUFFIXES: Final = (".yaml", ".yml", ".json")
KUSTOMIZATIONS: Final = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def manifest_files(target: Path) -> list[Path]:
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise UserError(f"{target}: no such file or directory")
    return sorted(
        p for p in target.rglob("*") if p.is_file() and p.suffix in SUFFIXES and p.name not in KUSTOMIZATIONS
    )


def _kustomize_namespace(path: Path) -> str | None:
    for directory in path.resolve().parents:
        for name in KUSTOMIZATIONS:
            k = directory / name
            if k.is_file():
                docs = load_documents(k.read_text(encoding="utf-8"), str(k))
                ns = docs[0].get("namespace") if docs and isinstance(docs[0], Mapping) else None
                return ns if isinstance(ns, str) else None
    return None


def _secrets_in(path: Path) -> Iterator[Mapping[str, Any]]:
    for doc in load_documents(path.read_text(encoding="utf-8"), str(path)):
        items = doc.get("items") if isinstance(doc, Mapping) and doc.get("kind") == "List" else [doc]
        for item in items or []:
            if isinstance(item, Mapping) and item.get("kind") == SECRET_KIND:
                yield item


class _Keys:
    """The published key of each environment, read once."""

    def __init__(self, session: Session, public_key: str | None) -> None:
        self.session, self.public_key = session, public_key
        self.cache: dict[str, sealing.SealingKey] = {}

    def get(self, namespace: str) -> sealing.SealingKey:
        if namespace not in self.cache:
            if self.public_key is not None:
                self.cache[namespace] = sealing.from_file(self.public_key, namespace)
            else:
                try:
                    api = self.session.environment(namespace)
                except ClusterNotNamed as exc:
                    raise ClusterError(f"{exc}; or pass --public-key FILE to validate offline") from None
                cm = api.get_configmap(namespace, SEALING_KEY_CONFIGMAP)
                data = (cm or {}).get("data") or {}
                if data.get("mode") == "dev":  # dev-form values are what this environment takes
                    self.cache[namespace] = sealing.SealingKey("dev", None, None, f"environment {namespace}")
                else:
                    self.cache[namespace] = sealing.from_configmap(cm, namespace)
        return self.cache[namespace]


def _operator_says(session: Session, namespace: str, resource: str, name: str, sealed: str) -> Check | None:
    """The operator's own answer, when this exact value is already applied in the cluster."""
    live = session.api().get(SECRETS, namespace, resource)
    if live is None or entries(live, SECRETS).get(name) != sealed:
        return None
    fact = name_facts(live, name)
    state = fact.get("state")
    if state == "Projected":
        return Check("ok", "Projected", f"{name}: the operator unseals it (applied, Projected)")
    if state == "Failed":
        return Check("error", str(fact.get("reason") or "Failed"), f"{name}: the operator cannot unseal it")
    return None


def _row(path: Path, namespace: str, resource: str, name: str, check: Check) -> dict[str, Any]:
    return {
        "file": str(path),
        "namespace": namespace,
        "resource": resource,
        "name": name,
        "severity": check.severity,
        "reason": check.reason,
        "message": check.message,
        "keyId": check.key_id,
    }


def validate_files(
    session: Session, target: Path, env: str | None, public_key: str | None
) -> list[dict[str, Any]]:
    keys = _Keys(session, public_key)
    rows: list[dict[str, Any]] = []
    for path in manifest_files(target):
        for doc in _secrets_in(path):
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
            assert isinstance(meta, Mapping)
            resource = str(meta.get("name") or "?")
            namespace = meta.get("namespace") or _kustomize_namespace(path) or env
            sealed_map = spec_of(SECRET_KIND, doc).entries
            if not isinstance(namespace, str) or not namespace:
                check = Check(
                    "error",
                    "NoNamespace",
                    "no namespace (manifest, kustomization or -n): sealed values are bound to one",
                )
                rows.append(_row(path, "", resource, "*", check))
                continue
            key = keys.get(namespace)
            for name, sealed in sealed_map.items():
                check = check_sealed(name, sealed, key.mode, key.kid)
                if check.severity == "ok" and public_key is None and isinstance(sealed, str):
                    check = _operator_says(session, namespace, resource, str(name), sealed) or check
                rows.append(_row(path, namespace, resource, str(name), check))
    return rows


@click.command("validate")
@click.option(
    "-f", "--filename", "target", required=True, metavar="FILE|DIR", help="manifest file or directory tree."
)
@click.option(
    "-e",
    "--env",
    "-n",
    "--namespace",
    "env",
    default=None,
    metavar="NS",
    help="environment for manifests that name none (neither they nor a kustomization).",
)
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="check offline against this key (no cluster contacted).",
)
@shared_options
@pass_session
def validate(session: Session, target: str, env: str | None, public_key: str | None) -> None:
    """Check every sealed value in FILE or DIR: well-formed and sealed for the published key id.

    Exit code 1 when any value would be refused. Never prints a value.
    """
    rows = validate_files(session, Path(target), env, public_key)
    errors = [r for r in rows if r["severity"] == "error"]

    def human() -> str:
        shown = [r for r in rows if r["severity"] != "ok"]
        lines = (
            [
                table(
                    ["SEVERITY", "FILE", "NAMESPACE", "RESOURCE", "NAME", "MESSAGE"],
                    [
                        [r["severity"], r["file"], r["namespace"], r["resource"], r["name"], r["message"]]
                        for r in shown
                    ],
                )
            ]
            if shown
            else []
        )
        lines.append(f"{len(rows)} sealed value(s) checked, {len(errors)} error(s)")
        return "\n".join(lines)

    emit(session.output, rows, human)
    if errors:
        raise SystemExit(1)
