"""IronflowSecret / IronflowConfig bodies -> typed resources the projection can trust.

The API server already enforces the NAME rule and the sealed-string shape (CRD schema plus CEL),
but the operator must not rely on that alone: CRDs can be older than the operator, or applied
without validation. So a bad entry becomes a per-name failure here instead of an exception that
would stop the whole resource from projecting. `spec_of` is the one reader of a stored body's
spec for the whole package (a unit test greps for any other): whatever shape was stored, every
reader gets a `Spec` or an `InvalidSpec`, never a raw value of a type it did not expect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ironflow.core.config_values import value_problem
from ironflow.core.names import InvalidName, validate_name

Kind = Literal["IronflowSecret", "IronflowConfig"]
SECRET_KIND: Final = "IronflowSecret"
CONFIG_KIND: Final = "IronflowConfig"
GROUP: Final = "ironflow.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
PLURALS: Final[Mapping[str, str]] = {SECRET_KIND: "ironflowsecrets", CONFIG_KIND: "ironflowconfigs"}
SPEC_FIELD: Final[Mapping[str, str]] = {SECRET_KIND: "sealed", CONFIG_KIND: "values"}
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "ironflow-operator"
DEFAULT_SECRET_TYPE: Final = "Opaque"
DISTRIBUTION: Final = "ironflow-operator"  # the Python distribution (pyproject [project] name)
# On each CRD: the release it comes from. Helm never upgrades a chart's crds/, so the operator
# compares this with its own version and warns when the cluster's CRDs are older.
CRD_VERSION_ANNOTATION: Final = "ironflow.io/crd-version"


class InvalidResource(ValueError):
    """The body lacks what every resource must have (name, namespace, uid); nothing can be done."""


INVALID_SPEC: Final = "InvalidSpec"


@dataclass(frozen=True)
class Template:
    """spec.template: how the projected object looks (Secret type, extra labels and annotations).

    Labels and annotations are not secret; the type brings the API server's own rules for that
    type (a kubernetes.io/tls Secret must hold tls.crt and tls.key), which the projection obeys by
    reporting the API server's refusal rather than by guessing the rules here. One rule is known
    (core/projection.py REQUIRED_KEYS): a required name that failed to unseal holds the write, so
    the cause reported is that name's, not the API server's `Required value`.
    """

    type: str = DEFAULT_SECRET_TYPE
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


def _string_map(raw: object) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): v for k, v in raw.items() if isinstance(v, str)}


def parse_template(raw: object) -> Template:
    """Lenient on purpose: the CRD schema types the template; a hand-made body must not stop projection."""
    if not isinstance(raw, Mapping):
        return Template()
    meta = raw.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    kind = raw.get("type")
    return Template(
        type=kind if isinstance(kind, str) and kind else DEFAULT_SECRET_TYPE,
        labels=_string_map(meta.get("labels")),
        annotations=_string_map(meta.get("annotations")),
    )


@dataclass(frozen=True)
class Resource:
    """One CR as the projection sees it: entries are sealed strings (secrets) or projected strings
    (configs); `invalid` holds names whose entry cannot be used, with a reason that quotes no value."""

    kind: Kind
    namespace: str
    name: str
    uid: str
    generation: int
    created: str
    entries: Mapping[str, str]
    invalid: Mapping[str, str] = field(default_factory=dict)
    status: Mapping[str, Any] = field(default_factory=dict)
    # Why the spec as a whole is unusable (not an object, its map not an object), or None. Such a
    # resource claims no names and its projection is left as it is: nothing is lost, nothing new
    # is projected, and its status says so until the spec is fixed.
    spec_error: str | None = None
    template: Template = field(default_factory=lambda: Template())

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.entries) | frozenset(self.invalid)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


def config_string(value: object) -> str:
    """A JSON string as-is, anything else as compact JSON (docs/reference.md)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _entries(kind: Kind, raw: Mapping[Any, Any]) -> tuple[dict[str, str], dict[str, str]]:
    entries: dict[str, str] = {}
    invalid: dict[str, str] = {}
    for name, value in raw.items():
        try:
            validate_name(name)
        except InvalidName as exc:
            invalid[str(name)] = str(exc)
            continue
        if kind == SECRET_KIND:
            if isinstance(value, str):
                entries[name] = value
            else:
                invalid[name] = f"value for {name} must be a sealed string, not {type(value).__name__}"
        elif (problem := value_problem(value)) is not None:
            invalid[name] = f"value for {name} is refused: {problem}"
        else:
            entries[name] = config_string(value)
    return entries, invalid


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names = {str: "a string", list: "an array", dict: "an object"}
    return next((label for cls, label in names.items() if isinstance(value, cls)), type(value).__name__)


