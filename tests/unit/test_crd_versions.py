"""The operator's verdict on the cluster's CRDs: older (or unannotated) ones are the upgrade step
Helm skips; a newer one (a downgrade) is said but not counted as outdated."""

from __future__ import annotations

from typing import Any

import pytest

from ironflow.core.crd_versions import compare, release
from ironflow.core.model import CRD_VERSION_ANNOTATION


def _crd(version: str | None) -> dict[str, Any]:
    annotations = {CRD_VERSION_ANNOTATION: version} if version is not None else {}
    return {"metadata": {"name": "ironflowsecrets.ironflow.io", "annotations": annotations}}


@pytest.mark.parametrize(
    ("crd", "operator", "verdict"),
    [
        ("0.2.0", "0.2.0", "current"),
        ("0.1.0", "0.2.0", "older"),
        ("0.9.0", "0.10.0", "older"),  # numbers, not strings: 0.10 is newer than 0.9
        (None, "0.2.0", "older"),  # 0.1.0's CRDs carry no annotation
        ("0.3.0", "0.2.0", "newer"),
        ("0.2.0", "0+unknown", "unknown"),
    ],
)
def test_given_crd_and_operator_versions_when_compared_then_verdict_follows_release_order(
    crd: str | None, operator: str, verdict: str
) -> None:
    got, text = compare(_crd(crd), operator)
    assert got == verdict
    assert "ironflowsecrets.ironflow.io" in text
    if verdict == "older":
        assert "apply crds/" in text


def test_given_version_strings_when_parsed_then_only_x_y_z_is_a_release() -> None:
    assert release("0.10.2") == (0, 10, 2)
    assert release("0.2.0.dev1") is None
    assert release("") is None
