"""Is a process's port free? Asked before it opens its store or starts anything.

gRPC reports a port in use as a long ``RuntimeError`` traceback, and only after the process
has created its database; a person needs one line that names the port and what to do.
"""

from __future__ import annotations

import errno
import socket


def listen_problem(host: str, port: int, how_to_change: str) -> str | None:
    """Why ``host:port`` cannot be listened on, in one line, or None if it can (or if
    ``port`` is 0: any free port). ``how_to_change`` names the flag and setting to use."""
    if port == 0:
        return None
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror} ({how_to_change})"
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return (
                        f"port {port} on {host or 'all interfaces'} is already in use "
                        f"(another armada still running?): stop that process, or {how_to_change}"
                    )
                if exc.errno == errno.EADDRNOTAVAIL and family == socket.AF_INET6:
                    continue  # no IPv6 here; gRPC listens on the IPv4 address alone
                return f"cannot listen on {host}:{port}: {exc.strerror} ({how_to_change})"
    return None
