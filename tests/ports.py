"""A port of this machine nobody listens on, for a server a test starts, or for a
connection a test expects to fail."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port the system just handed out and took back: free until someone binds it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
