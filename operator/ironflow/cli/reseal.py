"""`ironflow secret reseal`: re-seal values for the current key without the plaintext leaving the operator.

The CLI never unseals anything: it asks the operator through the API server (so RBAC decides, and
the audit log shows who asked, with ciphertext only). For resources (`--env NS`) it writes the
annotation `ironflow.io/reseal: <nonce>` on each IronflowSecret and waits for `status.reseal` to
carry the nonce; the operator has rewritten the values in place by then. For manifest files
(`-f`) it creates one temporary reseal-only IronflowSecret per document, holding the document's
sealed values, waits for the answer, reads the new values, deletes the temporary resource and
rewrites the file (core/reseal.py, controller/reseal.py, docs/crypto.md section 12).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from ironflow.cli.errors import UserError
from ironflow.cli.output import emit, table
from ironflow.cli.reseal_files import (
    iter_changes,
    manifest_files,
    rewritten,
    sealed_documents,
    write_in_place,
)
from ironflow.cli.session import ENV_VAR, Session, environment_option, pass_session, shared_options
from ironflow.core.model import API_VERSION, SECRET_KIND
from ironflow.core.names import validate_namespace
from ironflow.core.reseal import RESEAL_ANNOTATION, RESEAL_ONLY_LABEL, RESEAL_ONLY_PREFIX, is_reseal_only
from ironflow.k8s.sync_errors import Forbidden, NotFound
from ironflow.k8s.sync_reseal import (
    annotate_ironflow_secret,
    create_ironflow_secret,
    delete_ironflow_secret,
    read_ironflow_secret,
)
from ironflow.k8s.sync_resources import SECRETS, entries, mapping

POLL_SECONDS = 0.2
_WRITER = "asking the operator to re-seal needs the writer role (patch and create on ironflowsecrets)"


def _answer(session: Session, namespace: str, name: str, nonce: str, timeout: float) -> dict[str, Any]:
    """The resource once status.reseal carries our nonce (the operator wrote the values first)."""
    deadline = time.monotonic() + timeout
    while True:
        body = read_ironflow_secret(session.api().client, namespace, name)
        if mapping(mapping(body.get("status")).get("reseal")).get("nonce") == nonce:
            return body
        if time.monotonic() > deadline:
            raise UserError(
                f"the operator did not answer the reseal request for {namespace}/{name} within "
                f"{timeout:.0f}s: is it running, serving {namespace} and holding a master key? "
                "(ironflow status)"
            )
        time.sleep(POLL_SECONDS)


def _row(where: str, answer: Mapping[str, Any]) -> dict[str, Any]:
    record = mapping(mapping(answer.get("status")).get("reseal"))
    return {
        "target": where,
        "keyId": record.get("keyId"),
        "resealed": int(record.get("resealed") or 0),
        "skipped": int(record.get("skipped") or 0),
        "failed": [str(item) for item in record.get("failed") or []],
    }


def _reseal_environment(session: Session, env: str, timeout: float) -> list[dict[str, Any]]:
    api = session.environment(env)
    rows = []
    for obj in api.list(SECRETS, env):
        name = obj["metadata"]["name"]
        if is_reseal_only(obj) or not entries(obj, SECRETS):
            continue
        nonce = secrets.token_hex(8)
        try:
            annotate_ironflow_secret(api.client, env, name, {RESEAL_ANNOTATION: nonce})
        except Forbidden:
            raise UserError(f"{_WRITER} in {env}") from None
        except NotFound:
            continue  # deleted meanwhile: nothing to re-seal
        rows.append(_row(f"{env}/{name}", _answer(session, env, name, nonce, timeout)))
    return rows


def _temporary(
    session: Session, namespace: str, sealed: Mapping[str, str], timeout: float
) -> tuple[dict[str, Any], dict[str, str]]:
    """Reseal values through a temporary reseal-only resource: its answer, and its new values."""
    nonce = secrets.token_hex(8)
    body = {
        "apiVersion": API_VERSION,
        "kind": SECRET_KIND,
        "metadata": {
            "generateName": RESEAL_ONLY_PREFIX,
            "namespace": namespace,
            "labels": {RESEAL_ONLY_LABEL: "true"},
            "annotations": {RESEAL_ANNOTATION: nonce},
        },
        "spec": {"sealed": dict(sealed)},
    }
    api = session.environment(namespace)
    try:
        created = create_ironflow_secret(api.client, namespace, body)
    except Forbidden:
        raise UserError(f"{_WRITER} in {namespace}") from None
    meta = created["metadata"]
    try:
        answer = _answer(session, namespace, meta["name"], nonce, timeout)
    finally:
        with contextlib.suppress(NotFound):
            delete_ironflow_secret(api.client, namespace, meta["name"], meta["uid"])
    values = {str(k): v for k, v in entries(answer, SECRETS).items() if isinstance(v, str)}
    return _row("", answer), values


def _reseal_file(session: Session, path: Path, env: str | None, timeout: float) -> dict[str, Any]:
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    docs = sealed_documents(text, str(path), env)
    answers: list[dict[str, str]] = []
    resealed = skipped = 0
    failed: list[str] = []
    kid = None
    for doc in docs:
        result, values = _temporary(session, doc.namespace, doc.sealed, timeout)
        answers.append(values)
        kid, resealed, skipped = result["keyId"], resealed + result["resealed"], skipped + result["skipped"]
        failed += [f"{doc.name}/{item}" for item in result["failed"]]
    row = {"target": str(path), "keyId": kid, "resealed": resealed, "skipped": skipped, "failed": failed}
    changes = dict(iter_changes(docs, list(answers)))
    if changes:
        write_in_place(path, rewritten(text, str(path), changes))
    return row


def _human(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "nothing to re-seal"
    lines = [table(["TARGET", "KEY ID", "RESEALED", "SKIPPED"],
                   [[r["target"], str(r.get("keyId") or "-"), str(r["resealed"]), str(r["skipped"])]
                    for r in rows])]
    lines += [f"left untouched in {r['target']}: {', '.join(r['failed'])}" for r in rows if r["failed"]]
    return "\n".join(lines)


@click.command("reseal")
@environment_option(f"re-seal every IronflowSecret of this environment in place (or ${ENV_VAR}); with -f, "
                    "the namespace of documents that name none.")
@click.option("-f", "--file", "files", multiple=True, metavar="FILE|DIR",
              help="rewrite the IronflowSecret manifests in FILE (or every .yaml/.yml/.json under DIR) "
                   "in place; repeatable.")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
              help="seconds to wait for the operator's answer to each request.")
@shared_options
@pass_session
def secret_reseal(session: Session, env: str | None, files: tuple[str, ...], timeout: float) -> None:
    """Re-seal values for the current key; the operator does it, no plaintext leaves it.

    Only values sealed for an older key, that unseal for their own environment and NAME, change;
    the rest are left as they are, and those that do not unseal are listed by name.
    """
    if env is None and not files:
        raise click.UsageError("say what to re-seal: --env NS (resources) and/or -f FILE|DIR (manifests)")
    if env is not None:
        validate_namespace(env)
    rows = [] if files else _reseal_environment(session, env or "", timeout)
    for path in manifest_files(files):
        rows.append(_reseal_file(session, path, env, timeout))
    emit(session.output, {"results": rows}, lambda: _human(rows))
    failed = sum(len(r["failed"]) for r in rows)
    if failed:
        raise UserError(f"{failed} value(s) could not be re-sealed and were left as they were (listed above)")
