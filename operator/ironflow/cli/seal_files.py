"""`ironflow secret seal -f FILE|-`: whole Secret manifests or dotenv files sealed in one command.

Which environment each Secret is sealed for (the namespace is authenticated data, so it matters):
the manifest's metadata.namespace; `-n` only fills in when the manifest has none, and a `-n` that
contradicts the manifest is an error, as in kubectl. The key is the environment's published one
(or `--public-key FILE`, offline). The output replaces the plaintext manifest in Git.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from ironflow.cli import sealing
from ironflow.cli.errors import UserError
from ironflow.cli.manifests import (
    dump,
    ironflow_secret,
    load_documents,
    merge_into,
    read_plain_secrets,
    read_source,
)
from ironflow.cli.output import warn
from ironflow.cli.session import Session


def _namespace(manifest_ns: str | None, env: str | None, explicit: bool, name: str) -> str:
    if manifest_ns and explicit and env and env != manifest_ns:
        raise UserError(
            f"Secret {name} is in namespace {manifest_ns} but -n/--env says {env}: a sealed value is bound "
            "to one namespace; remove one of the two"
        )
    namespace = manifest_ns or env
    if not namespace:
        raise UserError(f"Secret {name} names no namespace: pass -n/--env NS")
    return namespace


def seal_files(
    session: Session,
    filename: str,
    merge_target: str | None,
    env: str | None,
    env_explicit: bool,
    key_for: Callable[[str], sealing.SealingKey],
    resource: str | None,
) -> None:
    """`key_for(namespace)` is `secret seal`'s own key choice (published and trusted, or
    --public-key, or --dev), so a whole file is sealed under exactly the rules of one value."""
    stdin_text = sys.stdin.read() if filename == "-" else None
    text, source = read_source(filename, stdin_text)
    plain = read_plain_secrets(text, source, resource)
    keys: dict[str, sealing.SealingKey] = {}
    docs = []
    for secret in plain:
        namespace = _namespace(secret.namespace, env, env_explicit, secret.name)
        if namespace not in keys:
            keys[namespace] = key_for(namespace)
            if keys[namespace].mode == "dev":
                warn(f"development mode (--dev) in {namespace}: the dev form holds the values in plaintext")
        key = keys[namespace]
        sealed = {n: sealing.seal_for(key, namespace, n, value) for n, value in secret.values.items()}
        secret.values.clear()  # plaintext no longer needed
        docs.append(ironflow_secret(secret, namespace, sealed))
    output = "json" if session.output == "json" else "yaml"
    if merge_target is None:
        click.echo(dump(docs, output), nl=False)
        return
    path = Path(merge_target)
    existing = load_documents(path.read_text(encoding="utf-8"), merge_target) if path.exists() else []
    merged, report = merge_into(existing, docs)
    target_format = "json" if merge_target.endswith(".json") else "yaml"
    path.write_text(dump(merged, target_format), encoding="utf-8")
    click.echo(f"{merge_target}: " + (", ".join(report) if report else "nothing to merge"), err=True)
