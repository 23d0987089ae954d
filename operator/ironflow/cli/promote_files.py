"""`promote --to-dir DIR`: the promoted IronflowConfig manifests written for Git, not applied.

With Argo CD or Flux the cluster follows Git, so a promotion written into the cluster would be
reverted at the next sync (or never reach Git). Here the target's state is what DIR holds: each
IronflowConfig manifest in DIR (for the target namespace, or naming none as kustomize overlays
do) is updated in place, other documents of the file untouched; a resource DIR does not hold yet
gets a new file `ironflowconfig-<name>.yaml` (add it to the kustomization's resources).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ironflow.cli.errors import UserError
from ironflow.cli.manifests import dump, load_documents
from ironflow.cli.promote_gaps import FILE_WORKLOAD_KINDS
from ironflow.core.environment import Definer, resolve
from ironflow.core.model import API_VERSION, CONFIG_KIND, SECRET_KIND, editable_spec, spec_names, spec_of

SUFFIXES = (".yaml", ".yml")


def _configs_in(directory: Path, namespace: str) -> list[tuple[Path, int, dict[str, Any]]]:
    return _docs_in(directory, namespace, CONFIG_KIND)


def secret_names_in_dir(directory: Path, namespace: str) -> set[str]:
    """The secret names DIR's IronflowSecrets define: what the target will have once Git is applied."""
    names: set[str] = set()
    for _, _, doc in _docs_in(directory, namespace, SECRET_KIND):
        names |= spec_names(SECRET_KIND, doc)
    return names


def workloads_in_dir(directory: Path, namespace: str) -> list[tuple[str, dict[str, Any], str]]:
    """(kind, object, file relative to DIR) of each workload DIR holds for the namespace: the names
    their pods declare are needed once Git is applied, whether or not the cluster runs them yet."""
    return [
        (str(doc["kind"]), doc, str(path.relative_to(directory)))
        for path, _, doc in _docs_in(directory, namespace, *FILE_WORKLOAD_KINDS)
    ]


def _docs_in(directory: Path, namespace: str, *kinds: str) -> list[tuple[Path, int, dict[str, Any]]]:
    found: list[tuple[Path, int, dict[str, Any]]] = []
    if not directory.is_dir():
        return found
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in SUFFIXES):
        for index, doc in enumerate(load_documents(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(doc, dict) and doc.get("kind") in kinds:
                meta = doc.get("metadata") or {}
                if meta.get("namespace") in (None, namespace):
                    found.append((path, index, doc))
    return found


def _values(doc: Mapping[str, Any]) -> dict[str, Any]:
    return dict(spec_of(CONFIG_KIND, doc).entries)


def effective_in_dir(directory: Path, namespace: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Each name's value and resource as DIR defines them (the first definition in file order wins,
    as creation order would on apply)."""
    docs = _configs_in(directory, namespace)
    definers = [
        Definer(resource=str(doc["metadata"]["name"]), created=f"{i:08d}", names=frozenset(_values(doc)))
        for i, (_, _, doc) in enumerate(docs)
    ]
    owners = dict(resolve(definers).owners)
    by_name = {str(doc["metadata"]["name"]): _values(doc) for _, _, doc in docs}
    return {n: by_name[r][n] for n, r in owners.items()}, owners


def write_to_dir(directory: Path, namespace: str, writes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Apply `writes` (resource -> names -> values) to DIR's manifests; return the files written."""
    docs = _configs_in(directory, namespace)
    touched: dict[Path, list[Any]] = {}
    written: list[str] = []
    for resource, values in sorted(writes.items()):
        match = next(((p, i) for p, i, d in docs if d["metadata"].get("name") == resource), None)
        if match is None:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"ironflowconfig-{resource}.yaml"
            doc = {
                "apiVersion": API_VERSION,
                "kind": CONFIG_KIND,
                "metadata": {"name": resource, "namespace": namespace},
                "spec": {"values": dict(values)},
            }
            path.write_text(dump([doc], "yaml"), encoding="utf-8")
            written.append(str(path))
            continue
        path, index = match
        if path not in touched:
            touched[path] = load_documents(path.read_text(encoding="utf-8"), str(path))
        try:
            editable_spec(CONFIG_KIND, touched[path][index])["values"].update(values)
        except ValueError as exc:  # an InvalidSpec in the file: refuse, nothing written
            raise UserError(f"{path}: IronflowConfig {resource}: {exc}") from None
    for path, file_docs in touched.items():
        path.write_text(dump(file_docs, "yaml"), encoding="utf-8")
        written.append(str(path))
    return sorted(written)
