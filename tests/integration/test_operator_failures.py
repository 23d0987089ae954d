"""Values that cannot be unsealed: the last good projection stays, status and Events say why."""

from __future__ import annotations

import pytest
from kubernetes import client
from operator_fixtures import (
    Operator,
    apply_cr,
    new_key,
    ready,
    sealed,
    secret_data,
    wait_event,
    wait_ready,
    wait_status,
)

from ironflow.core.crypto import dev_value, parse_sealed

pytest_plugins = ["operator_fixtures"]
SECRET = "IronflowSecret"


def _tamper(value: str) -> str:
    head, body = value.rsplit(":", 1)
    flipped = "A" if body[-5] != "A" else "B"
    return f"{head}:{body[:-5]}{flipped}{body[-4:]}"


def _malformed(key: str, namespace: str) -> str:
    kid = parse_sealed(sealed(key, namespace, "DB", "x")).kid
    return f"ifs:v1:{kid}:" + "A" * 81  # matches the CRD pattern, but is no valid body


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered", "AuthenticationFailed"),
        ("wrong-key", "WrongKey"),
        ("moved", "AuthenticationFailed"),
        ("malformed", "MalformedSealedValue"),
        ("dev-form", "DevValueRefused"),
    ],
)
def test_given_failing_value_when_unsealed_then_last_good_kept_and_reason_reported(
    operator: Operator, namespace: str, k8s_api: client.ApiClient, case: str, reason: str
) -> None:
    key = new_key()
    operator.set_master_key(key)
    operator.start()
    apply_cr(
        k8s_api,
        SECRET,
        namespace,
        "app",
        {"DB": sealed(key, namespace, "DB", "good"), "OTHER": sealed(key, namespace, "OTHER", "fine")},
    )
    good = wait_ready(k8s_api, SECRET, namespace, "app")
    bad = {
        "tampered": lambda: _tamper(sealed(key, namespace, "DB", "evil")),
        "wrong-key": lambda: sealed(new_key(), namespace, "DB", "evil"),
        "moved": lambda: sealed(key, "elsewhere", "DB", "evil"),
        "malformed": lambda: _malformed(key, namespace),
        "dev-form": lambda: dev_value("evil"),
    }[case]()
    apply_cr(k8s_api, SECRET, namespace, "app", {"DB": bad, "OTHER": sealed(key, namespace, "OTHER", "fine")})
    cr = wait_ready(k8s_api, SECRET, namespace, "app", reason="UnsealFailed")
    fact = cr["status"]["names"]["DB"]
    assert (fact["state"], fact["reason"]) == ("Failed", reason)
    assert fact["version"] == good["status"]["names"]["DB"]["version"]
    assert cr["status"]["names"]["OTHER"]["state"] == "Projected"
    assert "DB" in ready(cr)["message"]
    assert secret_data(k8s_api, namespace, "app") == {"DB": "good", "OTHER": "fine"}
    event = wait_event(k8s_api, namespace, "app", "UnsealFailed", "DB")
    assert event.type == "Warning" and "evil" not in (event.message or "")

    apply_cr(
        k8s_api,
        SECRET,
        namespace,
        "app",
        {"DB": sealed(key, namespace, "DB", "better"), "OTHER": sealed(key, namespace, "OTHER", "fine")},
    )
    wait_ready(k8s_api, SECRET, namespace, "app")
    assert secret_data(k8s_api, namespace, "app") == {"DB": "better", "OTHER": "fine"}


def test_given_failing_value_on_first_sight_when_nothing_projected_yet_then_name_left_out(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key = new_key()
    operator.set_master_key(key)
    operator.start()
    apply_cr(
        k8s_api,
        SECRET,
        namespace,
        "app",
        {"DB": sealed(new_key(), namespace, "DB", "x"), "OK": sealed(key, namespace, "OK", "y")},
    )
    cr = wait_status(
        k8s_api, SECRET, namespace, "app", lambda c: ready(c).get("reason") == "UnsealFailed", "UnsealFailed"
    )
    assert cr["status"]["names"]["DB"]["state"] == "Failed" and "version" not in cr["status"]["names"]["DB"]
    assert secret_data(k8s_api, namespace, "app") == {"OK": "y"}
