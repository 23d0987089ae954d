"""Exec credential plugins: parsing as client-go does, running a real plugin, caching its credential."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ironflow.k8s import exec_plugin
from ironflow.k8s.credentials import CredentialSource, refresh_time
from ironflow.k8s.exec_plugin import ExecConfig, ExecPluginError, parse
from ironflow.k8s.kubeconfig import Endpoint, KubeconfigError

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
CANARY = "canary-exec-token-5b1f"

PLUGIN = """\
import json, os, sys
state = sys.argv[1]
runs = open(os.path.join(state, "runs"), "a+")
runs.seek(0)
n = len(runs.readlines())
runs.write(json.dumps({"argv": sys.argv[2:], "env": os.environ.get("PLUGIN_ENV"),
                       "info": json.loads(os.environ["KUBERNETES_EXEC_INFO"]),
                       "stdin_tty": sys.stdin.isatty()}) + "\\n")
runs.close()
plan = json.load(open(os.path.join(state, "plan")))
step = plan[min(n, len(plan) - 1)]
sys.stderr.write(step.get("stderr", ""))
if "sleep" in step:
    import time; time.sleep(step["sleep"])
sys.stdout.write(step["stdout"] if isinstance(step.get("stdout"), str) else json.dumps(step["stdout"]))
sys.exit(step.get("exit", 0))
"""


def _credential(status: dict[str, Any], version: str = V1) -> dict[str, Any]:
    return {"apiVersion": version, "kind": "ExecCredential", "status": status}


class Plugin:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.script = directory / "plugin.py"
        self.script.write_text(PLUGIN)

    def plan(self, *steps: dict[str, Any]) -> None:
        (self.dir / "plan").write_text(json.dumps(list(steps)))

    def runs(self) -> list[dict[str, Any]]:
        path = self.dir / "runs"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def config(self, version: str = V1, **extra: Any) -> ExecConfig:
        spec = {"apiVersion": version, "command": sys.executable, "interactiveMode": "Never",
                "args": [str(self.script), str(self.dir), "--flag"],
                "env": [{"name": "PLUGIN_ENV", "value": "x"}],
                **extra}
        cluster = exec_plugin.cluster_info({"server": "https://k:6443"}, b"CA PEM")
        return parse(spec, self.dir, "kubeconfig k, context c", cluster)


@pytest.fixture
def plugin(tmp_path: Path) -> Plugin:
    return Plugin(tmp_path)


def _stamp(seconds: float) -> str:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("spec", "message"), [
    ({"apiVersion": V1, "command": "x"}, "interactiveMode 'unset'"),
    ({"apiVersion": V1, "command": "x", "interactiveMode": "Always"}, "has no terminal"),
    ({"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "x"}, "is not supported"),
    ({"apiVersion": V1BETA1}, "names no command"),
])
def test_given_an_exec_section_kubectl_refuses_when_parsed_then_one_line_naming_the_context(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(KubeconfigError, match=message) as raised:
        parse(spec, Path("/k"), "kubeconfig k, context c", None)
    assert "context c" in str(raised.value) and "\n" not in str(raised.value)


def test_given_commands_when_parsed_then_a_relative_path_is_resolved_against_the_kubeconfig() -> None:
    base = Path("/home/u/.kube")
    relative = parse({"apiVersion": V1BETA1, "command": "bin/p"}, base, "w", None)
    assert relative.command == "/home/u/.kube/bin/p"
    assert parse({"apiVersion": V1BETA1, "command": "aws"}, base, "w", None).command == "aws"  # from PATH
    cluster = exec_plugin.cluster_info(
        {"server": "https://k", "tls-server-name": "n", "proxy-url": "http://p:3128",
         "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "a"}}]},
        b"CA")
    assert parse({"apiVersion": V1BETA1, "command": "p"}, base, "w", cluster).cluster is None
    given = parse({"apiVersion": V1BETA1, "command": "p", "provideClusterInfo": True}, base, "w", cluster)
    assert given.cluster == {"server": "https://k", "tls-server-name": "n", "proxy-url": "http://p:3128",
                             "certificate-authority-data": base64.b64encode(b"CA").decode(),
                             "config": {"audience": "a"}}


def test_given_a_plugin_when_run_then_args_env_exec_info_and_no_terminal(plugin: Plugin) -> None:
    plugin.plan({"stdout": _credential({"token": CANARY, "expirationTimestamp": "2030-01-02T03:04:05Z"})})
    result = asyncio.run(exec_plugin.run(plugin.config(provideClusterInfo=True)))
    assert result.token == CANARY and result.certificate is None
    assert result.expires == datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    [run] = plugin.runs()
    assert run["argv"] == ["--flag"] and run["env"] == "x" and run["stdin_tty"] is False
    assert run["info"] == {"apiVersion": V1, "kind": "ExecCredential",
                           "spec": {"interactive": False, "cluster": {
                               "server": "https://k:6443",
                               "certificate-authority-data": base64.b64encode(b"CA PEM").decode()}}}


def test_given_a_client_certificate_when_run_then_pem_bytes(plugin: Plugin) -> None:
    plugin.plan({"stdout": _credential({"clientCertificateData": "CERT PEM", "clientKeyData": "KEY PEM"},
                                       V1BETA1)})
    result = asyncio.run(exec_plugin.run(plugin.config(V1BETA1)))
    assert (result.token, result.certificate, result.key) == (None, b"CERT PEM", b"KEY PEM")
    assert result.expires is None


@pytest.mark.parametrize(("step", "message"), [
    ({"stdout": "", "exit": 3, "stderr": "error: run 'cloud login' first\n"},
     "exited with 3: error: run 'cloud login' first"),
    ({"stdout": f"token {CANARY}"}, "did not print JSON"),
    ({"stdout": {"kind": "Other", "status": {"token": CANARY}}}, "did not print an ExecCredential"),
    ({"stdout": _credential({"token": CANARY}, V1BETA1)}, "printed apiVersion"),
    ({"stdout": _credential({})}, "neither a token nor a client certificate"),
    ({"stdout": _credential({"clientKeyData": CANARY})}, "without its key, or a key alone"),
    ({"stdout": _credential({"token": CANARY, "expirationTimestamp": "soon"})}, "not RFC 3339"),
    ({"stdout": _credential({"token": CANARY}), "sleep": 5}, "did not finish within 0.5s"),
])
def test_given_a_failing_plugin_when_run_then_an_error_naming_the_command_never_the_output(
    plugin: Plugin, step: dict[str, Any], message: str
) -> None:
    plugin.plan(step)
    with pytest.raises(ExecPluginError) as raised:
        asyncio.run(exec_plugin.run(plugin.config(), within=0.5))
    text = str(raised.value)
    assert message in text and sys.executable in text
    assert CANARY not in text and "\n" not in text


def test_given_an_expiry_when_the_refresh_time_is_computed_then_shortly_before_and_never_in_a_loop() -> None:
    assert refresh_time(1000.0, None) is None
    assert refresh_time(1000.0, 1000.0 + 3600) == 1000.0 + 3600 - 30  # at most 30 s early
    assert refresh_time(1000.0, 1004.0) == pytest.approx(1003.6)  # a tenth of a short lifetime
    assert refresh_time(1000.0, 900.0) == 1001.0  # already expired: again in a second, not at once


class Clock:
    def __init__(self) -> None:
        self.now = datetime.datetime.now(datetime.UTC).timestamp()  # the plugin's stamps are in real time

    def __call__(self) -> float:
        return self.now


def test_given_an_expiring_credential_when_asked_then_cached_until_shortly_before_expiry_and_401_reruns(
    plugin: Plugin,
) -> None:
    plugin.plan({"stdout": _credential({"token": "t1", "expirationTimestamp": _stamp(600)})},
                {"stdout": _credential({"token": "t2", "expirationTimestamp": _stamp(600)})},
                {"stdout": _credential({"token": "t3"})})
    clock = Clock()
    source = CredentialSource(Endpoint(server="https://k", exec=plugin.config()), clock)

    async def scenario() -> list[str | None]:
        tokens = [t.token for t in await asyncio.gather(*(source.current() for _ in range(5)))]
        clock.now += 500
        tokens.append((await source.current()).token)  # still well before expiry: cached
        clock.now += 80
        second = await source.current()  # within the last 30 s: run again
        tokens.append(second.token)
        assert source.invalidate(second)
        third = await source.current()
        assert source.invalidate(second)  # a 401 to the replaced credential: no new run
        tokens += [third.token, (await source.current()).token]
        clock.now += 10**6
        tokens.append((await source.current()).token)  # no expiry stated: kept until a 401
        return tokens

    assert asyncio.run(scenario()) == ["t1"] * 6 + ["t2", "t3", "t3", "t3"]
    assert len(plugin.runs()) == 3 and source.exec_runs == 3
