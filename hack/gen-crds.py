"""Writes crds/*.yaml from one description, so both kinds share the name rule and status shape.

Why generated: the two CRDs share their NAME rule, status and printer columns; one script keeps
them from drifting apart, and `make crds-check` fails if the committed files differ from it.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

from ironflow.core.config_values import MAX_SAFE_INTEGER, MAX_VALUE_DEPTH
from ironflow.core.model import CRD_VERSION_ANNOTATION

ROOT = Path(__file__).resolve().parent.parent

NAME_RE = "^[-._a-zA-Z0-9]+$"
NAME_DOC = (
    "NAME is any valid Secret/ConfigMap key (letters, digits, '-', '_', '.'; not '.', '..' or "
    "starting with '..'; at most 253 characters), unique in the environment. A pod gets a NAME "
    "that is also an environment variable name (^[A-Za-z_][A-Za-z0-9_]*$) as env or as a file, "
    "any other (tls.crt, .dockerconfigjson, config.yaml) only as a file "
    "(ironflow.io/projection: files)."
)
# One CEL predicate for "k is a valid key", shared by the CRD rule and the config names policy.
KEY_OK = f"k.matches('{NAME_RE}') && k != '.' && k != '..' && !k.startsWith('..')"
MAX_NAMES = 64
MAX_SEALED_LENGTH = 24000  # 16 KiB plaintext sealed is 21 950 characters; see docs/crypto.md "Limits"
# A sealed value: ifs:v<version>:<16 hex key id>:<base64url>, at least 80 characters of data.
SEALED_MIN_LENGTH = len("ifs:v1:0123456789abcdef:") + 80

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


# Why not one regex over each whole value: the API server charges a regex by string length x
# pattern length, and a rule on the map is one call with a runtime budget of 1 000 000; the full
# pattern made 36 values of 16 KiB exceed it ("actual cost limit exceeded"), far below the 64
# names the schema allows. So the whole string is checked against a 10-character class (the
# sealed alphabet plus ':') and only a short prefix against the exact header pattern: 64 values
# of 24 000 characters cost about half the budget. (A rule on each value instead would be one
# call per value, but the API server quotes a value that fails a per-value rule, and a sealed
# field holding pasted plaintext must not be echoed.) The operator's parser checks the rest.
SEALED_RULE = {
    "rule": "self.all(k, self[k].startsWith('dev:') || ("
    f"size(self[k]) >= {SEALED_MIN_LENGTH} && self[k].matches('^[\\\\w:-]+$') && "
    "self[k].substring(0, 40).matches('^ifs:v[0-9]+:[0-9a-f]{16}:')))",
    "message": "every value must be a sealed value: the string `ironflow secret seal` prints "
    "(ifs:v1:<16 hex key id>:<base64url data>), or dev:<plaintext> in development mode",
    "reason": "FieldValueInvalid",
}

CONDITION = {
    "type": "object",
    "required": ["type", "status"],
    "properties": {
        "type": {"type": "string", "description": "Condition type; Ready is the one Ironflow sets."},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"],
                   "description": "True when every name is projected (see reason)."},
        "reason": {"type": "string", "description": "CamelCase machine-readable reason."},
        "message": {"type": "string", "description": "Human-readable explanation; never a value."},
        "observedGeneration": {"type": "integer", "format": "int64",
                               "description": "The generation of the resource this condition describes."},
        "lastTransitionTime": {"type": "string", "format": "date-time",
                               "description": "When the status of this condition last changed."},
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
        "message": {
            "type": "string",
            "description": "The cause in words (which name, which key id, what to do) when the name is "
            "not Projected; never a value.",
        },
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


RESEAL_STATUS = {
    "type": "object",
    "description": "The answer to the last `ironflow secret reseal` request (annotation ironflow.io/reseal): "
    "counts and names, never values.",
    "properties": {
        "nonce": {"type": "string", "description": "The request's annotation value."},
        "keyId": {"type": "string", "nullable": True, "description": "The key values were re-sealed for."},
        "resealed": {"type": "integer", "description": "Values re-sealed for the current key."},
        "skipped": {"type": "integer", "description": "Values left as they were (current, or failed)."},
        "resealedNames": {"type": "array", "items": {"type": "string"},
                          "description": "The names whose values were re-sealed."},
        "failed": {
            "type": "array",
            "items": {"type": "string"},
            "description": "NAME: reason, for values that did not unseal for this namespace and NAME.",
        },
    },
}


def status_schema(
    extra_fact: dict[str, Any], noun: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    schema = {
        "type": "object",
        "description": "Observed state, written by the operator. Holds facts about names, never values.",
        "properties": {
            "observedGeneration": {
                "type": "integer",
                "format": "int64",
                "description": "The generation of the spec this status describes; older than "
                "metadata.generation means the last change is not handled yet.",
            },
            "nameCount": {"type": "integer", "description": f"How many {noun} names this resource defines."},
            "mode": {"type": "string", "description": "The operator's master-key mode when it wrote this "
                     "status: keyed, dev (no master key, --dev-mode), no-key or invalid-key."},
            "conditions": {
                "type": "array",
                "description": "The Ready condition (reason and message say why not).",
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
    schema["properties"].update(extra or {})
    return schema


def release_version() -> str:
    """pyproject.toml's version (the one place it is written), not the installed package's."""
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def crd(
    kind: str, plural: str, short: str, spec: dict[str, Any], status: dict[str, Any], doc: str
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.ironflow.io",
            "labels": {"app.kubernetes.io/name": "ironflow", "app.kubernetes.io/part-of": "ironflow"},
            # The release these CRDs come from: the operator warns when the cluster's are older
            # than itself (Helm never upgrades crds/; docs/install.md "Upgrades").
            "annotations": {CRD_VERSION_ANNOTATION: release_version()},
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
    status = status_schema(key_fact, "secret", {"reseal": RESEAL_STATUS})
    return crd("IronflowSecret", "ironflowsecrets", "ifsec", spec, status,
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
                # nullable: so that a null reaches the admission policy and is refused there; without
                # it the API server drops the name silently.
                "additionalProperties": {"x-kubernetes-preserve-unknown-fields": True, "nullable": True},
                # No x-kubernetes-validations here: CEL cannot type a map of arbitrary JSON, so
                # the API server checks these names with the ValidatingAdmissionPolicy below.
            },
            "template": template_schema(with_type=False),
        },
    }
    return crd("IronflowConfig", "ironflowconfigs", "ifcfg", spec, status_schema({}, "config"),
               "IronflowConfig holds plaintext JSON values; the operator projects them into a ConfigMap of "
               "the same name in the same namespace.")


def _value_levels() -> list[dict[str, str]]:
    """CEL variables l1..l(MAX_VALUE_DEPTH+1): every JSON node of the config values, level by level.

    CEL has no recursion, so nesting is walked one level per variable: l1 holds the values, l(n+1)
    the members of the arrays and objects in l(n). A value nested deeper than MAX_VALUE_DEPTH has
    an array or object in the last level. Each node is visited once, so the cost is linear in the
    size of the values (a value nested 10 000 deep costs one node per level)."""
    levels = [{"name": "l1", "expression": "variables.values.map(k, variables.values[k])"}]
    for n in range(2, MAX_VALUE_DEPTH + 2):
        levels.append({
            "name": f"l{n}",
            "expression": f"variables.l{n - 1}.map(x, type(x) == map ? x.map(k, x[k]) : "
            "(type(x) == list ? x : [])).flatten()",
        })
    return levels


VALUES_POLICY_DIR = "kubernetes-1.35"  # under crds/: the policy that needs Kubernetes 1.35 or newer
VALUES_POLICY_FILE = "ironflow.io_ironflowconfig-values-policy.yaml"


def _policy(
    name: str, variables: list[dict[str, str]], validations: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy on IronflowConfig create/update, and its binding (Deny)."""
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
            "variables": [
                {"name": "values", "expression": "has(object.spec.values) ? object.spec.values : {}"},
                *variables,
            ],
            "validations": validations,
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "ironflow"}},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }
    return [policy, binding]


