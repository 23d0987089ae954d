"""`ironflow validate -f FILE|DIR`: check sealed manifests before they reach the cluster.

For every IronflowSecret in the files (YAML or JSON, several documents, Lists, kustomize trees):
each value must be a well-formed sealed string for the key id its environment publishes. The
environment is the manifest's namespace, else the `namespace:` of the nearest kustomization.yaml
above the file (how overlays set it), else `-n`. The key comes from `--public-key FILE|DIR`
(offline; each key applies to the environment it names, cli/validate_keys.py) or from the
cluster's `ironflow-sealing-key` ConfigMap of that namespace. An environment whose key is not at
hand is "not checked" (well-formedness still is), never a failure of the whole run.

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
from ironflow.cli.output import emit
from ironflow.cli.session import Session, environment_option, pass_session, shared_options
from ironflow.cli.validate_keys import OfflineKeys
from ironflow.cli.validate_report import human_report
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
    """The key of each environment, read once: from the cluster, or from the --public-key files."""

    def __init__(self, session: Session, public_keys: tuple[str, ...]) -> None:
        self.session = session
        self.offline = OfflineKeys(public_keys) if public_keys else None
        self.cache: dict[str, sealing.SealingKey | str] = {}

    def get(self, namespace: str) -> sealing.SealingKey | str:
        """The key, or why this environment is not checked (a key that was not given is no failure)."""
        if namespace not in self.cache:
            found = self.offline.get(namespace) if self.offline else self._published(namespace)
            self.cache[namespace] = found
        return self.cache[namespace]

    def _published(self, namespace: str) -> sealing.SealingKey | str:
        try:
            api = self.session.environment(namespace)
        except ClusterNotNamed as exc:
            raise ClusterError(f"{exc}; or pass --public-key FILE to validate offline") from None
        cm = api.get_configmap(namespace, SEALING_KEY_CONFIGMAP)
        if cm is None:
            return f"environment {namespace} publishes no sealing key in this cluster (give --public-key)"
        if ((cm or {}).get("data") or {}).get("mode") == "dev":  # dev-form values are what it takes
            return sealing.SealingKey("dev", None, None, f"environment {namespace}")
        return sealing.from_configmap(cm, namespace)


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


def not_checked(check: Check, why: str) -> Check:
    """A well-formed value of an environment whose key is not at hand: reported, not failed."""
    if check.severity != "ok":
        return check  # malformed is malformed, whatever the key
    sealed_for = f", sealed for key id {check.key_id}" if check.key_id else ""
    return Check("skipped", "NotChecked", f"not checked: {why}; well-formed{sealed_for}", check.key_id)


def validate_files(
    session: Session, target: Path, env: str | None, public_keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    keys = _Keys(session, public_keys)
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
                if isinstance(key, str):
                    check = not_checked(check_sealed(name, sealed, None, None), key)
                else:
                    check = check_sealed(name, sealed, key.mode, key.kid)
                    if check.severity == "ok" and not public_keys and isinstance(sealed, str):
                        check = _operator_says(session, namespace, resource, str(name), sealed) or check
                rows.append(_row(path, namespace, resource, str(name), check))
    return rows


@click.command("validate")
@click.option(
    "-f", "--filename", "target", required=True, metavar="FILE|DIR", help="manifest file or directory tree."
)
@environment_option(
    "environment for manifests that name none (neither they nor a kustomization).", envvar=False
)
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    type=click.Path(),
    metavar="FILE|DIR",
    help="check offline against these keys (repeatable; a directory: every key file in it); each "
    "applies to the environment it names. No cluster is contacted.",
)
@shared_options
@pass_session
def validate(session: Session, target: str, env: str | None, public_keys: tuple[str, ...]) -> None:
    """Check every sealed value in FILE or DIR: well-formed and sealed for its environment's key id.

    Exit code 1 when any value would be refused. An environment whose key is not at hand is
    reported as not checked, not as a failure. Never prints a value.
    """
    rows = validate_files(session, Path(target), env, public_keys)
    emit(session.output, rows, lambda: human_report(rows))
    if any(r["severity"] == "error" for r in rows):
        raise SystemExit(1)
