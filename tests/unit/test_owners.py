"""The one reader of a controller ownerReference (core/owners.py)."""

from __future__ import annotations

from typing import Any

from ironflow.core.owners import controller_reference

MINE = {"apiVersion": "ironflow.io/v1alpha1", "kind": "IronflowSecret", "name": "app", "uid": "u1",
        "controller": True}


def test_given_owners_and_one_controller_when_read_then_the_controller() -> None:
    meta = {"ownerReferences": [{**MINE, "uid": "u0", "controller": False}, MINE]}

    assert controller_reference(meta) == MINE


def test_given_a_controller_of_another_kind_or_group_when_read_for_a_kind_then_none() -> None:
    other_kind = {"ownerReferences": [{**MINE, "kind": "Deployment"}]}
    other_group = {"ownerReferences": [{**MINE, "apiVersion": "example.com/v1"}]}

    assert controller_reference(other_kind, "IronflowSecret") is None
    assert controller_reference(other_group, "IronflowSecret", "ironflow.io") is None
    assert controller_reference({"ownerReferences": [MINE]}, "IronflowSecret", "ironflow.io") == MINE


def test_given_no_controller_or_hostile_shapes_when_read_then_none() -> None:
    shapes: list[Any] = [None, [], {}, {"ownerReferences": None}, {"ownerReferences": "x"},
                         {"ownerReferences": [1, "x", None]},
                         {"ownerReferences": [{**MINE, "controller": False}]}]

    assert [controller_reference(meta) for meta in shapes] == [None] * len(shapes)
