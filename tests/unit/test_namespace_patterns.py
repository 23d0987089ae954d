"""The namespaces kopf watches are exactly the ones the operator serves.

kopf's own matcher is the oracle: every namespace is checked against what `kopf_patterns` hands
to kopf and against `matches`, which the publisher and the webhook use.
"""

from __future__ import annotations

import pytest
from kopf._cogs.structs.references import match_namespace

from ironflow.controller.namespaces import kopf_patterns, matches

NAMESPACES = ["team-a", "team-legacy", "team-b-lost", "other", "default", "kube-system", "t-late"]
PATTERNS = [
    ("team-*",),
    ("team-*", "!team-legacy"),
    ("team-*", "t-*", "!team-legacy", "!*-lost"),
    ("!kube-*",),
    ("!kube-*", "!default"),
    ("team-a", "other"),
    ("t-l*", "!t-lost"),
]


@pytest.mark.parametrize("patterns", PATTERNS, ids=lambda p: " ".join(p))
def test_given_patterns_when_handed_to_kopf_then_kopf_watches_exactly_the_served_namespaces(
    patterns: tuple[str, ...],
) -> None:
    handed = kopf_patterns(patterns)
    for namespace in NAMESPACES:
        kopf_watches = any(match_namespace(namespace, p) for p in handed)
        assert kopf_watches == matches(patterns, namespace), (namespace, handed)


def test_given_include_and_exclusion_when_listed_raw_then_kopf_would_watch_everything_else() -> None:
    # Why the translation exists: kopf ORs its entries, so the raw list over-matches.
    raw = ["team-*", "!team-legacy"]
    assert all(any(match_namespace(ns, p) for p in raw) for ns in ("other", "kube-system"))
    assert not any(matches(tuple(raw), ns) for ns in ("other", "kube-system"))


def test_given_no_patterns_when_translated_then_nothing_is_handed_over() -> None:
    assert kopf_patterns(()) == []
    assert kopf_patterns(("a", "!b")) == ["a, !b"]