def _generation(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(str(value or 0))
    except ValueError:
        return 0


@dataclass(frozen=True)
class Spec:
    """The spec of a stored IronflowSecret/IronflowConfig as every reader sees it: its NAME map
    (`sealed` or `values`, keys as strings, values as stored, unchecked) and its template."""

    kind: Kind
    entries: Mapping[str, object] = field(default_factory=dict)
    template: Template = field(default_factory=lambda: Template())
    has_map: bool = False  # the NAME map is there (maybe empty): a first name can be added into it


@dataclass(frozen=True)
class InvalidSpec:
    """A spec no reader can use (a string, a number, a NAME map that is not an object); `reason`
    says why and quotes no value. It defines no names."""

    kind: Kind
    reason: str

    @property
    def entries(self) -> Mapping[str, object]:
        return {}

    @property
    def template(self) -> Template:
        return Template()


def _is_map(value: object) -> bool:
    # a plain dict first: the ABC check alone was a third of a 2,000-resource view rebuild
    return type(value) is dict or isinstance(value, Mapping)


def _read(kind: Kind, body: object) -> tuple[Mapping[Any, Any], Mapping[Any, Any] | None, str | None]:
    """(the spec, its NAME map or None when absent, why neither is usable or None)."""
    spec = body.get("spec") if _is_map(body) else None  # type: ignore[attr-defined]
    if spec is None:
        return {}, None, None
    if not _is_map(spec):
        return {}, None, f"spec must be an object, not {_json_type(spec)}"
    field_name = SPEC_FIELD[kind]
    raw = spec.get(field_name)
    if raw is not None and not _is_map(raw):
        return spec, None, (f"spec.{field_name} must be an object mapping names to values, "
                            f"not {_json_type(raw)}")
    return spec, raw, None


def _string_keys(raw: Mapping[Any, Any]) -> Mapping[str, object]:
    """JSON keys are strings already (no copy); a YAML file's may not be."""
    return raw if all(type(k) is str for k in raw) else {str(k): v for k, v in raw.items()}


def spec_of(kind: Kind, body: object) -> Spec | InvalidSpec:
    """The one way to read a stored body's spec: any JSON at all becomes a Spec or an InvalidSpec.

    A CRD older than the operator, or one applied without Ironflow's schema, lets the API server
    store `spec: "a string"`, `spec: 5` or `spec: {sealed: [1]}`. A reader that reached into the
    raw body met a string where it expected a mapping and raised; through here it cannot."""
    spec, raw, reason = _read(kind, body)
    if reason is not None:
        return InvalidSpec(kind, reason)
    entries = _string_keys(raw) if raw is not None else {}
    return Spec(kind, entries, parse_template(spec.get("template")), has_map=raw is not None)


def editable_spec(kind: Kind, doc: dict[str, Any]) -> dict[str, Any]:
    """The spec of a manifest document a command edits in place, its NAME map made a dict if absent.

    ValueError (with the InvalidSpec reason, quoting no value) when the spec is not one: the
    command refuses and the file is left as it was, instead of failing on a string half-way."""
    spec = spec_of(kind, doc)
    if isinstance(spec, InvalidSpec):
        raise ValueError(spec.reason)
    if doc.get("spec") is None:
        doc["spec"] = {}
    editable: dict[str, Any] = doc["spec"]
    if editable.get(SPEC_FIELD[kind]) is None:
        editable[SPEC_FIELD[kind]] = {}
    return editable


def spec_names(kind: Kind, body: object) -> frozenset[str]:
    """The names a stored body's spec lists (none for an InvalidSpec), valid or not: spec_of
    without its template, for the webhook's view of thousands of resources."""
    _, raw, _ = _read(kind, body)
    return frozenset(_string_keys(raw)) if raw is not None else frozenset()


def parse_resource(kind: Kind, body: Mapping[str, Any]) -> Resource:
    """Any JSON body -> a Resource; InvalidResource only when it names no namespace, name or uid.

    Whatever else is wrong (a spec that is a string, a value nested too deep) becomes a
    `spec_error` or a per-name entry of `invalid`, so one bad object is reported, never fatal."""
    meta = body.get("metadata") if isinstance(body, Mapping) else None
    meta = meta if isinstance(meta, Mapping) else {}
    namespace, name, uid = meta.get("namespace"), meta.get("name"), meta.get("uid")
    if not (isinstance(namespace, str) and isinstance(name, str) and isinstance(uid, str)):
        raise InvalidResource(f"{kind} body lacks metadata.namespace, name or uid")
    spec = spec_of(kind, body)
    entries, invalid = _entries(kind, spec.entries)
    status = body.get("status")
    return Resource(
        kind=kind,
        namespace=namespace,
        name=name,
        uid=uid,
        generation=_generation(meta.get("generation")),
        created=str(meta.get("creationTimestamp") or ""),
        entries=entries,
        invalid=invalid,
        status=status if isinstance(status, Mapping) else {},
        spec_error=spec.reason if isinstance(spec, InvalidSpec) else None,
        template=spec.template,
    )
