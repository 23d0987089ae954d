"""Re-sealing (core/reseal.py), the file rewrite of `secret reseal -f` (cli/reseal_files.py), and the
rule that a temporary reseal-only resource is never projected and claims no names."""

from __future__ import annotations

import asyncio
import json
import types
from pathlib import Path
from typing import Any

import pytest

from ironflow.cli.errors import UserError
from ironflow.cli.reseal_files import iter_changes, rewritten, sealed_documents, write_in_place
from ironflow.controller.cache import Cache
from ironflow.controller.reseal import resume
from ironflow.controller.work import ResealKey
from ironflow.controller.workqueue import WorkQueue
from ironflow.core.crypto import parse_sealed, seal, unseal
from ironflow.core.keyring import Keyring, generate_master_key
from ironflow.core.model import API_VERSION, SECRET_KIND
from ironflow.core.reseal import RESEAL_ANNOTATION, RESEAL_ONLY_LABEL, is_reseal_only, pending_nonce, reseal
from ironflow.k8s.admission import stripped

NS = "prod"


def _keyrings() -> tuple[Keyring, Keyring]:
    """(before the rotation, after it: the old key kept as previous)."""
    old, new = bytes.fromhex(generate_master_key()), bytes.fromhex(generate_master_key())
    return Keyring.from_master_keys(old), Keyring.from_master_keys(new, [old])


def _seal(keyring: Keyring, name: str, value: bytes, namespace: str = NS) -> str:
    assert keyring.current is not None
    return seal(keyring.current.public, namespace, name, value)


def test_given_values_on_the_old_key_when_resealed_then_they_unseal_to_the_same_value_with_the_new() -> None:
    before, after = _keyrings()
    assert after.current is not None
    sealed = {"DB": _seal(before, "DB", b"canary-db"), "NEW": _seal(after, "NEW", b"canary-new")}

    result = reseal(after, NS, sealed)

    assert result.resealed == ("DB",) and result.current == ("NEW",) and result.failed == {}
    assert set(result.values) == {"DB"} and parse_sealed(result.values["DB"]).kid == after.current.kid
    assert unseal(after, NS, "DB", result.values["DB"], allow_dev=False) == b"canary-db"
    again = reseal(after, NS, {**sealed, **result.values})  # idempotent
    assert again.values == {} and again.current == ("DB", "NEW")


def test_given_values_that_do_not_unseal_for_their_namespace_and_name_when_resealed_then_left_and_named() -> (
    None
):
    before, after = _keyrings()
    stranger = Keyring.from_master_keys(bytes.fromhex(generate_master_key()))
    sealed = {
        "MOVED": _seal(before, "OTHER", b"canary-moved"),  # pasted under another NAME
        "ELSEWHERE": _seal(before, "ELSEWHERE", b"canary-ns", namespace="staging"),
        "STRANGER": _seal(stranger, "STRANGER", b"canary-stranger"),
        "DEV": "dev:canary-dev",
        "JUNK": 42,
    }

    result = reseal(after, NS, sealed)

    assert result.values == {} and result.resealed == ()
    assert result.failed == {
        "MOVED": "AuthenticationFailed",
        "ELSEWHERE": "AuthenticationFailed",
        "STRANGER": "WrongKey",
        "DEV": "not a sealed value",
        "JUNK": "not a sealed value",
    }
    record = json.dumps(result.record("n1", None))
    assert "canary" not in record and "MOVED: AuthenticationFailed" in record
    assert "canary" not in repr(result)


def test_given_no_master_key_when_resealed_then_nothing_changes_and_every_name_is_reported() -> None:
    before, _ = _keyrings()
    result = reseal(Keyring.development(), NS, {"DB": _seal(before, "DB", b"x")})
    assert result.values == {} and set(result.failed) == {"DB"}


def _body(
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": SECRET_KIND,
        "metadata": {
            "namespace": NS,
            "name": "ironflow-reseal-x1",
            "uid": "u1",
            "resourceVersion": "1",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": labels or {},
            "annotations": annotations or {},
        },
        "spec": {"sealed": {"DB": "dev:x"}},
        "status": status or {},
    }


def test_given_request_annotations_when_read_then_only_an_unanswered_nonce_is_pending() -> None:
    assert pending_nonce(_body()) is None
    assert pending_nonce(_body(annotations={RESEAL_ANNOTATION: "n1"})) == "n1"
    assert (
        pending_nonce(_body(annotations={RESEAL_ANNOTATION: "n1"}, status={"reseal": {"nonce": "n1"}}))
        is None
    )
    assert (
        pending_nonce(_body(annotations={RESEAL_ANNOTATION: "n2"}, status={"reseal": {"nonce": "n1"}}))
        == "n2"
    )


