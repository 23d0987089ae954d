"""Free-port picking hands out distinct loopback ports that can really be bound."""

from __future__ import annotations

import socket

import pytest

from ironflow_testbed.ports import free_port, free_ports


def test_given_request_for_several_ports_when_picked_then_distinct_and_bindable() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_given_port_in_use_when_picking_then_never_handed_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        taken = busy.getsockname()[1]
        assert taken not in free_ports(20)


def test_given_single_port_when_picked_then_in_unprivileged_range() -> None:
    assert 1024 < free_port() < 65536


def test_given_zero_ports_when_requested_then_rejected() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        free_ports(0)
