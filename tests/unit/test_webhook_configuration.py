"""The rendered MutatingWebhookConfiguration: the blast radius decided in one place."""

from __future__ import annotations

import base64

from ironflow.webhook.configuration import (
    DECLARES_EXPRESSION,
    ClientTarget,
    WebhookParameters,
    main,
    render_configuration,
)


def test_given_url_target_when_rendered_then_declared_pods_only_fail_closed_and_namespaces_excluded() -> None:
    body = render_configuration(
        WebhookParameters(ClientTarget(url="https://127.0.0.1:9443"), "ironflow-system", ca_bundle=b"CA")
    )
    declarations, enforcement = body["webhooks"]
    assert declarations["clientConfig"] == {
        "url": "https://127.0.0.1:9443/mutate-pods",
        "caBundle": base64.b64encode(b"CA").decode(),
    }
    assert declarations["failurePolicy"] == "Fail"
    assert declarations["timeoutSeconds"] <= 10
    assert declarations["sideEffects"] == "None"
    assert declarations["matchConditions"] == [{"name": "declares-names", "expression": DECLARES_EXPRESSION}]
    assert declarations["namespaceSelector"]["matchExpressions"] == [
        {
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": ["ironflow-system", "kube-system"],
        }
    ]
    assert enforcement["namespaceSelector"]["matchLabels"] == {"ironflow.io/enforce": "true"}
    assert enforcement["clientConfig"]["url"].endswith("/enforce-pods")


def test_given_service_target_when_rendered_then_service_client_config_without_url() -> None:
    body = render_configuration(
        WebhookParameters(ClientTarget(service_namespace="ops", service_name="ironflow-webhook"), "ops")
    )
    config = body["webhooks"][0]["clientConfig"]
    assert config == {
        "service": {"namespace": "ops", "name": "ironflow-webhook", "path": "/mutate-pods", "port": 443}
    }


def test_given_cli_when_printed_then_yaml_names_the_configuration(capsys: object) -> None:
    assert main(["--operator-namespace", "ops"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "name: ironflow-pod-declarations" in out
    assert "kind: MutatingWebhookConfiguration" in out
