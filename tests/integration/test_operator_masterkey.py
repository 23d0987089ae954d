"""The master key, live: rotation, loss, damage and repair, without restarting the operator."""

from __future__ import annotations

from kubernetes import client
from operator_fixtures import (
    Operator,
    apply_cr,
    configmap_data,
    get_cr,
    new_key,
    ready,
    sealed,
    secret_data,
    wait_event,
    wait_ready,
    wait_status,
)

from ironflow.core.crypto import derive_sealing_key, dev_value
from ironflow_testbed import eventually

pytest_plugins = ["operator_fixtures"]
SECRET, CONFIG = "IronflowSecret", "IronflowConfig"


def _sealing_mode(api: client.ApiClient, namespace: str, mode: str) -> dict[str, str] | None:
    data = configmap_data(api, namespace, "ironflow-sealing-key")
    return data if data and data.get("mode") == mode else None


def test_given_rotation_with_previous_keys_when_applied_live_then_old_and_new_values_unseal(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    old, new = new_key(), new_key()
    operator.set_master_key(old)
    operator.start()
    apply_cr(k8s_api, SECRET, namespace, "app", {"A": sealed(old, namespace, "A", "a-old")})
    wait_ready(k8s_api, SECRET, namespace, "app")

    operator.set_master_key(new, previous=old)
    new_kid = derive_sealing_key(bytes.fromhex(new)).kid
    eventually(
        lambda: (configmap_data(k8s_api, namespace, "ironflow-sealing-key") or {}).get("keyId") == new_kid,
        what="the new public key published",
    )
    apply_cr(
        k8s_api,
        SECRET,
        namespace,
        "app",
        {"A": sealed(old, namespace, "A", "a-old"), "B": sealed(new, namespace, "B", "b-new")},
    )
    cr = wait_ready(k8s_api, SECRET, namespace, "app")
    assert cr["status"]["names"]["B"]["keyId"] == new_kid
    assert secret_data(k8s_api, namespace, "app") == {"A": "a-old", "B": "b-new"}

    operator.set_master_key(new)  # the old key retired: A can no longer be unsealed
    cr = wait_ready(k8s_api, SECRET, namespace, "app", reason="UnsealFailed")
    assert cr["status"]["names"]["A"]["reason"] == "WrongKey"
    assert secret_data(k8s_api, namespace, "app") == {"A": "a-old", "B": "b-new"}
    # the change that stranded A says so, with a count and names, never a value
    warning = [line for line in operator.logs().splitlines() if "no longer accepted" in line]
    assert warning and "1 sealed value(s)" in warning[0] and f"{namespace}/app/A" in warning[0]
    assert "a-old" not in operator.logs()


def test_given_master_key_deleted_without_dev_mode_when_reconciled_then_no_master_key_and_all_kept(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key = new_key()
    operator.set_master_key(key)
    run = operator.start()
    apply_cr(k8s_api, SECRET, namespace, "app", {"A": sealed(key, namespace, "A", "kept")})
    apply_cr(k8s_api, CONFIG, namespace, "app", {"C": 1})
    wait_ready(k8s_api, SECRET, namespace, "app")
    wait_ready(k8s_api, CONFIG, namespace, "app")

    operator.delete_master_key()
    cr = wait_ready(k8s_api, SECRET, namespace, "app", reason="NoMasterKey")
    assert cr["status"]["mode"] == "no-key"
    assert cr["status"]["names"]["A"]["reason"] == "NoMasterKey"
    assert secret_data(k8s_api, namespace, "app") == {"A": "kept"}
    wait_event(k8s_api, namespace, "app", "NoMasterKey")
    wait_ready(k8s_api, CONFIG, namespace, "app")  # a config needs no key: still Ready
    data = eventually(
        lambda: _sealing_mode(k8s_api, namespace, "no-key"), what="sealing key ConfigMap: no-key"
    )
    assert "publicKey" not in data and "signature" not in data
    anchor = configmap_data(k8s_api, operator.operator_namespace, "ironflow-signing-key") or {}
    assert anchor.get("mode") == "no-key" and "signerKey" not in anchor
    assert 'ironflow_master_key_mode{mode="no-key"} 1.0' in run.metrics()
    assert "1 sealed value(s)" in operator.logs() and "DEVELOPMENT MODE" not in operator.logs()
    # a dev-form value is not "development mode" here: nothing new is unsealed
    apply_cr(
        k8s_api, SECRET, namespace, "app", {"A": sealed(key, namespace, "A", "kept"), "B": dev_value("plain")}
    )
    cr = wait_status(
        k8s_api, SECRET, namespace, "app", lambda c: "B" in c["status"].get("names", {}), "B seen"
    )
    assert cr["status"]["names"]["B"]["reason"] == "NoMasterKey"
    assert secret_data(k8s_api, namespace, "app") == {"A": "kept"}

    apply_cr(k8s_api, SECRET, namespace, "app", {"A": sealed(key, namespace, "A", "kept")})
    operator.set_master_key(key)
    cr = wait_ready(k8s_api, SECRET, namespace, "app")
    wait_ready(k8s_api, CONFIG, namespace, "app")
    assert secret_data(k8s_api, namespace, "app") == {"A": "kept"}
    # the fault is over: no stale reason left behind in status.names
    assert cr["status"]["names"]["A"]["state"] == "Projected" and "reason" not in cr["status"]["names"]["A"]


def test_given_malformed_master_key_when_applied_then_nothing_unsealed_everything_kept_until_fixed(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    key = new_key()
    operator.set_master_key(key)
    operator.start()
    apply_cr(k8s_api, SECRET, namespace, "app", {"A": sealed(key, namespace, "A", "kept")})
    wait_ready(k8s_api, SECRET, namespace, "app")

    operator.set_master_key("not-hex-and-too-short")
    cr = wait_ready(k8s_api, SECRET, namespace, "app", reason="MasterKeyInvalid")
    assert cr["status"]["mode"] == "invalid-key"
    assert "characters" in ready(cr)["message"] and "not-hex" not in ready(cr)["message"]
    wait_event(k8s_api, namespace, "app", "MasterKeyInvalid")
    data = eventually(lambda: _sealing_mode(k8s_api, namespace, "invalid-key"), what="invalid-key published")
    assert "publicKey" not in data
    # a change made while the key is broken is not unsealed, and nothing projected is lost
    apply_cr(k8s_api, SECRET, namespace, "app", {"A": sealed(key, namespace, "A", "newer")})
    wait_ready(k8s_api, SECRET, namespace, "app", reason="MasterKeyInvalid")
    assert secret_data(k8s_api, namespace, "app") == {"A": "kept"}

    operator.set_master_key(key)
    wait_ready(k8s_api, SECRET, namespace, "app")
    assert secret_data(k8s_api, namespace, "app") == {"A": "newer"}
    eventually(lambda: _sealing_mode(k8s_api, namespace, "keyed"), what="keyed published again")


def test_given_no_master_key_when_started_without_dev_mode_then_no_master_key_and_dev_values_refused(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    operator.start()
    apply_cr(k8s_api, SECRET, namespace, "app", {"A": dev_value("plain")})
    cr = wait_ready(k8s_api, SECRET, namespace, "app", reason="NoMasterKey")
    assert cr["status"]["mode"] == "no-key" and cr["status"]["names"]["A"]["reason"] == "NoMasterKey"
    assert not secret_data(k8s_api, namespace, "app")  # nothing unsealed into it
    eventually(lambda: _sealing_mode(k8s_api, namespace, "no-key"), what="no-key published")
    assert "NoMasterKey" in operator.current.output() and "DEVELOPMENT MODE" not in operator.current.output()


def test_given_no_master_key_when_started_with_dev_mode_then_dev_mode_accepts_dev_values_and_marks_every_cr(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    operator.start("--dev-mode")
    assert "DEVELOPMENT MODE" in operator.current.output()
    apply_cr(k8s_api, SECRET, namespace, "app", {"A": dev_value("plain")})
    apply_cr(k8s_api, CONFIG, namespace, "app", {"C": "x"})
    cr = wait_ready(k8s_api, SECRET, namespace, "app", reason="DevMode")
    assert cr["status"]["mode"] == "dev"
    wait_ready(k8s_api, CONFIG, namespace, "app", reason="DevMode")
    assert secret_data(k8s_api, namespace, "app") == {"A": "plain"}
    assert wait_event(k8s_api, namespace, "app", "DevMode").type == "Warning"
    data = eventually(lambda: _sealing_mode(k8s_api, namespace, "dev"), what="dev mode published")
    assert "publicKey" not in data

    key = new_key()
    operator.set_master_key(key)  # leaving dev mode: dev-form values are refused, the value stays
    cr = wait_ready(k8s_api, SECRET, namespace, "app", reason="UnsealFailed")
    assert cr["status"]["names"]["A"]["reason"] == "DevValueRefused"
    assert secret_data(k8s_api, namespace, "app") == {"A": "plain"}


def test_given_operator_started_without_key_when_config_applied_then_projected_and_ready(
    operator: Operator, namespace: str, k8s_api: client.ApiClient
) -> None:
    operator.start()  # no master key Secret and no --dev-mode: mode no-key
    eventually(lambda: _sealing_mode(k8s_api, namespace, "no-key"), what="sealing key ConfigMap: no-key")
    apply_cr(k8s_api, CONFIG, namespace, "app", {"HTTP_TIMEOUT_MS": 2500, "MODE": "fast"})

    cr = wait_ready(k8s_api, CONFIG, namespace, "app")  # Ready=True: a config needs no key
    assert cr["status"]["mode"] == "no-key"
    assert configmap_data(k8s_api, namespace, "app") == {"HTTP_TIMEOUT_MS": "2500", "MODE": "fast"}
    apply_cr(k8s_api, CONFIG, namespace, "app", {"HTTP_TIMEOUT_MS": 3000, "MODE": "fast"})
    eventually(
        lambda: (configmap_data(k8s_api, namespace, "app") or {}).get("HTTP_TIMEOUT_MS") == "3000",
        what="ConfigMap updated",
    )
    assert ready(get_cr(k8s_api, CONFIG, namespace, "app"))["status"] == "True"
