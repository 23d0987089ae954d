"""Offline GitOps commands: seal -f (Secret manifests, dotenv, --merge-into), validate, completion, -n."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from ironflow.cli.configs import json_or_string
from ironflow.cli.errors import UserError
from ironflow.cli.kubecontext import NoContextNamespace, context_namespace
from ironflow.cli.main import cli
from ironflow.core.crypto import derive_sealing_key, sealing_key_configmap_data, unseal
from ironflow.core.key_publication import sealing_key_data
from ironflow.core.keyring import Keyring

MASTER = bytes.fromhex("6a" * 32)
KEYRING = Keyring.from_master_keys(MASTER)
CANARY = "canary-Zq81-plaintext"
NO_CLUSTER = {"KUBECONFIG": "/nonexistent/ironflow-unit-kubeconfig", "IRONFLOW_ENV": None}


def run(*args: str, stdin: str | None = None, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner(env={**NO_CLUSTER, **(env or {})}).invoke(
        cli, list(args), input=stdin, prog_name="ironflow"
    )


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key.pem"
    path.write_text(sealing_key_configmap_data(derive_sealing_key(MASTER))["publicKey"] + "\n")
    return path


def secret_manifest(namespace: str | None = "prod") -> str:
    meta: dict[str, object] = {
        "name": "web-tls",
        "labels": {"team": "web", "app.kubernetes.io/managed-by": "Helm"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"x": CANARY}),
            "a": "b",
        },
    }
    if namespace:
        meta["namespace"] = namespace
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": base64.b64encode(b"CERT " + CANARY.encode()).decode(), "tls.key": "b2xk"},
        "stringData": {"tls.key": "KEY " + CANARY},
    }
    return yaml.safe_dump(doc)


def test_given_tls_secret_manifest_when_sealed_then_ironflow_secret_with_type_labels_and_values(
    tmp_path: Path, key_file: Path
) -> None:
    source = tmp_path / "tls.yaml"
    source.write_text(secret_manifest())
    result = run("secret", "seal", "-f", str(source), "--public-key", str(key_file))
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output and "last-applied" not in result.output
    doc = yaml.safe_load(result.stdout)
    assert doc["kind"] == "IronflowSecret" and doc["metadata"] == {
        "name": "web-tls",
        "namespace": "prod",
        "labels": {"team": "web"},
    }
    assert doc["spec"]["template"] == {
        "type": "kubernetes.io/tls",
        "metadata": {"labels": {"team": "web"}, "annotations": {"a": "b"}},
    }
    sealed = doc["spec"]["sealed"]
    assert (
        unseal(KEYRING, "prod", "tls.crt", sealed["tls.crt"], allow_dev=False) == b"CERT " + CANARY.encode()
    )
    assert (
        unseal(KEYRING, "prod", "tls.key", sealed["tls.key"], allow_dev=False) == ("KEY " + CANARY).encode()
    )


def test_given_dotenv_on_stdin_when_sealed_with_merge_into_then_names_added_or_replaced_and_others_kept(
    tmp_path: Path, key_file: Path
) -> None:
    target = tmp_path / "app.yaml"
    first = run(
        "secret", "seal", "-f", "-", "-n", "dev", "--public-key", str(key_file), stdin=f"A={CANARY}\nB=1\n"
    )
    assert first.exit_code == 0, first.output
    target.write_text(first.stdout)
    before = yaml.safe_load(target.read_text())["spec"]["sealed"]
    merged = run(
        "secret",
        "seal",
        "-f",
        "-",
        "-n",
        "dev",
        "--public-key",
        str(key_file),
        "--merge-into",
        str(target),
        stdin="B=2\nC=3\n",
    )
    assert merged.exit_code == 0, merged.output
    assert "app: ~ B" in merged.stderr and "app: + C" in merged.stderr and CANARY not in merged.output
    after = yaml.safe_load(target.read_text())
    assert after["metadata"] == {"name": "app", "namespace": "dev"}
    sealed = after["spec"]["sealed"]
    assert sealed["A"] == before["A"]
    assert unseal(KEYRING, "dev", "B", sealed["B"], allow_dev=False) == b"2"
    assert unseal(KEYRING, "dev", "C", sealed["C"], allow_dev=False) == b"3"


def test_given_dotenv_file_and_json_output_when_sealed_then_json_manifest_named_by_r(
    tmp_path: Path, key_file: Path
) -> None:
    source = tmp_path / "payments.env"
    source.write_text("export STRIPE_KEY='sk'\n")
    result = run(
        "secret",
        "seal",
        "-f",
        str(source),
        "-n",
        "dev",
        "-r",
        "payments",
        "--public-key",
        str(key_file),
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["metadata"]["name"] == "payments" and list(doc["spec"]["sealed"]) == ["STRIPE_KEY"]


@pytest.mark.parametrize(
    ("content", "args", "fragment"),
    [
        (secret_manifest("prod"), ("-n", "dev"), "is in namespace prod but -n/--env says dev"),
        (secret_manifest(None), (), "names no namespace"),
        (
            f"kind: Secret\nmetadata: {{name: x}}\ndata: {{A: '{CANARY}!'}}\n",
            ("-n", "dev"),
            "data[A] is not base64",
        ),
        (
            f"kind: Secret\nmetadata: {{name: x}}\n  data: {CANARY}: [\n",
            ("-n", "dev"),
            "is not valid YAML at line",
        ),
        (f"A={CANARY}\nA=2\n", ("-n", "dev"), "line 2: A is defined twice"),
        ("kind: ConfigMap\nmetadata: {name: x}\n", ("-n", "dev"), "expected Secret manifests"),
    ],
)
def test_given_bad_input_when_sealing_file_then_one_line_error_without_values(
    tmp_path: Path, key_file: Path, content: str, args: tuple[str, ...], fragment: str
) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(content)
    result = run("secret", "seal", "-f", str(source), *args, "--public-key", str(key_file))
    assert result.exit_code == 1, result.output
    assert fragment in result.stderr
    assert CANARY not in result.output


def test_given_file_and_name_when_sealing_then_usage_error(tmp_path: Path, key_file: Path) -> None:
    result = run("secret", "seal", "A", "-f", "x.yaml", "-n", "dev", "--public-key", str(key_file))
    assert result.exit_code == 2 and "give no NAME" in result.stderr


def _tree(tmp_path: Path, key_file: Path) -> Path:
    overlay = tmp_path / "overlays" / "dev"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("namespace: dev\nresources: [secrets.yaml]\n")
    sealed = run("secret", "seal", "-f", "-", "-n", "dev", "--public-key", str(key_file), stdin="A=1\nB=2\n")
    doc = yaml.safe_load(sealed.stdout)
    del doc["metadata"]["namespace"]  # the kustomization names it, as overlays do
    (overlay / "secrets.yaml").write_text(yaml.safe_dump(doc))
    return overlay


def test_given_overlay_sealed_for_published_key_when_validated_offline_then_ok(
    tmp_path: Path, key_file: Path
) -> None:
    _tree(tmp_path, key_file)
    result = run("validate", "-f", str(tmp_path), "--public-key", str(key_file), "-o", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["namespace"], r["name"], r["reason"]) for r in rows] == [
        ("dev", "A", "Sealed"),
        ("dev", "B", "Sealed"),
    ]


def test_given_other_key_and_dev_form_and_garbage_when_validated_then_exit_1_naming_each(
    tmp_path: Path, key_file: Path
) -> None:
    overlay = _tree(tmp_path, key_file)
    other = tmp_path / "other.pem"
    other.write_text(sealing_key_configmap_data(derive_sealing_key(bytes(32)))["publicKey"] + "\n")
    doc = yaml.safe_load((overlay / "secrets.yaml").read_text())
    doc["spec"]["sealed"]["C"] = f"dev:{CANARY}"
    doc["spec"]["sealed"]["D"] = "ifs:v1:zz"
    (overlay / "secrets.yaml").write_text(yaml.safe_dump(doc))
    result = run("validate", "-f", str(tmp_path), "--public-key", str(other))
    assert result.exit_code == 1
    assert "A is sealed for key id" in result.stdout and "not the published" in result.stdout
    assert (
        "C is in the plaintext dev form" in result.stdout
        and "D: sealed value has no valid key id" in result.stdout
    )
    assert CANARY not in result.output
    assert "4 sealed value(s) checked, 4 error(s)" in result.stdout


def test_given_no_key_and_no_cluster_when_validated_then_exit_3_with_hint(
    tmp_path: Path, key_file: Path
) -> None:
    _tree(tmp_path, key_file)
    result = run("validate", "-f", str(tmp_path))
    assert result.exit_code == 3 and "--public-key FILE" in result.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_given_shell_when_completion_then_click_script_for_ironflow(shell: str) -> None:
    result = run("completion", shell)
    assert result.exit_code == 0
    assert f"_IRONFLOW_COMPLETE={shell}_" in result.stdout or "_IRONFLOW_COMPLETE" in result.stdout


def test_given_kubeconfig_context_with_namespace_when_no_env_then_context_namespace(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        yaml.safe_dump(
            {
                "current-context": "a",
                "contexts": [
                    {"name": "a", "context": {"namespace": "staging"}},
                    {"name": "b", "context": {}},
                ],
            }
        )
    )
    assert context_namespace(str(config), None) == "staging"
    assert context_namespace(str(config), "b") == "default"
    with pytest.raises(NoContextNamespace, match="no context named 'c'"):
        context_namespace(str(config), "c")


def test_given_context_namespace_when_sealing_without_env_then_sealed_for_it(
    tmp_path: Path, key_file: Path
) -> None:
    config = tmp_path / "config"
    config.write_text(
        yaml.safe_dump({"current-context": "a", "contexts": [{"name": "a", "context": {"namespace": "qa"}}]})
    )
    result = run("secret", "seal", "A", "x", "--public-key", str(key_file), env={"KUBECONFIG": str(config)})
    assert result.exit_code == 0, result.output
    assert unseal(KEYRING, "qa", "A", result.stdout.strip(), allow_dev=False) == b"x"
    aliased = run(
        "secret",
        "seal",
        "A",
        "x",
        "-n",
        "prod",
        "--public-key",
        str(key_file),
        env={"KUBECONFIG": str(config)},
    )
    assert unseal(KEYRING, "prod", "A", aliased.stdout.strip(), allow_dev=False) == b"x"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2500", 2500),
        ("true", True),
        ('{"a":1}', {"a": 1}),
        ('"quoted"', "quoted"),
        ("fast", "fast"),
        ("https://x/y?a=1", "https://x/y?a=1"),
        ("NaN", "NaN"),
        ("1.2.3", "1.2.3"),
        ("max: 3", "max: 3"),
    ],
)
def test_given_config_text_when_parsed_then_json_if_valid_json_else_string(text: str, value: object) -> None:
    assert json_or_string(text) == value


@pytest.mark.parametrize("text", ['{"max": 3', "{not json", "[1, 2", '"unterminated', '  {"a": }'])
def test_given_text_that_opens_like_json_but_is_broken_when_parsed_then_refused_with_string_hint(
    text: str,
) -> None:
    with pytest.raises(UserError, match=r"looks like JSON but is not valid JSON.*--string"):
        json_or_string(text)


def test_given_null_when_parsed_then_refused() -> None:
    with pytest.raises(UserError, match="null"):
        json_or_string("null")


def _signed_key(path: Path, keyring: Keyring, namespace: str) -> Path:
    """What `ironflow secret public-key -n NS -o yaml` writes: the signed publication, naming NS."""
    path.write_text(yaml.safe_dump(sealing_key_data(keyring, "keyed", namespace)))
    return path


def _overlays(tmp_path: Path) -> tuple[Path, Path, Path]:
    """overlays/dev and overlays/prod, each sealed for its own environment's key."""
    keys = tmp_path / "keys"
    keys.mkdir()
    dev_key = _signed_key(keys / "dev.yaml", KEYRING, "dev")
    prod_key = _signed_key(keys / "prod.yaml", Keyring.from_master_keys(bytes.fromhex("7b" * 32)), "prod")
    for env, key in (("dev", dev_key), ("prod", prod_key)):
        overlay = tmp_path / "overlays" / env
        overlay.mkdir(parents=True)
        (overlay / "kustomization.yaml").write_text(f"namespace: {env}\nresources: [secrets.yaml]\n")
        sealed = run("secret", "seal", "-f", "-", "-n", env, "--public-key", str(key), stdin="A=1\nB=2\n")
        assert sealed.exit_code == 0, sealed.output
        doc = yaml.safe_load(sealed.stdout)
        del doc["metadata"]["namespace"]
        (overlay / "secrets.yaml").write_text(yaml.safe_dump(doc))
    return keys, dev_key, prod_key