def test_given_a_reseal_only_resource_when_cached_or_listed_for_admission_then_it_claims_no_name() -> None:
    temporary = _body(labels={RESEAL_ONLY_LABEL: "true"})
    assert is_reseal_only(temporary) and not is_reseal_only(_body())
    cache = Cache()
    cache.put(SECRET_KIND, temporary)
    assert list(cache.resources()) == [] and cache.environment(SECRET_KIND, NS).owner("DB") is None
    assert stripped([temporary], "sealed") == [] and len(stripped([_body()], "sealed")) == 1


def test_given_a_cached_resource_when_it_is_labelled_reseal_only_then_it_leaves_the_cache() -> None:
    cache = Cache()
    cache.put(SECRET_KIND, _body())
    assert cache.environment(SECRET_KIND, NS).owner("DB") == "ironflow-reseal-x1"
    labelled = _body(labels={RESEAL_ONLY_LABEL: "true"})
    labelled["metadata"]["resourceVersion"] = "2"
    cache.put(SECRET_KIND, labelled)
    assert list(cache.resources()) == [] and cache.environment(SECRET_KIND, NS).owner("DB") is None


FILE = (
    "# comment kept\r\n"
    "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: c}\r\ndata: {DB: OLD-DB}\r\n"
    "---\r\n"
    "apiVersion: ironflow.io/v1alpha1\r\nkind: IronflowSecret\r\nmetadata:\r\n  name: app\r\n"
    "spec:\r\n  sealed:\r\n    DB: OLD-DB   # trailing comment\r\n    API: 'OLD-API'\r\n"
)


def test_given_a_multi_document_file_when_rewritten_then_only_the_changed_values_move() -> None:
    docs = sealed_documents(FILE, "f.yaml", "prod")
    assert [(d.index, d.namespace, d.name, d.sealed) for d in docs] == [
        (1, "prod", "app", {"DB": "OLD-DB", "API": "OLD-API"})
    ]
    changes = dict(iter_changes(docs, [{"DB": "NEW-DB", "API": "OLD-API"}]))
    assert changes == {1: {"DB": "NEW-DB"}}

    text = rewritten(FILE, "f.yaml", changes)

    # the ConfigMap's equal-looking string changes too: values are random ciphertext in practice,
    # so an equal string elsewhere is the same sealed value
    assert text == FILE.replace("OLD-DB", "NEW-DB")
    assert "# trailing comment\r\n" in text and text.count("\r\n") == FILE.count("\r\n")


def test_given_a_document_without_namespace_and_no_env_when_read_then_refused() -> None:
    with pytest.raises(UserError, match="pass --env NS"):
        sealed_documents(FILE, "f.yaml", None)


def test_given_a_value_folded_across_lines_when_rewritten_then_refused_and_nothing_written() -> None:
    folded = (
        "apiVersion: ironflow.io/v1alpha1\nkind: IronflowSecret\nmetadata: {name: a, namespace: p}\n"
        "spec:\n  sealed:\n    DB: ifs-part-one\n      ifs-part-two\n"
    )
    (doc,) = sealed_documents(folded, "f.yaml", None)
    assert doc.sealed == {"DB": "ifs-part-one ifs-part-two"}
    with pytest.raises(UserError, match="folded across"):
        rewritten(folded, "f.yaml", {0: {"DB": "NEW"}})


def test_given_a_file_when_written_in_place_then_its_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("old")
    path.chmod(0o640)
    write_in_place(path, "new\r\n")
    assert path.read_bytes() == b"new\r\n" and path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["s.yaml"]


def test_given_requests_seen_while_standby_when_leadership_gained_then_they_are_queued_again() -> None:
    asked = _body(annotations={RESEAL_ANNOTATION: "n1"})
    asked["metadata"]["name"] = "app"
    leftover = _body(labels={RESEAL_ONLY_LABEL: "true"})
    calls: list[tuple[str, dict[str, str] | None]] = []

    class Kube:
        async def request(
            self, method: str, path: str, *, query: dict[str, str] | None = None
        ) -> dict[str, Any]:
            calls.append((path, query))
            return {"items": [leftover]}

    async def scenario() -> WorkQueue:
        cache = Cache()
        cache.put(SECRET_KIND, asked)
        cache.put(SECRET_KIND, {**_body(), "metadata": {**_body()["metadata"], "name": "done"}})
        runtime = types.SimpleNamespace(
            cache=cache, queue=WorkQueue(), kube=Kube(), options=types.SimpleNamespace(namespaces=(NS,))
        )
        await resume(runtime)  # type: ignore[arg-type]
        return runtime.queue

    queue = asyncio.run(scenario())
    assert queue._queued == {ResealKey(NS, "app"), ResealKey(NS, "ironflow-reseal-x1")}
    assert calls == [
        (
            f"/apis/{API_VERSION}/namespaces/{NS}/ironflowsecrets",
            {"labelSelector": f"{RESEAL_ONLY_LABEL}=true"},
        )
    ]