def config_names_policy() -> list[dict[str, Any]]:
    """The NAME and null rules for IronflowConfig, as CEL the API server runs at admission.

    Why a policy and not a CRD rule: CRD validation rules need a typed schema, and a map of
    arbitrary JSON values has none; admission policies see the object as dynamic JSON. It uses
    only CEL every supported Kubernetes version compiles, so crds/ installs everywhere.
    """
    bad = f"variables.values.filter(k, !({KEY_OK}) || size(k) > 253)"
    nulls = "variables.values.filter(k, variables.values[k] == null)"
    return _policy("ironflowconfig-names.ironflow.io", [], [
        {
            "expression": f"size({bad}) == 0",
            "messageExpression": "'spec.values: every name must be a valid Secret/ConfigMap key "
            "(^[-._a-zA-Z0-9]+$, not . or .., not starting with .., at most 253 characters); "
            "invalid: ' + "
            f"{bad}.join(', ')",
            "reason": "Invalid",
        },
        {
            "expression": f"size({nulls}) == 0",
            "messageExpression": "'spec.values: null is not a config value (the API server would "
            f"drop it); unset the name instead: ' + {nulls}.join(', ')",
            "reason": "Invalid",
        },
    ])


def config_values_policy() -> list[dict[str, Any]]:
    """The value rules for IronflowConfig (nesting, exact numbers) of ironflow.core.config_values.

    Why a policy of its own: walking nested values needs CEL's flatten() (the lists library, new
    in Kubernetes 1.34), and an API server accepts a new expression only with the libraries of
    the minor before it, so 1.33 and 1.34 refuse any policy that uses it. Kept apart, it is
    installed on 1.35 or newer only (the chart checks the version; with kubectl it is a separate
    directory); older clusters lose only the admission-time check, the CLI and the operator
    apply the same rules themselves.
    """
    levels = _value_levels()
    nodes = "[" + ", ".join(f"variables.{level['name']}" for level in levels[:-1]) + "].flatten()"
    limit, float_limit = str(MAX_SAFE_INTEGER), f"{MAX_SAFE_INTEGER}.0"
    inexact = (f"type(x) == int ? (x > {limit} || x < -{limit}) : "
               f"(type(x) == double && (x > {float_limit} || x < -{float_limit}))")
    return _policy("ironflowconfig-values.ironflow.io", levels, [
        {
            "expression": f"!variables.{levels[-1]['name']}"
            ".exists(x, type(x) == map || type(x) == list)",
            "message": f"spec.values: a value is nested deeper than {MAX_VALUE_DEPTH} levels",
            "reason": "Invalid",
        },
        {
            "expression": f"!{nodes}.exists(x, {inexact})",
            "message": f"spec.values: numbers beyond +/-{MAX_SAFE_INTEGER} (2^53-1) are not exact in "
            "every JSON reader; store such a number as a string",
            "reason": "Invalid",
        },
    ])


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
    # Not in crds/ itself: `kubectl apply -f crds/` (no -R) must install on every supported version.
    (out / VALUES_POLICY_DIR).mkdir(exist_ok=True)
    (out / VALUES_POLICY_DIR / VALUES_POLICY_FILE).write_text(
        header + yaml.safe_dump_all(config_values_policy(), sort_keys=False, width=100)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
