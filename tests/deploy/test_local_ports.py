"""The ports our local servers are given: free, and outside the range the kernel hands out to
outgoing connections, so no client's connection can take one before its server binds it (a test
run beside a simulation saw Kafka fail to bind a port picked from that range)."""

from __future__ import annotations

import itertools
import socket
from pathlib import Path

import pytest
from localstack import free_port, process


def test_a_free_port_is_bindable_and_below_the_ephemeral_range() -> None:
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32768
    ports = {free_port() for _ in range(20)}
    assert len(ports) > 1  # drawn, not one fixed port
    for port in ports:
        assert 1024 < port < low or port > 61_000
        with socket.socket() as server:
            # As our servers bind (Java sets SO_REUSEADDR): a port drawn while its last connections
            # sit in TIME_WAIT (the suite's servers come and go) is free for them, not for a
            # plain bind (CI saw this test fail so).
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))


def test_a_port_handed_out_is_not_handed_out_again_even_before_its_server_binds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fleet draws its four services' ports before any binds: two draws of one port gave two
    services one port, and the one that could not bind it looked ready (the other answered)."""
    low, high = process._listening_ports()
    unused = (port for port in range(high, low, -1) if process._port_is_free(port))
    first, second = next(unused), next(unused)
    draws = itertools.cycle([first, first, second])  # the first port comes up again at once
    monkeypatch.setattr(process.random, "randint", lambda a, b: next(draws))
    assert [free_port(), free_port()] == [first, second]
