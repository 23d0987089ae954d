"""AdmissionReview in, AdmissionReview out: the two pod webhooks' decisions.

Everything that decides lives in the pure core; this module only reads the environment through
the given reader, turns refusals into denials and patches into a base64 JSONPatch. It never logs
or echoes the pod: a pod spec may carry plaintext env values written by its author, so messages
and logs hold names, namespaces and reasons only. Errors fail closed: a declaring pod that cannot
be checked is refused, and the message says why and which environment.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from ironflow import metrics
from ironflow.core.declaration_hints import kind_hints
from ironflow.core.declarations import (
    Declaration,
    DeclarationError,
    Kind,
    parse_declaration,
    unknown_annotation_warnings,
)
from ironflow.core.enforcement import ENFORCE_LABEL, forbidden_references
from ironflow.core.environment_view import EnvironmentView
from ironflow.core.injection import InjectionRefused, plan_injection

log = logging.getLogger("ironflow.webhook")

# (namespace, the (kind, NAME) pairs the pod declares) -> the environment; the declared names
# bound the ownership checks to the objects this pod would actually read.
EnvironmentReader = Callable[[str, Collection[tuple[Kind, str]]], Awaitable[EnvironmentView]]


class EnvironmentUnavailable(Exception):
    """The environment could not be read; the message is safe to show (no values, no bodies)."""


def _response(uid: str, allowed: bool, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": uid, "allowed": allowed, **extra},
    }


def deny(uid: str, message: str, code: int = 403) -> dict[str, Any]:
    reason = "Forbidden" if code == 403 else "BadRequest"
    return _response(uid, False, status={"code": code, "reason": reason, "message": message})


def _request(review: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]]:
    request = review.get("request") or {}
    pod = request.get("object") or {}
    namespace = str(request.get("namespace") or (pod.get("metadata") or {}).get("namespace") or "")
    return str(request.get("uid", "")), namespace, pod


def _pod_label(namespace: str, pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{namespace}/{meta.get('name') or (meta.get('generateName') or '') + '*'}"


class EnvironmentNotServed(Exception):
    """The operator does not serve this namespace (--namespace): nothing would ever be projected there."""


def _declared(declaration: Declaration | None) -> list[tuple[Kind, str]]:
    return [(d.kind, d.name) for d in declaration.names] if declaration is not None else []


async def _view(
    read: EnvironmentReader, namespace: str, declared: Collection[tuple[Kind, str]]
) -> EnvironmentView:
    try:
        return await read(namespace, declared)
    except EnvironmentNotServed:
        raise EnvironmentUnavailable(
            f"environment {namespace} is not served by this Ironflow operator, so nothing it declares "
            "would ever be projected there"
        ) from None
    except Exception as exc:  # fail closed whatever went wrong, and say so without details
        log.warning("reading environment %s failed: %s", namespace, type(exc).__name__)
        raise EnvironmentUnavailable(
            f"ironflow could not read environment {namespace} ({type(exc).__name__}); "
            "the pod declares names, so it is refused rather than started without them"
        ) from None


async def review_declarations(review: Mapping[str, Any], read: EnvironmentReader) -> dict[str, Any]:
    return await _measured("declarations", _review_declarations(review, read))


async def review_enforcement(review: Mapping[str, Any], read: EnvironmentReader) -> dict[str, Any]:
    """Only called for namespaces labelled for enforcement (the configuration's namespaceSelector)."""
    return await _measured("enforcement", _review_enforcement(review, read))


Decided = tuple[metrics.AdmissionOutcome, dict[str, Any]]


async def _measured(webhook: str, decision: Awaitable[Decided]) -> dict[str, Any]:
    """Count and time each decision; an exception is an `error` outcome (and still raises)."""
    started = time.perf_counter()
    outcome: metrics.AdmissionOutcome = "error"
    try:
        outcome, response = await decision
        return response
    finally:
        metrics.record_admission(webhook, outcome, time.perf_counter() - started)


def _with_warnings(response: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    if warnings:
        response["response"]["warnings"] = [f"ironflow: {w}" for w in warnings]
    return response


async def _review_declarations(review: Mapping[str, Any], read: EnvironmentReader) -> Decided:
    uid, namespace, pod = _request(review)
    annotations = (pod.get("metadata") or {}).get("annotations")
    warnings = unknown_annotation_warnings(annotations)
    try:
        declaration = parse_declaration(annotations)
    except DeclarationError as exc:
        log.info("refused pod %s: %s", _pod_label(namespace, pod), exc)
        return "refused", _with_warnings(deny(uid, f"ironflow: {exc}", code=400), warnings)
    if declaration is None:
        return "allowed", _with_warnings(_response(uid, True), warnings)
    try:
        view = await _view(read, namespace, _declared(declaration))
    except EnvironmentUnavailable as exc:
        log.info("refused pod %s: %s", _pod_label(namespace, pod), exc)
        return "error", deny(uid, f"ironflow: {exc}")
    hints = kind_hints(declaration, view)
    try:
        injection = plan_injection(declaration, view, pod)
    except InjectionRefused as exc:
        log.info("refused pod %s: %s", _pod_label(namespace, pod), exc)
        message = "; ".join([f"ironflow: {exc}", *hints])
        return "refused", _with_warnings(deny(uid, message), warnings)
    log.info("admitted pod %s: %s", _pod_label(namespace, pod), injection.record)
    extra: dict[str, Any] = {}
    if injection.patch:
        extra["patchType"] = "JSONPatch"
        extra["patch"] = base64.b64encode(json.dumps(injection.patch).encode()).decode()
    return "allowed", _with_warnings(_response(uid, True, **extra), [*injection.warnings, *warnings, *hints])


async def _review_enforcement(review: Mapping[str, Any], read: EnvironmentReader) -> Decided:
    uid, namespace, pod = _request(review)
    try:
        declaration = parse_declaration((pod.get("metadata") or {}).get("annotations"))
    except DeclarationError as exc:
        return "refused", deny(uid, f"ironflow: {exc}", code=400)
    try:
        view = await _view(read, namespace, _declared(declaration))
    except EnvironmentUnavailable as exc:
        return "error", deny(uid, f"ironflow: {exc}")
    if (review.get("request") or {}).get("subResource") == "ephemeralcontainers":
        # Only the debug containers are new; the rest of the pod was checked when it was created
        # (and its injected entries may predate a later change of the environment).
        spec = pod.get("spec") or {}
        pod = {"spec": {"ephemeralContainers": spec.get("ephemeralContainers") or []}}
    found = forbidden_references(pod, declaration, view)
    if not found:
        return "allowed", _response(uid, True)
    log.info("refused pod %s: undeclared references to managed Secrets", _pod_label(namespace, pod))
    return "refused", deny(
        uid,
        f"ironflow: environment {namespace} is enforced ({ENFORCE_LABEL}=true): pods reach Ironflow "
        f"Secrets only by declaring names in ironflow.io/secrets; refused: {'; '.join(found)}",
    )