def test_given_overlays_for_two_environments_when_validated_with_one_key_then_other_not_checked_exit_0(
    tmp_path: Path,
) -> None:
    _, dev_key, _ = _overlays(tmp_path)
    overlays = str(tmp_path / "overlays")

    result = run("validate", "-f", overlays, "--public-key", str(dev_key), "-o", "json")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["namespace"], r["severity"], r["reason"]) for r in rows] == [
        ("dev", "ok", "Sealed"), ("dev", "ok", "Sealed"),
        ("prod", "skipped", "NotChecked"), ("prod", "skipped", "NotChecked"),
    ]
    assert "no key given for environment prod" in rows[2]["message"]
    human = run("validate", "-f", overlays, "--public-key", str(dev_key)).stdout
    assert "2 ok" in human and "2 not checked (no key given for environment prod" in human
    assert "2 sealed value(s) checked, 0 error(s), 2 not checked" in human


def test_given_overlays_for_two_environments_when_validated_with_key_directory_then_each_checked(
    tmp_path: Path,
) -> None:
    keys, _, prod_key = _overlays(tmp_path)
    result = run("validate", "-f", str(tmp_path / "overlays"), "--public-key", str(keys), "-o", "json")
    assert result.exit_code == 0, result.output
    assert {(r["namespace"], r["reason"]) for r in json.loads(result.stdout)} == {
        ("dev", "Sealed"), ("prod", "Sealed")
    }
    # prod's key file now holds a key prod's values were not sealed for: prod fails, and only prod
    _signed_key(prod_key, KEYRING, "prod")
    result = run("validate", "-f", str(tmp_path / "overlays"), "--public-key", str(keys))
    assert result.exit_code == 1
    assert "4 sealed value(s) checked, 2 error(s)" in result.stdout
    assert result.stdout.count("not the published") == 2
    per_file = [line.split() for line in result.stdout.split("\n\n")[0].splitlines()[1:]]
    assert [(line[1], " ".join(line[2:])) for line in per_file] == [("dev", "2 ok"), ("prod", "2 error(s)")]


def test_given_two_keys_naming_no_environment_when_validated_then_one_line_error(
    tmp_path: Path, key_file: Path
) -> None:
    other = tmp_path / "other.pem"
    other.write_text(sealing_key_configmap_data(derive_sealing_key(bytes(32)))["publicKey"] + "\n")
    _tree(tmp_path, key_file)
    result = run("validate", "-f", str(tmp_path / "overlays"), "--public-key", str(key_file),
                 "--public-key", str(other))
    assert result.exit_code == 1 and "keys name no environment" in result.stderr
