"""AdmissionReview in, AdmissionReview out: the two pod webhooks' decisions.

Everything that decides lives in the pure core; this module only reads the environment through
the given reader, turns refusals into denials and patches into a base64 JSONPatch. It never logs
or echoes the pod: a pod spec may carry plaintext env values written by its author, so messages
and logs hold names, namespaces and reasons only. Errors fail closed: a declaring pod that cannot
be checked is refused, and the message says why and which environment. Nothing of a review is
used before `review.parse_review` has checked it: a review the API server would never send is a
400 before any read, and decisions are logged through the rate-limited, escaping DecisionLog.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Awaitable, Collection
from typing import Any, Final, Protocol

from ironflow import metrics
from ironflow.core.declaration_hints import kind_hints
from ironflow.core.declarations import (
    Declaration,
    DeclarationError,
    Kind,
    parse_declaration,
    unknown_annotation_warnings,
)
from ironflow.core.enforcement import ENFORCE_LABEL, forbidden_references, referenced_secrets
from ironflow.core.environment_view import EnvironmentView
from ironflow.core.injection import InjectionRefused, plan_injection
from ironflow.webhook.decision_log import DecisionLog
from ironflow.webhook.review import BadReview, Review, parse_review, review_uid

log = logging.getLogger("ironflow.webhook")
decisions = DecisionLog(log)

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


_REASONS: Final = {400: "BadRequest", 403: "Forbidden", 500: "InternalError"}


def deny(uid: str, message: str, code: int = 403) -> dict[str, Any]:
    reason = _REASONS.get(code, "BadRequest")
    return _response(uid, False, status={"code": code, "reason": reason, "message": message})


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
        decisions.log(logging.WARNING, "reading environment %s failed: %s", namespace, type(exc).__name__)
        raise EnvironmentUnavailable(
            f"ironflow could not read environment {namespace} ({type(exc).__name__}); "
            "the pod declares names, so it is refused rather than started without them"
        ) from None


def _checked(body: object) -> Review | dict[str, Any]:
    """The checked review, or the 400 denial of a review that is not one the API server sends."""
    try:
        return parse_review(body)
    except BadReview as exc:
        decisions.log(logging.INFO, "refused a malformed admission review: %s", str(exc))
        return deny(review_uid(body), f"ironflow: malformed admission review: {exc}", code=400)


async def review_declarations(body: object, read: EnvironmentReader) -> dict[str, Any]:
    return await _measured("declarations", _review_declarations(body, read))


async def review_enforcement(body: object, read: EnvironmentReader) -> dict[str, Any]:
    """Only called for namespaces labelled for enforcement (the configuration's namespaceSelector)."""
    return await _measured("enforcement", _review_enforcement(body, read))


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


async def _review_declarations(body: object, read: EnvironmentReader) -> Decided:
    review = _checked(body)
    if not isinstance(review, Review):
        return "refused", review
    uid, namespace, pod = review.uid, review.namespace, review.pod
    warnings = unknown_annotation_warnings(review.annotations)
    try:
        declaration = parse_declaration(review.annotations)
    except DeclarationError as exc:
        decisions.log(logging.INFO, "refused pod %s: %s", review.pod_label, str(exc))
        return "refused", _with_warnings(deny(uid, f"ironflow: {exc}", code=400), warnings)
    if declaration is None:
        return "allowed", _with_warnings(_response(uid, True), warnings)
    try:
        view = await _view(read, namespace, _declared(declaration))
    except EnvironmentUnavailable as exc:
        decisions.log(logging.INFO, "refused pod %s: %s", review.pod_label, str(exc))
        return "error", deny(uid, f"ironflow: {exc}")
    hints = kind_hints(declaration, view)
    try:
        injection = plan_injection(declaration, view, pod)
    except InjectionRefused as exc:
        decisions.log(logging.INFO, "refused pod %s: %s", review.pod_label, str(exc))
        message = "; ".join([f"ironflow: {exc}", *hints])
        return "refused", _with_warnings(deny(uid, message), warnings)
    decisions.log(logging.INFO, "admitted pod %s: %s", review.pod_label, injection.record)
    extra: dict[str, Any] = {}
    if injection.patch:
        extra["patchType"] = "JSONPatch"
        extra["patch"] = base64.b64encode(json.dumps(injection.patch).encode()).decode()
    return "allowed", _with_warnings(_response(uid, True, **extra), [*injection.warnings, *warnings, *hints])


async def _review_enforcement(body: object, read: EnvironmentReader) -> Decided:
    review = _checked(body)
    if not isinstance(review, Review):
        return "refused", review
    uid, namespace, pod = review.uid, review.namespace, review.pod
    try:
        declaration = parse_declaration(review.annotations)
    except DeclarationError as exc:
        return "refused", deny(uid, f"ironflow: {exc}", code=400)
    if review.sub_resource == "ephemeralcontainers":
        # Only the debug containers are new; the rest of the pod was checked when it was created
        # (and its injected entries may predate a later change of the environment).
        spec = pod.get("spec") or {}
        pod = {"spec": {"ephemeralContainers": spec.get("ephemeralContainers") or []}}
    try:
        view = await _view(read, namespace, _declared(declaration), referenced_secrets(pod))
    except EnvironmentUnavailable as exc:
        return "error", deny(uid, f"ironflow: {exc}")
    found = forbidden_references(pod, declaration, view)
    if not found:
        return "allowed", _response(uid, True)
    decisions.log(logging.INFO, "refused pod %s: undeclared references to managed Secrets", review.pod_label)
    return "refused", deny(
        uid,
        f"ironflow: environment {namespace} is enforced ({ENFORCE_LABEL}=true): pods reach Ironflow "
        f"Secrets only by declaring names in ironflow.io/secrets, and any other Secret a pod refers to "
        f"must exist before the pod (an IronflowSecret could take its name later); "
        f"refused: {'; '.join(found)}",
    )
