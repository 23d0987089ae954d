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
from collections.abc import Awaitable, Collection, Mapping
from typing import Any, Protocol

from ironflow.core.declarations import Declaration, DeclarationError, Kind, parse_declaration
from ironflow.core.enforcement import ENFORCE_LABEL, forbidden_references, referenced_secrets
from ironflow.core.environment_view import EnvironmentView
from ironflow.core.injection import InjectionRefused, plan_injection

log = logging.getLogger("ironflow.webhook")

class EnvironmentReader(Protocol):
    """(namespace, the (kind, NAME) pairs the pod declares) -> the environment.

    The declared names bound the ownership checks to the objects this pod would actually read.
    `secrets` (enforcement only) are the Secret names the pod refers to: the view lists those that
    are not managed and do not exist in `missing_secrets`.
    """

    def __call__(
        self, namespace: str, declared: Collection[tuple[Kind, str]], *, secrets: Collection[str] = ()
    ) -> Awaitable[EnvironmentView]: ...


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
    read: EnvironmentReader, namespace: str, declared: Collection[tuple[Kind, str]],
    secrets: Collection[str] = (),
) -> EnvironmentView:
    try:
        return await (read(namespace, declared, secrets=secrets) if secrets else read(namespace, declared))
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
    uid, namespace, pod = _request(review)
    try:
        declaration = parse_declaration((pod.get("metadata") or {}).get("annotations"))
    except DeclarationError as exc:
        log.info("refused pod %s: %s", _pod_label(namespace, pod), exc)
        return deny(uid, f"ironflow: {exc}", code=400)
    if declaration is None:
        return _response(uid, True)
    try:
        view = await _view(read, namespace, _declared(declaration))
        injection = plan_injection(declaration, view, pod)
    except (EnvironmentUnavailable, InjectionRefused) as exc:
        log.info("refused pod %s: %s", _pod_label(namespace, pod), exc)
        return deny(uid, f"ironflow: {exc}")
    log.info("admitted pod %s: %s", _pod_label(namespace, pod), injection.record)
    extra: dict[str, Any] = {}
    if injection.patch:
        extra["patchType"] = "JSONPatch"
        extra["patch"] = base64.b64encode(json.dumps(injection.patch).encode()).decode()
    if injection.warnings:
        extra["warnings"] = [f"ironflow: {w}" for w in injection.warnings]
    return _response(uid, True, **extra)


async def review_enforcement(review: Mapping[str, Any], read: EnvironmentReader) -> dict[str, Any]:
    """Only called for namespaces labelled for enforcement (the configuration's namespaceSelector)."""
    uid, namespace, pod = _request(review)
    try:
        declaration = parse_declaration((pod.get("metadata") or {}).get("annotations"))
    except DeclarationError as exc:
        return deny(uid, f"ironflow: {exc}", code=400)
    if (review.get("request") or {}).get("subResource") == "ephemeralcontainers":
        # Only the debug containers are new; the rest of the pod was checked when it was created
        # (and its injected entries may predate a later change of the environment).
        spec = pod.get("spec") or {}
        pod = {"spec": {"ephemeralContainers": spec.get("ephemeralContainers") or []}}
    try:
        view = await _view(read, namespace, _declared(declaration), referenced_secrets(pod))
    except EnvironmentUnavailable as exc:
        return deny(uid, f"ironflow: {exc}")
    found = forbidden_references(pod, declaration, view)
    if not found:
        return _response(uid, True)
    log.info("refused pod %s: undeclared references to managed Secrets", _pod_label(namespace, pod))
    return deny(
        uid,
        f"ironflow: environment {namespace} is enforced ({ENFORCE_LABEL}=true): pods reach Ironflow "
        f"Secrets only by declaring names in ironflow.io/secrets, and any other Secret a pod refers to "
        f"must exist before the pod (an IronflowSecret could take its name later); "
        f"refused: {'; '.join(found)}",
    )
