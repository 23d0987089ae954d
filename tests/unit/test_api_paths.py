"""Every name in an API path is one escaped segment: no traversal, no query, no forged segment."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironflow.k8s.paths import InvalidPathSegment, core_path, group_path, segment


@pytest.mark.parametrize("hostile", ["..", ".", "", "../secrets", "a/b", "%2F", "x%2e%2e", "/"])
def test_given_traversal_or_slash_when_made_a_segment_then_refused(hostile: str) -> None:
    with pytest.raises(InvalidPathSegment):
        segment(hostile)


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("dev", "dev"),
        ("app.v1", "app.v1"),
        ("x?watch=true", "x%3Fwatch%3Dtrue"),
        ("x#frag", "x%23frag"),
        ("a\nINFO forged", "a%0AINFO%20forged"),
        ("tab\tcr\r", "tab%09cr%0D"),
    ],
)
def test_given_name_when_made_a_segment_then_percent_encoded(name: str, escaped: str) -> None:
    assert segment(name) == escaped


def test_given_namespace_with_traversal_when_path_built_then_refused_before_any_request() -> None:
    with pytest.raises(InvalidPathSegment):
        group_path("ironflow.io/v1alpha1", "ironflowsecrets", "../../../api/v1/namespaces/x/secrets")
    with pytest.raises(InvalidPathSegment):
        core_path("secrets", "dev", "../../ironflow-system/secrets/ironflow-master-key")


def test_given_query_in_namespace_when_path_built_then_it_stays_inside_the_segment() -> None:
    path = group_path("ironflow.io/v1alpha1", "ironflowsecrets", "dev?labelSelector=x#")
    assert path == "/apis/ironflow.io/v1alpha1/namespaces/dev%3FlabelSelector%3Dx%23/ironflowsecrets"
    assert "?" not in path


def test_given_valid_names_when_path_built_then_layout_unchanged() -> None:
    assert core_path("namespaces") == "/api/v1/namespaces"
    assert core_path("configmaps", "dev", "app") == "/api/v1/namespaces/dev/configmaps/app"
    assert (
        group_path("ironflow.io/v1alpha1", "ironflowsecrets", "dev", "app", "status")
        == "/apis/ironflow.io/v1alpha1/namespaces/dev/ironflowsecrets/app/status"
    )


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_given_any_text_when_path_built_then_path_has_exactly_the_expected_segments(name: str) -> None:
    try:
        path = core_path("configmaps", name, name)
    except InvalidPathSegment:
        assert name in (".", "..") or "/" in name or "%" in name
        return
    parts = path.split("/")
    assert len(parts) == 7 and parts[:4] == ["", "api", "v1", "namespaces"] and parts[5] == "configmaps"
    assert not any(c in path for c in "?#\n\r ")


class _RecordingKube:
    def __init__(self) -> None:
        self.paths: list[str] = []

    async def get(self, path: str, **_: object) -> None:
        self.paths.append(path)

    async def request(self, _method: str, path: str, **_: object) -> dict[str, object]:
        self.paths.append(path)
        return {"items": []}


@pytest.mark.parametrize("namespace", ["../../api/v1/namespaces/ironflow-system/secrets/x", "dev/configs?"])
def test_given_hostile_namespace_when_webhook_reads_then_no_request_is_sent(namespace: str) -> None:
    import asyncio

    from ironflow.k8s import admission

    kube = _RecordingKube()
    with pytest.raises(InvalidPathSegment):
        asyncio.run(admission.list_environment(kube, namespace))  # type: ignore[arg-type]
    item = {"metadata": {"name": "app", "uid": "u"}}
    with pytest.raises(InvalidPathSegment):
        asyncio.run(admission.foreign_projections(kube, namespace, {"secret": [item]}))  # type: ignore[arg-type]
    assert kube.paths == []


def test_given_resource_name_with_traversal_when_cli_builds_path_then_user_error_not_traceback() -> None:
    from ironflow.cli.errors import EXIT_USER, translate
    from ironflow.k8s.sync_resources import CONFIGS, IronflowApi

    class _Client:
        def request(self, *_: object, **__: object) -> dict[str, object]:
            raise AssertionError("no request may be sent for such a name")

    with pytest.raises(InvalidPathSegment) as caught:
        IronflowApi(_Client()).get(CONFIGS, "dev", "../x")  # type: ignore[arg-type]
    translated = translate(caught.value)
    assert translated is not None and translated.exit_code == EXIT_USER
