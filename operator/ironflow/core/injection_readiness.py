"""Whether a declared name's value is there to read, and the words for when it is not.

A name the environment defines is only worth injecting once its projected object holds a value of
it: an env entry or volume item pointing at a missing key is admitted and then fails at container
start (CreateContainerConfigError), far from the cause. The view's `version` says the object held
a value (status is written after the object); what a name lacks one for is its status fact.

A name whose new value failed keeps its last good value in the object (nothing is ever blanked),
so it is injected: the pod gets what is projected, and a warning says the current definition is
not. Texts are built from names, reasons and the operator's own status messages: never values.
"""

from __future__ import annotations

import re
from typing import Final

from ironflow.core.declarations import DeclaredName
from ironflow.core.environment_view import EnvironmentView

_RESOURCE: Final = {"secret": "IronflowSecret", "config": "IronflowConfig"}
_SEAL_AGAIN: Final = "seal it again for this environment and name (ironflow secret set)"
# reason -> what to do; the messages of SAYS_WHAT_TO_DO already say it (unless an older operator
# wrote the status without a message)
_ADVICE: Final = {
    "WrongKey": "seal it again for this environment (ironflow secret set, or ironflow secret seal with "
                "its published key), or add the master key it was sealed for to IRONFLOW_PREVIOUS_KEYS",
    "NoMasterKey": "restore the ironflow-master-key Secret (ironflow status)",
    "MasterKeyInvalid": "fix the ironflow-master-key Secret (ironflow status)",
    "AuthenticationFailed": _SEAL_AGAIN,
    "MalformedSealedValue": _SEAL_AGAIN,
    "DevValueRefused": _SEAL_AGAIN,
    "InvalidTarget": _SEAL_AGAIN,
    "RequiredNameFailed": "fix the name it waits for",
}
_SAYS_WHAT_TO_DO: Final = frozenset({"WrongKey", "UnknownFormatVersion"})


def _cause(name: str, message: str) -> str:
    """The status message without the `NAME: ` it starts with (the refusal names it already)."""
    return message[len(name) + 2:] if message.startswith(f"{name}: ") else message


def not_projected(view: EnvironmentView, d: DeclaredName, source: str) -> str:
    """`secret DB_PASSWORD (IronflowSecret app): <cause>; <what to do>` for a refusal or warning."""
    resource = f"{_RESOURCE[d.kind]} {source}"
    where = f"{d.kind} {d.name} ({resource})"
    look = f"kubectl describe {_RESOURCE[d.kind].lower()} {source} -n {view.namespace}"
    problem = view.problem(d.kind, d.name)
    if problem is None or not problem.current or problem.state == "Unreported":
        last = f"; its last report: {_cause(d.name, problem.message)}" if problem and problem.message else ""
        return (f"{where}: not projected yet, the operator has not reported on the resource's current "
                f"definition{last}; create the pod once `kubectl wait --for=condition=Ready "
                f"{_RESOURCE[d.kind].lower()}/{source} -n {view.namespace}` succeeds (is the operator "
                f"running? ironflow status)")
    cause = _cause(d.name, problem.message) or f"status reason {problem.reason or problem.state}"
    says = problem.message and problem.reason in _SAYS_WHAT_TO_DO
    advice = "" if says else _ADVICE.get(problem.reason, "")
    return f"{where}: never projected, {cause}{f'; {advice}' if advice else ''} ({look})"


def kept_value(view: EnvironmentView, d: DeclaredName) -> str | None:
    """The warning for a name injected with its last good value while its current one fails."""
    problem = view.problem(d.kind, d.name)
    if problem is None or problem.state != "Failed" or not problem.current:
        return None
    cause = _cause(d.name, problem.message) or f"status reason {problem.reason}"
    return (f"{d.kind} {d.name}: its current definition is not projected ({cause}); the pod gets the "
            "value projected before it")


# A not-projected refusal as a ReplicaSet's FailedCreate condition quotes it; `ironflow status`
# reads it back to name the names and where to look (a unit test round-trips it).
_UNPROJECTED: Final = re.compile(
    r"(?P<kind>secret|config) (?P<name>[-._a-zA-Z0-9]+) \((?:IronflowSecret|IronflowConfig) "
    r"(?P<resource>[-.a-z0-9]+)\): (?:never projected|not projected yet)"
)


def unprojected_from_refusal(message: str) -> list[tuple[str, str, str]]:
    """(kind, NAME, resource) of each name a refusal says is not projected; [] for other refusals."""
    return [(m["kind"], m["name"], m["resource"]) for m in _UNPROJECTED.finditer(message)]
