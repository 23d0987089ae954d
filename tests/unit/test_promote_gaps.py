"""The missing report: names the source has plus names the target's workloads declare."""

from __future__ import annotations

from pathlib import Path

import yaml

from ironflow.cli.promote_files import workloads_in_dir
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


def test_given_workloads_in_files_when_declarations_read_then_pods_jobs_cronjobs_count_with_their_file(
    tmp_path: Path,
) -> None:
    def annotated(names: str) -> dict[str, object]:
        return {"annotations": {"ironflow.io/secrets": names}}

    docs = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", **annotated("POD_ONLY")}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
         "spec": {"jobTemplate": {"spec": {"template": {"metadata": annotated("CRON_ONLY, OPT?")}}}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "seed", "namespace": "other"},
         "spec": {"template": {"metadata": annotated("OTHER_NAMESPACE")}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", **annotated("NOT_A_WORKLOAD")}},
    ]
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "jobs.yaml").write_text(yaml.safe_dump_all(docs))
    (tmp_path / "web.yml").write_text(yaml.safe_dump(workload("Deployment", "web", {
        "ironflow.io/secrets": "DB_PASSWORD", "ironflow.io/configs": "MODE"})[1] | {"kind": "Deployment"}))

    declared = declared_by_workloads(
        [workload("Deployment", "web", {"ironflow.io/secrets": "DB_PASSWORD"})],
        workloads_in_dir(tmp_path, "prod"),
    )

    assert declared == {
        ("secret", "CRON_ONLY"): ["CronJob nightly (base/jobs.yaml)"],
        ("secret", "DB_PASSWORD"): ["Deployment web", "Deployment web (web.yml)"],
        ("secret", "POD_ONLY"): ["Pod debug (base/jobs.yaml)"],
        ("config", "MODE"): ["Deployment web (web.yml)"],
    }
