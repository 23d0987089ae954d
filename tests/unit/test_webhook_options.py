"""Operator webhook options: off unless asked, loopback by default for a URL, SANs from the URL."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from ironflow.webhook.options import options_from


def test_given_no_url_nor_cert_dir_when_parsed_then_webhook_off() -> None:
    assert options_from({}) is None


def test_given_url_when_parsed_then_loopback_bind_port_from_url_and_own_cert_dir() -> None:
    options = options_from({"webhook_url": "https://127.0.0.1:18443"})
    assert options is not None
    assert (options.host, options.port, options.url) == ("127.0.0.1", 18443, "https://127.0.0.1:18443")
    assert options.cert_dir.is_dir()
    assert "127.0.0.1" in options.hosts


def test_given_cert_dir_only_when_parsed_then_in_cluster_bind_all_and_no_registration(tmp_path: Path) -> None:
    options = options_from({"webhook_cert_dir": str(tmp_path)})
    assert options is not None
    assert (options.host, options.port, options.url, options.cert_dir) == ("0.0.0.0", 9443, None, tmp_path)


def test_given_url_with_dns_name_and_extra_san_when_parsed_then_both_in_certificate_hosts() -> None:
    options = options_from({"webhook_url": "https://dev-box:9443", "webhook_san": ("ironflow.local",)})
    assert options is not None
    assert {"dev-box", "ironflow.local", "127.0.0.1"} <= set(options.hosts)


def test_given_click_command_when_flags_given_then_options_parsed() -> None:
    import click
    from click.testing import CliRunner

    from ironflow.webhook.options import webhook_click_options

    seen: list[object] = []

    @click.command()
    @webhook_click_options
    def command(**values: object) -> None:
        seen.append(options_from(values))

    result = CliRunner().invoke(
        command, ["--webhook-url", "https://127.0.0.1:9555", "--webhook-port", "9556"]
    )
    assert result.exit_code == 0, result.output
    assert getattr(seen[0], "port", None) == 9556


def test_given_cert_secret_and_sans_when_parsed_then_self_managed_for_the_service_names(
    tmp_path: Path,
) -> None:
    options = options_from(
        {
            "webhook_cert_dir": str(tmp_path),
            "webhook_cert_secret": "ironflow-webhook-tls",
            "webhook_san": ("ironflow-webhook.ops.svc",),
        }
    )
    assert options is not None and options.cert_secret == "ironflow-webhook-tls"
    assert options.url is None and "ironflow-webhook.ops.svc" in options.hosts


def test_given_cert_secret_with_url_when_parsed_then_refused() -> None:
    with pytest.raises(click.UsageError, match="--webhook-cert-secret"):
        options_from({"webhook_url": "https://127.0.0.1:9443", "webhook_cert_secret": "x"})
