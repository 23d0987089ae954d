"""Hints for a declaration that asks for a name under the wrong kind.

A pod declaring `ironflow.io/configs: DB_PASSWORD` while the environment defines DB_PASSWORD as a
secret gets nothing (optional) or is refused (required), and neither tells the author why. The
webhook adds these hints as admission warnings, and to the refusal message. Names only: no value
is ever read here.
"""

from __future__ import annotations

from ironflow.core.declarations import CONFIGS_ANNOTATION, SECRETS_ANNOTATION, Declaration, Kind
from ironflow.core.environment_view import EnvironmentView

_OTHER: dict[Kind, Kind] = {"secret": "config", "config": "secret"}
_ANNOTATION: dict[Kind, str] = {"secret": SECRETS_ANNOTATION, "config": CONFIGS_ANNOTATION}


def kind_hints(declaration: Declaration, view: EnvironmentView) -> list[str]:
    """One hint per declared name that its kind does not define but the other kind does."""
    out = []
    for d in declaration.names:
        other = _OTHER[d.kind]
        if view.source(d.kind, d.name) is None and view.source(other, d.name) is not None:
            out.append(
                f"{d.name} is declared in {_ANNOTATION[d.kind]}, but environment {view.namespace} defines "
                f"it only as a {other}: declare it in {_ANNOTATION[other]}"
            )
    return out
