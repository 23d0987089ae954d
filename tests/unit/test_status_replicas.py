"""`ironflow status`'s replicas: rows from member Leases, judged against a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ironflow.cli.replicas import replicas, replicas_human
from ironflow.core.lease import MICROTIME, HolderPod, Liveness, liveness, parse_lease
from ironflow.core.members import parse_member, replica_rows, replicas_summary
from ironflow.k8s.sync_errors import Forbidden

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def member(replica: str, renewed_ago: float, *, view: str | None = None, namespaces: str | None = "3",
           resources: str | None = "40", pod: bool = True, duration: int = 15) -> dict[str, Any]:
    notes: dict[str, str] = {}
    if view is not None:
        notes["ironflow.dev/view"] = view
    if namespaces is not None:
        notes["ironflow.dev/share-namespaces"] = namespaces
    if resources is not None:
        notes["ironflow.dev/share-resources"] = resources
    if pod:
        notes.update(HolderPod("ironflow-system", replica, f"uid-{replica}").annotations())
    renewed = (NOW - timedelta(seconds=renewed_ago)).strftime(MICROTIME)
    return {"metadata": {"name": f"ironflow-operator-member-{replica}", "resourceVersion": "7",
                         "labels": {"ironflow.dev/member-of": "ironflow-operator",
                                    "app.kubernetes.io/managed-by": "ironflow-operator"},
                         "annotations": notes},
            "spec": {"holderIdentity": replica, "leaseDurationSeconds": duration,
                     "renewTime": renewed, "acquireTime": renewed}}


def leader(holder: str, renewed_ago: float = 1) -> Liveness:
    lease = member(holder, renewed_ago)
    return liveness(parse_lease(lease), NOW)


def test_given_two_live_and_one_expired_member_when_rowed_then_state_age_share_and_leader() -> None:
    leases = [member("b", 3, view="a,b"), member("a", 1, view="b,a", namespaces="5", resources="70"),
              member("c", 40, view="a,b,c")]
    rows = replica_rows(leases, leader("a"), NOW)
    assert [(r["replica"], r["state"], r["leader"]) for r in rows] == [
        ("a", "live", True), ("b", "live", False), ("c", "expired", False)]
    a = rows[0]
    assert (a["namespaces"], a["resources"], a["ageSeconds"], a["pod"]) == (5, 70, 1.0, "ironflow-system/a")
    assert a["view"] == ["a", "b"] and a["viewAgrees"]
    assert rows[2]["view"] == ["a", "b", "c"] and not rows[2]["viewAgrees"]
    assert replicas_summary(rows) == "replicas: 2 live of 3, sharing 8 namespace(s) and 110 resource(s)"


def test_given_stale_leader_lease_when_rowed_then_no_replica_is_called_leader() -> None:
    rows = replica_rows([member("a", 1)], leader("a", renewed_ago=60), NOW)
    assert rows[0]["leader"] is False


def test_given_replica_id_apart_from_leader_identity_when_rowed_then_same_pod_is_the_leader() -> None:
    chief = Liveness("alive", "a-1f2e", NOW, 1.0, 15, HolderPod("ironflow-system", "a", "uid-a"))
    rows = replica_rows([member("a", 1), member("b", 1)], chief, NOW)
    assert [r["leader"] for r in rows] == [True, False]


def test_given_member_without_annotations_or_pod_when_rowed_then_dashes_not_zeros() -> None:
    rows = replica_rows([member("x", 2, namespaces=None, resources="many", pod=False)], leader("y"), NOW)
    row = rows[0]
    assert (row["namespaces"], row["resources"], row["pod"], row["view"]) == (None, None, None, [])
    text = replicas_human({"state": "listed", "members": rows}, wide=False)
    header, line = text.splitlines()[1:]
    assert header.split() == ["REPLICA", "LEASE", "RENEWED", "NAMESPACES", "RESOURCES", "VIEW"]
    assert line.split() == ["x", "live", "2s", "ago", "-", "-", "-"]


def test_given_replica_ids_apart_from_pod_names_when_shown_then_pod_column_else_not() -> None:
    chart = replica_rows([member("a", 1), member("b", 1)], leader("a"), NOW)
    assert "POD" not in replicas_human({"state": "listed", "members": chart}, wide=False)
    apart = member("make-run-1", 1)
    apart["metadata"]["annotations"]["ironflow.io/holder-pod"] = "ironflow-system/ironflow-operator-x"
    rows = replica_rows([apart, member("b", 1, pod=False)], leader("b"), NOW)
    header, first, second = replicas_human({"state": "listed", "members": rows}, wide=False).splitlines()[1:]
    assert header.split()[:3] == ["REPLICA", "POD", "LEASE"]
    assert first.split()[:3] == ["b", "(leader)", "-"]
    assert second.split()[:2] == ["make-run-1", "ironflow-system/ironflow-operator-x"]


def test_given_lease_without_holder_when_parsed_then_not_a_member() -> None:
    lease = member("a", 1)
    lease["spec"]["holderIdentity"] = ""
    assert parse_member(lease) is None
    assert replica_rows([lease], leader("a"), NOW) == []


def test_given_no_members_when_shown_then_sharding_off_is_said() -> None:
    text = replicas_human({"state": "listed", "members": []}, wide=False)
    assert text == "replicas: no member Leases (sharding off): the leader reconciles every served namespace"


def test_given_members_when_shown_then_agreeing_view_is_summarised_and_a_diverging_one_listed() -> None:
    long_ids = [f"ironflow-operator-6d5f7c9b8-{n:05d}" for n in range(3)]
    leases = [member(long_ids[0], 1, view=",".join(long_ids[:2])),
              member(long_ids[1], 1, view=",".join(long_ids))]
    rows = replica_rows(leases, leader(long_ids[0]), NOW)
    narrow = replicas_human({"state": "listed", "members": rows}, wide=False).splitlines()
    assert narrow[2].startswith(f"{long_ids[0]} (leader)") and narrow[2].endswith("all 2 live")
    assert narrow[3].endswith("…") and ",".join(long_ids) not in narrow[3]
    wide = replicas_human({"state": "listed", "members": rows}, wide=True).splitlines()
    assert wide[3].endswith(",".join(long_ids))


class _Client:
    """Answers the two reads the section makes: the member Lease list and the leader Lease."""

    def __init__(self, items: list[dict[str, Any]] | None) -> None:
        self.items, self.asked = items, []

    def request(self, method: str, path: str, query: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        self.asked.append((method, path, query))
        if self.items is None:
            raise Forbidden("leases is forbidden")
        if path.endswith("/leases"):
            return {"items": self.items}
        return member("a", 1)


def test_given_cluster_when_section_read_then_members_are_listed_by_the_release_label() -> None:
    client = _Client([member("a", 1, view="a")])
    section = replicas(client, "ironflow-system", "ironflow-operator", lambda: NOW)  # type: ignore[arg-type]
    assert client.asked[0] == ("GET", "/apis/coordination.k8s.io/v1/namespaces/ironflow-system/leases",
                               [("labelSelector", "app.kubernetes.io/managed-by=ironflow-operator,"
                                                  "ironflow.dev/member-of=ironflow-operator")])
    assert section["state"] == "listed" and [r["leader"] for r in section["members"]] == [True]


def test_given_leases_forbidden_when_section_read_then_unknown_not_an_error() -> None:
    section = replicas(_Client(None), "ironflow-system", "ironflow-operator", lambda: NOW)  # type: ignore[arg-type]
    assert section["state"] == "unknown" and section["members"] == []
    assert replicas_human(section, wide=False).startswith("replicas: unknown (not allowed to list Leases")
