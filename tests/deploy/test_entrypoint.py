"""The image's entrypoint outside a container, in compose.yaml's layout: its migrate service,
then its two gateways, each with the command line the image runs (Dockerfile ENTRYPOINT + the
service's command or CMD), the config the image ships and the environment compose sets.

What a container would do differently is replaced, and only that: the paths the Dockerfile
copies into the image are read from the repository; the storage URL names the test database
instead of the postgres service; and the listen addresses, which each container's own network
keeps apart, are 127.0.0.1:0 (so two gateways fit on one host). Without a container engine
this is what checks the image's command; tests/deploy/test_image.py runs the image itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gateway.store import Store
from tests.conftest import PG_URL, reachable_postgresql
from tests.deploy import checks, layout
from tests.harness import GatewayProcess, wait_until

LISTEN = ("LOGSIEVE_GRPC", "LOGSIEVE_HTTP", "LOGSIEVE_VIEWER", "LOGSIEVE_METRICS")
PASSWORD = "composepassword"  # the POSTGRES_PASSWORD compose.yaml asks for


def host_command(command: list[str]) -> list[str]:
    """The image's command line with its program and copied files found on this host."""
    program = shutil.which(command[0], path=str(Path(sys.executable).parent))
    assert program, f"{command[0]} is not installed beside {sys.executable}"
    files = layout.image_files()
    return [program] + [str(files.get(arg, arg)) for arg in command[1:]]


def environment(service: layout.Service) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LOGSIEVE_", "LOGFLARE_"))}
    return (
        base
        | service.environment
        | {"LOGSIEVE_STORAGE_URL": PG_URL}
        | dict.fromkeys(LISTEN, "127.0.0.1:0")
    )


class Entrypoint:
    """One service's command running outside a container; its log is drained and read for
    the addresses it took."""

    def __init__(self, service: layout.Service, cwd: Path) -> None:
        self.command = host_command(layout.image_command(service.command))
        self.process = subprocess.Popen(
            self.command, env=environment(service), cwd=cwd, stderr=subprocess.PIPE, text=True
        )
        GatewayProcess.started.append(self)  # type: ignore[arg-type]  # killed after the test
        self.log: list[str] = []
        self.found: dict[str, str] = {}
        self._drained = threading.Thread(target=self._drain, daemon=True)
        self._drained.start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        patterns = {
            "telemetry": r"metrics and health at (http://[\w.:\[\]-]+)",
            "http": r"OTLP/HTTP receiver listening on (http://[\w.:\[\]-]+)",
            "viewer": r"viewer at (http://[\w.:\[\]-]+)/logs",
        }
        for line in self.process.stderr:
            self.log.append(line)
            for key, pattern in patterns.items():
                if match := re.search(pattern, line):
                    self.found[key] = match.group(1)

    def endpoints(self) -> checks.Endpoints:
        wait_until(lambda: len(self.found) == 3 or self.process.poll() is not None, 60, "addresses")
        assert len(self.found) == 3, "".join(self.log[-20:])
        return checks.Endpoints(**self.found)

    def finish(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout)
        self._drained.join(10)
        return code


@pytest.mark.slow
@pytest.mark.timeout(300)  # five gateway processes start: slow on a busy 2-core machine
def test_the_compose_layout_runs_from_the_images_command_line(tmp_path: Path) -> None:
    services = layout.compose({"POSTGRES_PASSWORD": PASSWORD})
    store = reachable_postgresql(pool_size=1)
    store.drop_all()  # an empty database, as a new postgres service starts with
    store.dispose()

    migrate = Entrypoint(services["migrate"], tmp_path)
    assert migrate.finish() == 0, "".join(migrate.log)
    gateways = [Entrypoint(services[name], tmp_path) for name in layout.GATEWAYS]
    a, b = (gateway.endpoints() for gateway in gateways)
    wait_until(lambda: checks.ready(a) and checks.ready(b), 60, "both gateways ready")
    for endpoints in (a, b):  # the image's HEALTHCHECK, pointed at this gateway's port
        probe = layout.healthcheck_command()
        assert probe[1] in layout.image_files(), "the health check is a file the image ships"
        env = {**os.environ, "LOGSIEVE_METRICS": endpoints.telemetry.removeprefix("http://")}
        run = subprocess.run(host_command(probe), env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout

    body = checks.send_one_log(a)
    checks.stored_once(PG_URL, body)
    assert checks.shown_by(b, body) == 1  # sent to a, shown by b: one database
    for gateway in gateways:  # what `docker compose stop` does: SIGTERM, a clean exit
        gateway.process.terminate()
        assert gateway.finish() == 0, "".join(gateway.log[-20:])
    store = Store(PG_URL, pool_size=1)
    store.drop_all()
    store.dispose()
