"""`ironflow secret ...` against the real API server, run as the program a user types."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cli_support import BINARY, Cli, assert_one_line_error, publish_sealing_key, spec_map
from kubernetes import client

from ironflow.core.crypto import unseal
from ironflow.core.keyring import Keyring
from ironflow_testbed.cluster import Cluster

pytest_plugins = ["cli_fixtures"]

SECRETS = "ironflowsecrets"


def test_given_published_key_when_secret_set_from_stdin_then_sealed_value_unseals_and_list_shows_no_value(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring
) -> None:
    result = cli.ok("secret", "set", "DB_PASSWORD", "--env", namespace, "-", stdin="pa55-w0rd\n")
    assert "DB_PASSWORD" in result.stdout and namespace in result.stdout

    sealed = spec_map(k8s_api, namespace, SECRETS)["DB_PASSWORD"]
    assert keyring.current is not None and sealed.startswith(f"ifs:v1:{keyring.current.kid}:")
    assert unseal(keyring, namespace, "DB_PASSWORD", sealed, allow_dev=False) == b"pa55-w0rd"

    listing = cli.ok("secret", "list", "--env", namespace)
    assert "DB_PASSWORD" in listing.stdout and keyring.current.kid in listing.stdout
    assert "pa55-w0rd" not in listing.stdout + listing.stderr and sealed not in listing.stdout
    rows = json.loads(cli.ok("secret", "list", "--env", namespace, "-o", "json").stdout)
    assert rows == [
        {
            "name": "DB_PASSWORD",
            "resource": "app",
            "keyId": keyring.current.kid,
            "state": "Pending",
            "reason": "",
            "message": "",
            "lastChanged": "",
        }
    ]


def test_given_two_names_when_one_is_unset_then_the_other_stays(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring
) -> None:
    cli.ok("secret", "set", "A", "one", "--env", namespace, "-r", "payments")
    cli.ok("secret", "set", "B", "two", "--env", namespace, "-r", "payments")
    cli.ok("secret", "unset", "A", "--env", namespace, "-r", "payments")
    assert set(spec_map(k8s_api, namespace, SECRETS, "payments")) == {"B"}
    again = cli("secret", "unset", "A", "--env", namespace, "-r", "payments")
    assert_one_line_error(again, 1, "secret A is not set in IronflowSecret payments")


def test_given_many_concurrent_secret_sets_when_all_finish_then_every_name_landed(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring
) -> None:
    for round_ in range(3):
        resource = f"race-{round_}"  # absent at first: the creations race too
        names = [f"NAME_{round_}_{i}" for i in range(4)]
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            runs = list(
                pool.map(
                    lambda n, r=resource: cli("secret", "set", n, f"v-{n}", "--env", namespace, "-r", r),
                    names,
                )
            )
        assert [r.code for r in runs] == [0] * len(names), [r.stderr for r in runs]
        stored = spec_map(k8s_api, namespace, SECRETS, resource)
        assert set(stored) == set(names)
        for name in names:
            assert unseal(keyring, namespace, name, stored[name], allow_dev=False) == f"v-{name}".encode()


def test_given_no_sealing_key_when_secret_set_then_one_line_reason_and_nothing_written(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    result = cli("secret", "set", "DB_PASSWORD", "x", "--env", namespace)
    assert_one_line_error(
        result, 1, f"no sealing key published in environment {namespace} yet", "--public-key FILE"
    )
    listed = client.CustomObjectsApi(k8s_api).list_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, SECRETS
    )
    assert listed["items"] == []


def test_given_unknown_environment_when_any_command_then_unknown_environment_reason(cli: Cli) -> None:
    for args in (["secret", "set", "A", "x"], ["secret", "list"], ["config", "set", "A", "1"], ["status"]):
        result = cli(*args, "--env", "no-such-env-here")
        assert_one_line_error(result, 1, "unknown environment no-such-env-here")


def test_given_dev_mode_when_secret_set_without_dev_flag_then_refused_and_nothing_written(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    publish_sealing_key(k8s_api, namespace, mode="dev")
    result = cli("secret", "set", "TOKEN", "-", "--env", namespace, stdin="plain-canary")
    assert_one_line_error(result, 1, "development mode", "--dev")
    assert "plain-canary" not in result.stdout + result.stderr
    assert_one_line_error(cli("secret", "seal", "TOKEN", "x", "--env", namespace), 1, "--dev")
    listed = client.CustomObjectsApi(k8s_api).list_namespaced_custom_object(
        "ironflow.io", "v1alpha1", namespace, SECRETS
    )
    assert listed["items"] == []


def test_given_dev_mode_when_secret_set_with_dev_flag_then_dev_form_stored_with_warning(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    publish_sealing_key(k8s_api, namespace, mode="dev")
    result = cli.ok("secret", "set", "TOKEN", "-", "--dev", "--env", namespace, stdin="abc")
    assert "plaintext" in result.stderr and "no master key" in result.stderr
    assert spec_map(k8s_api, namespace, SECRETS) == {"TOKEN": "dev:abc"}


def test_given_invalid_key_mode_when_secret_set_then_refused(
    cli: Cli, k8s_api: client.ApiClient, namespace: str
) -> None:
    publish_sealing_key(k8s_api, namespace, mode="invalid-key")
    assert_one_line_error(
        cli("secret", "set", "TOKEN", "x", "--env", namespace), 1, "master key is malformed"
    )


def test_given_exported_public_key_when_sealing_offline_then_no_cluster_needed_and_operator_can_unseal(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring, tmp_path: Path
) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(cli.ok("secret", "public-key", "--env", namespace).stdout)
    offline = subprocess.run(
        [
            str(BINARY),
            "secret",
            "seal",
            "API_TOKEN",
            "tok",
            "--env",
            namespace,
            "--public-key",
            str(key_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "HOME": str(tmp_path),
            "KUBECONFIG": str(tmp_path / "no-such-kubeconfig"),
            "PATH": "/usr/bin:/bin",
        },
    )
    assert offline.returncode == 0, offline.stderr
    assert unseal(keyring, namespace, "API_TOKEN", offline.stdout.strip(), allow_dev=False) == b"tok"


def test_given_user_without_permissions_when_secret_list_then_exit_3_refused(
    cli: Cli, cluster: Cluster, k8s_api: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    nobody = cluster.service_account_kubeconfig(
        k8s_api, namespace, "nobody", tmp_path / "nobody.yaml", rules=[]
    )
    result = cli("secret", "list", "--env", namespace, kubeconfig=nobody)
    assert_one_line_error(result, 3, "the cluster refused the request")


def test_given_user_with_namespaced_role_when_secret_set_then_it_works_without_reading_namespaces(
    cli: Cli, cluster: Cluster, k8s_api: client.ApiClient, namespace: str, keyring: Keyring, tmp_path: Path
) -> None:
    rules = [
        {"apiGroups": ["ironflow.io"], "resources": [SECRETS], "verbs": ["get", "list", "create", "patch"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": ["get"],
            "resourceNames": ["ironflow-sealing-key"],
        },
    ]
    ci = cluster.service_account_kubeconfig(k8s_api, namespace, "ci", tmp_path / "ci.yaml", rules=rules)
    result = cli("secret", "set", "CI_TOKEN", "x", "--env", namespace, kubeconfig=ci)
    assert result.code == 0, result.stderr
    assert set(spec_map(k8s_api, namespace, SECRETS)) == {"CI_TOKEN"}


def _talk(fd: int, replies: list[tuple[bytes, bytes]], timeout: float = 60.0) -> bytes:
    """Answer prompts on a pseudo-terminal as a person would, until the program closes it;
    returns everything the terminal showed."""
    seen = b""
    deadline = time.monotonic() + timeout
    pending = list(replies)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        if pending and pending[0][0] in seen:
            os.write(fd, pending.pop(0)[1])
    return seen


def _reap(pid: int, timeout: float = 30.0) -> int:
    """Wait for our child to exit; if it still waits for input after `timeout`, end it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return status
        time.sleep(0.05)  # polling the exit condition, bounded by the deadline
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def test_given_terminal_when_secret_set_with_dash_then_prompt_hides_and_confirms_the_value(
    cli: Cli, k8s_api: client.ApiClient, namespace: str, keyring: Keyring
) -> None:
    env = {
        "HOME": str(cli.home),
        "KUBECONFIG": str(cli.kubeconfig),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }
    out_r, out_w = os.pipe()  # stdout is a pipe (a script reading -o json); stdin and stderr the terminal
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on a real terminal
        os.dup2(out_w, 1)
        args = [str(BINARY), "secret", "set", "TYPED", "--env", namespace, "-", "-o", "json"]
        os.execve(str(BINARY), args, env)
    os.close(out_w)
    try:
        shown = _talk(fd, [(b"Value for TYPED", b"typed-v4lue\n"), (b"Repeat", b"typed-v4lue\n")])
    finally:
        status = _reap(pid)
        os.close(fd)
    with os.fdopen(out_r, "rb") as out:
        printed = out.read()
    assert os.waitstatus_to_exitcode(status) == 0, shown
    assert b"Value for TYPED" in shown and b"typed-v4lue" not in shown + printed
    assert json.loads(printed)["name"] == "TYPED"  # the prompts did not go to stdout
    sealed = spec_map(k8s_api, namespace, SECRETS)["TYPED"]
    assert unseal(keyring, namespace, "TYPED", sealed, allow_dev=False) == b"typed-v4lue"
