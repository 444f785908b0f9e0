"""The HTTP listeners' limits, and the open-file budget their connection caps come from.

Every open connection costs a file descriptor, and an OTLP/HTTP one may cost two (its socket
and, for a body past 512 KiB, the temporary file it is buffered in). A listener that could take
every descriptor would starve the rest of the process: the database, the gRPC receiver, the
pipes to the children. So `logsieve run` first raises the soft open-file limit to the hard one,
and each listener's cap is then held to its share of that limit; at least half of the limit
is never any listener's (LISTENER_SHARES sums to 3/8, plus the metrics endpoint's few).
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

log = logging.getLogger("logsieve")

# The share of the open-file limit each listener may hold at most.
OTLP_HTTP_SHARE = 0.25
VIEWER_SHARE = 0.125
METRICS_CONNECTIONS = 16  # Prometheus and probes: a few at a time
MIN_CONNECTIONS = 8  # even under a tiny limit a listener serves someone
UNLIMITED_TARGET = 1 << 20  # the soft limit to try when the hard one is "unlimited"


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What one listener allows; `cap_setting` names the setting its cap comes from."""

    max_connections: int = 100
    threads: int = 8  # requests handled at once (the waitress server's worker threads)
    idle_timeout: float = 60.0  # a kept-alive connection with no request is closed after this
    read_timeout: float = 30.0  # a request's head (and, on waitress, body) must arrive by then
    send_timeout: float = 30.0  # one websocket send must finish by then (the threaded server)
    cap_setting: str = "max_connections"


def raise_open_file_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; returns the limit in force.

    Children started afterwards inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, UNLIMITED_TARGET) if hard == resource.RLIM_INFINITY else hard
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, exc)
            return soft
    return target if target > soft else soft


def open_file_limit() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return UNLIMITED_TARGET if soft == resource.RLIM_INFINITY else soft


def connection_cap(
    wanted: int, share: float, setting: str, per_connection: int = 1, limit: int | None = None
) -> int:
    """`wanted` connections, or fewer if they would take more than `share` of the limit."""
    limit = open_file_limit() if limit is None else limit
    allowed = max(MIN_CONNECTIONS, int(limit * share) // per_connection)
    if wanted <= allowed:
        return wanted
    log.info(
        "%s lowered from %d to %d: the open-file limit is %d (raise it with ulimit -n)",
        setting,
        wanted,
        allowed,
        limit,
    )
    return allowed
