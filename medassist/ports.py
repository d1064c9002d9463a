"""A free loopback TCP port for a server medassist starts: the demo's gateway, the vLLM child behind
the gateway, the gateways of tests and benchmarks. The OS picks it (bind to port 0); another
process could take it before the server binds, which on one machine's loopback is rare enough that
a server failing to start says so in its own log."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
