"""Listening on a configured endpoint, and checking that one is free before a server binds it.

A port taken (another gateway, the Collector, a second `logsieve run`) is a user's mistake:
it is said as one EndpointError line naming the setting and the address, never as the
socket library's or gRPC core's text. `check_free` lets the gRPC receiver (whose core would
print its own lines first) and `logsieve run` (for the viewer's child process, whose failure
the parent would not see) find out before anything binds.
"""

from __future__ import annotations

import socket

from gateway.errors import EndpointError

BACKLOG = 1024  # connections past a listener's cap wait here, in the kernel


def listen(host: str, port: int, setting: str, backlog: int = BACKLOG) -> socket.socket:
    """A listening socket on host:port (SO_REUSEADDR, as every server here binds), or an
    EndpointError naming `setting`. "::" takes IPv4 too where the system allows it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    both = host == "::" and socket.has_dualstack_ipv6()
    try:
        return socket.create_server(
            (host, port), family=family, backlog=backlog, dualstack_ipv6=both
        )
    except OSError as exc:
        raise EndpointError.from_os_error(setting, _shown(host, port), exc) from None


def check_free(setting: str, endpoint: str) -> None:
    """Raise EndpointError when `endpoint` ("host:port", "[::1]:port") cannot be listened on
    now; port 0 is always free. The probe is closed at once: with no connection accepted it
    leaves nothing behind, and the server's own bind follows."""
    host, port = split_endpoint(endpoint)
    if port != 0:
        listen(host, port, setting, backlog=1).close()


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """("::1", 4317) from "[::1]:4317": the host as the socket library takes it."""
    host, port = endpoint.rsplit(":", 1)
    return host.strip("[]"), int(port)


def _shown(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
