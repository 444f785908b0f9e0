"""Before `logsieve run` starts anything: is every port it will listen on free?

Each server says so itself when its port is taken (an EndpointError naming the setting), but
by then the ones before it have started and logged; and the viewer's child process would
fail where its parent does not see it, and be started again for ever. So the top process
tries each configured endpoint first, and a taken one ends the run with one line per
endpoint, as `receivers.otlp.http.endpoint: 127.0.0.1:4318 is already in use`.
"""

from __future__ import annotations

from gateway.config.settings import Config
from gateway.errors import EndpointError
from gateway.http.ports import check_free, split_endpoint
from gateway.runtime.roles import Roles


def listened_on(config: Config, roles: Roles) -> list[tuple[str, str]]:
    """(setting, endpoint) of each port this process and its children will listen on."""
    otlp = config.receivers.otlp
    ports: list[tuple[str, str]] = []
    if roles.ingest:
        ports.append(("receivers.otlp.grpc.endpoint", otlp.grpc.endpoint))
        if otlp.http.enabled:
            ports.append(("receivers.otlp.http.endpoint", otlp.http.endpoint))
    if roles.viewer or roles.viewer_child:
        ports.append(("viewer.endpoint", config.viewer.endpoint))
    if config.telemetry.metrics.enabled:
        ports.append(("telemetry.metrics.endpoint", config.telemetry.metrics.endpoint))
    return ports


def taken_endpoints(config: Config, roles: Roles) -> list[str]:
    """One line per endpoint that cannot be listened on now; empty when all can."""
    problems: list[str] = []
    first_named: dict[tuple[str, int], str] = {}
    for setting, endpoint in listened_on(config, roles):
        address = split_endpoint(endpoint)
        if address[1] and address in first_named:
            problems.append(f"{setting}: {endpoint} is also {first_named[address]}")
            continue
        first_named[address] = setting
        try:
            check_free(setting, endpoint)
        except EndpointError as exc:
            problems.append(str(exc))
    return problems
