"""The missing report: names the source has plus names the target's workloads declare."""

from __future__ import annotations

from ironflow.cli.promote_gaps import declared_by_workloads, gaps


def workload(kind: str, name: str, annotations: dict[str, str]) -> tuple[str, dict[str, object]]:
    return kind, {
        "metadata": {"name": name},
        "spec": {"template": {"metadata": {"annotations": annotations}}},
    }


def test_given_workloads_when_declarations_read_then_required_names_with_their_workloads() -> None:
    declared = declared_by_workloads(
        [
            workload("Deployment", "web", {"ironflow.io/secrets": "A, B?", "ironflow.io/configs": "C"}),
            workload("StatefulSet", "db", {"ironflow.io/secrets": "A"}),
            workload("DaemonSet", "bad", {"ironflow.io/secrets": "A,,"}),
            workload("Deployment", "plain", {}),
        ]
    )
    assert declared == {
        ("secret", "A"): ["Deployment web", "StatefulSet db"],
        ("config", "C"): ["Deployment web"],
    }


def test_given_name_missing_in_source_and_target_when_target_declares_it_then_reported() -> None:
    report = gaps(
        "staging", {"X"}, set(), {"C"}, {("secret", "Y"): ["Deployment web"], ("config", "C"): ["D w"]}
    )
    assert report == [
        {"kind": "secret", "name": "X", "neededBy": ["defined in staging"]},
        {"kind": "secret", "name": "Y", "neededBy": ["declared by Deployment web"]},
    ]
