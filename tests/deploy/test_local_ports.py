"""The ports our local servers are given: free, and outside the range the kernel hands out to
outgoing connections, so no client's connection can take one before its server binds it (a test
run beside a simulation saw Kafka fail to bind a port picked from that range)."""

from __future__ import annotations

import socket
from pathlib import Path

from localstack import free_port


def test_a_free_port_is_bindable_and_below_the_ephemeral_range() -> None:
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32768
    ports = {free_port() for _ in range(20)}
    assert len(ports) > 1  # drawn, not one fixed port
    for port in ports:
        assert 1024 < port < low or port > 61_000
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
