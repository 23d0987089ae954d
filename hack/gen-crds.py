"""Writes crds/*.yaml from one description, so both kinds share the name rule and status shape.

Why generated: the two CRDs share their NAME rule, status and printer columns; one script keeps
them from drifting apart, and `make crds-check` fails if the committed files differ from it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

NAME_RE = "^[-._a-zA-Z0-9]+$"
SEALED_RE = "^(ifs:v\\\\d+:[0-9a-f]{16}:[\\\\w-]{80,}|dev:(?s:.*))$"
MAX_NAMES = 64  # maxLength x maxProperties bounds the CEL cost budget
MAX_SEALED_LENGTH = 24000  # 16 KiB plaintext sealed is 21 950 characters; see docs/crypto.md "Limits"
NAME_DOC = (
    "NAME is any valid Secret/ConfigMap key (letters, digits, '-', '_', '.'; not '.', '..' or "
    "starting with '..'; at most 253 characters), unique in the environment. A pod gets a NAME "
    "that is also an environment variable name (^[A-Za-z_][A-Za-z0-9_]*$) as env or as a file, "
    "any other (tls.crt, .dockerconfigjson, config.yaml) only as a file "
    "(ironflow.io/projection: files)."
)
# One CEL predicate for "k is a valid key", shared by the CRD rule and the config names policy.
KEY_OK = f"k.matches('{NAME_RE}') && k != '.' && k != '..' && !k.startsWith('..')"

NAME_RULES = [
    {
        "rule": f"self.all(k, {KEY_OK})",
        "message": "every name must be a valid Secret/ConfigMap key: letters, digits, '-', '_' or '.' "
        "(^[-._a-zA-Z0-9]+$), not '.' or '..' and not starting with '..'",
        "reason": "FieldValueInvalid",
    },
    {
        "rule": "self.all(k, size(k) <= 253)",
        "message": "names are at most 253 characters",
        "reason": "FieldValueInvalid",
    },
]

SECRET_TYPES = [
    "Opaque",
    "kubernetes.io/tls",
    "kubernetes.io/dockerconfigjson",
    "kubernetes.io/dockercfg",
    "kubernetes.io/basic-auth",
    "kubernetes.io/ssh-auth",
]
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
TYPE_DOC = (
    "Type of the projected Secret (default Opaque). The API server's rules for the type apply: "
    "kubernetes.io/tls needs the names tls.crt and tls.key, kubernetes.io/dockerconfigjson "
    ".dockerconfigjson, kubernetes.io/basic-auth username and/or password, kubernetes.io/ssh-auth "
    "ssh-privatekey; a projection they refuse is reported in Ready=False, and nothing projected "
    "before is lost. A Secret's type cannot change once projected."
)


def template_schema(with_type: bool) -> dict[str, Any]:
    """spec.template: what the projected object looks like; never the owner or managed-by label."""
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    labels = {
        **string_map,
        "description": "Labels of the projected object, added to app.kubernetes.io/managed-by: "
        "ironflow-operator, which the operator always sets and a template cannot override.",
        "x-kubernetes-validations": [{
            "rule": f"!('{MANAGED_BY_LABEL}' in self)",
            "message": f"{MANAGED_BY_LABEL} is set by the operator (ironflow-operator) "
            "and cannot be templated",
            "reason": "FieldValueForbidden",
        }],
    }
    props: dict[str, Any] = {
        "metadata": {
            "type": "object",
            "description": "Labels and annotations of the projected object "
            "(not secret: never put values here).",
            "properties": {
                "labels": labels,
                "annotations": {**string_map, "description": "Annotations of the projected object."},
            },
        }
    }
    noun = "ConfigMap"
    if with_type:
        noun = "Secret"
        props["type"] = {"type": "string", "description": TYPE_DOC, "enum": SECRET_TYPES}
    return {
        "type": "object",
        "description": f"How the projected {noun} looks. The operator always owns it (ownerReference) and "
        "labels it app.kubernetes.io/managed-by: ironflow-operator.",
        "properties": props,
    }


SEALED_RULE = {
    "rule": f"self.all(k, self[k].matches('{SEALED_RE}'))",
    "message": "every value must be a sealed value: the string `ironflow secret seal` prints "
    "(ifs:v1:<16 hex key id>:<base64url data>), or dev:<plaintext> in development mode",
    "reason": "FieldValueInvalid",
}

CONDITION = {
    "type": "object",
    "required": ["type", "status"],
    "properties": {
        "type": {"type": "string", "description": "Condition type; Ready is the one Ironflow sets."},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "reason": {"type": "string", "description": "CamelCase machine-readable reason."},
        "message": {"type": "string", "description": "Human-readable explanation; never a value."},
        "observedGeneration": {"type": "integer", "format": "int64"},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
    },
}


def name_fact(extra: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "state": {
            "type": "string",
            "description": "Projected, Failed (kept last good value if any), Conflict (defined by an "
            "older resource in this environment) or Pending.",
        },
        "reason": {"type": "string", "description": "Why the name is not Projected, if it is not."},
        "lastChanged": {
            "type": "string",
            "format": "date-time",
            "description": "When the projected value of this name last changed.",
        },
        "version": {
            "type": "string",
            "description": "Changes when, and only when, the projected value of this name changes: "
            "a token of the resource's uid and generation at that change, never derived from the value. "
            "Workloads declaring the name roll when it changes.",
        },
    }
    props.update(extra)
    return {"type": "object", "properties": props}


def status_schema(extra_fact: dict[str, Any], noun: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Observed state, written by the operator. Holds facts about names, never values.",
        "properties": {
            "observedGeneration": {"type": "integer", "format": "int64"},
            "nameCount": {"type": "integer", "description": f"How many {noun} names this resource defines."},
            "mode": {"type": "string", "description": "keyed, dev (no master key) or invalid-key."},
            "conditions": {
                "type": "array",
                "items": CONDITION,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            },
            "names": {
                "type": "object",
                "description": "Per-name facts, without values.",
                "additionalProperties": name_fact(extra_fact),
            },
        },
    }


def crd(
    kind: str, plural: str, short: str, spec: dict[str, Any], status: dict[str, Any], doc: str
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.ironflow.io",
            "labels": {"app.kubernetes.io/name": "ironflow", "app.kubernetes.io/part-of": "ironflow"},
        },
        "spec": {
            "group": "ironflow.io",
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": [short],
                "categories": ["ironflow"],
            },
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Ready", "type": "string",
                         "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                        {"name": "Reason", "type": "string",
                         "jsonPath": '.status.conditions[?(@.type=="Ready")].reason'},
                        {"name": "Names", "type": "integer", "jsonPath": ".status.nameCount"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": doc,
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec,
                                "status": status,
                            },
                        }
                    },
                }
            ],
        },
    }


def secret_crd() -> dict[str, Any]:
    spec = {
        "type": "object",
        "description": "Sealed values of this environment (namespace). Write them with "
        "`ironflow secret set` or `ironflow secret seal`; only the operator can unseal them.",
        "properties": {
            "sealed": {
                "type": "object",
                "description": "NAME -> sealed value. " + NAME_DOC + " The value is the string "
                "`ironflow secret seal` prints "
                "(ifs:v1:<key id>:<data>), bound to this namespace and NAME. "
                "In development mode (no master key) `dev:<plaintext>` is accepted too; "
                "with a master key it is refused.",
                "maxProperties": MAX_NAMES,
                "additionalProperties": {
                    "type": "string",
                    "maxLength": MAX_SEALED_LENGTH,
                },
                # On the map, not on each value: a rule on a string makes the API server echo the
                # string in its error, and a sealed field holding pasted plaintext must not be echoed.
                "x-kubernetes-validations": [*NAME_RULES, SEALED_RULE],
            },
            "template": template_schema(with_type=True),
        },
    }
    key_fact = {"keyId": {"type": "string", "description": "Key id the value was sealed for."}}
    return crd("IronflowSecret", "ironflowsecrets", "ifsec", spec, status_schema(key_fact, "secret"),
               "IronflowSecret holds sealed values; the operator projects them into a Secret of the same "
               "name in the same namespace.")


def config_crd() -> dict[str, Any]:
    spec = {
        "type": "object",
        "description": "Plaintext configuration of this environment (namespace), readable by anyone "
        "who can read this resource. Never put secrets here.",
        "properties": {
            "values": {
                "type": "object",
                "description": "NAME -> any JSON value. " + NAME_DOC + " Projected as a string: a JSON "
                "string as-is, anything else as compact JSON.",
                "maxProperties": MAX_NAMES,
                "additionalProperties": {"x-kubernetes-preserve-unknown-fields": True},
                # No x-kubernetes-validations here: CEL cannot type a map of arbitrary JSON, so
                # the API server checks these names with the ValidatingAdmissionPolicy below.
            },
            "template": template_schema(with_type=False),
        },
    }
    return crd("IronflowConfig", "ironflowconfigs", "ifcfg", spec, status_schema({}, "config"),
               "IronflowConfig holds plaintext JSON values; the operator projects them into a ConfigMap of "
               "the same name in the same namespace.")


def config_names_policy() -> list[dict[str, Any]]:
    """The NAME rule for IronflowConfig, as CEL the API server runs at admission.

    Why a policy and not a CRD rule: CRD validation rules need a typed schema, and a map of
    arbitrary JSON values has none; admission policies see the object as dynamic JSON.
    """
    name = "ironflowconfig-names.ironflow.io"
    bad = f"object.spec.values.filter(k, !({KEY_OK}) || size(k) > 253)"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "ironflow"}},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [{
                    "apiGroups": ["ironflow.io"],
                    "apiVersions": ["*"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["ironflowconfigs"],
                }]
            },
            "validations": [{
                "expression": f"!has(object.spec.values) || size({bad}) == 0",
                "messageExpression": "'spec.values: every name must be a valid Secret/ConfigMap key "
                "(^[-._a-zA-Z0-9]+$, not . or .., not starting with .., at most 253 characters); "
                "invalid: ' + "
                f"{bad}.join(', ')",
                "reason": "Invalid",
            }],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "ironflow"}},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }
    return [policy, binding]


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("crds")
    out.mkdir(parents=True, exist_ok=True)
    header = "# Generated by hack/gen-crds.py; edit that script, then run `make crds`.\n"
    for fname, doc in (("ironflow.io_ironflowsecrets.yaml", secret_crd()),
                       ("ironflow.io_ironflowconfigs.yaml", config_crd())):
        (out / fname).write_text(header + yaml.safe_dump(doc, sort_keys=False, width=100))
    (out / "ironflow.io_ironflowconfig-names-policy.yaml").write_text(
        header + yaml.safe_dump_all(config_names_policy(), sort_keys=False, width=100)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
