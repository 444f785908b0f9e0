"""Every block of the README's *Sending logs*, run as printed against a real gateway
(`python -m gateway run`, tests/harness.py), and its records found on the live page's table.

A block is marked in README.md by `<!-- recipe: NAME -->` on the line before it. Only the
ports change: the gateway here listens on port 0, so 4317, 4318 and 8080 become its own. The
programs a block names as the user's (`your-app`, `app.py`, the page around the browser
block) are the test's; a `pip install` line is checked against what is installed here
rather than run (no network in a test), and the commands then run with this environment's
`bin` first on PATH, as after that install. A marked block no test runs fails too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.http.wsgi_server import WsgiServer
from gateway.model import Entry
from gateway.store import Store
from tests.harness import GatewayProcess, wait_until
from tests.live_viewer import watched_page

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MAX_README_BYTES = 25_000
MARKED = re.compile(r"<!-- recipe: ([\w-]+) -->\n```(\w*)\n(.*?)\n```", re.S)
RUN_HERE = {"sdk-variables", "zero-code", "client", "curl", "browser"}
REFUSED = "logsieve_receiver_signals_refused_total"
BIN = Path(sys.executable).parent  # opentelemetry-instrument, python: this environment's


def recipes() -> dict[str, str]:
    return {name: text for name, _, text in MARKED.findall(README.read_text(encoding="utf-8"))}


class ShopPage:
    """The shop's page around the browser block, served from an origin of its own."""

    def __init__(self) -> None:
        self.html = ""
        self.server = WsgiServer(self.wsgi, "127.0.0.1", 0, name="recipe-page")
        self.url = self.server.url

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = f"<!doctype html><title>shop</title>{self.html}".encode()
        start_response(
            "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
        )
        return [body]


@dataclass
class Gateway:
    process: GatewayProcess
    store: Store

    def with_ports(self, text: str) -> str:
        """The block with the README's default ports swapped for this gateway's."""
        assert self.process.http_url and self.process.viewer_url
        ports = {
            "4317": self.process.address.rsplit(":", 1)[1],
            "4318": self.process.http_url.rsplit(":", 1)[1],
            "8080": self.process.viewer_url.rsplit(":", 1)[1],
        }
        return re.sub(
            r"127\.0\.0\.1:(4317|4318|8080)\b", lambda m: f"127.0.0.1:{ports[m[1]]}", text
        )

    def arrived(self, body: str, timeout: float = 30) -> Entry:
        """The live page's entry whose body is `body`, once the batch stage has made it."""
        found: list[Entry] = []

        def seen() -> bool:
            rows = self.store.recent_newest(time.time_ns(), 1000)
            found[:] = [row.entry for row in rows if row.entry.body == body]
            return bool(found)

        wait_until(seen, timeout, f"{body!r} on the live page")
        return found[0]

    def refused(self, signal: str) -> float:
        """logsieve_receiver_signals_refused_total{receiver="http", signal} from /metrics."""
        text = httpx.get(self.process.telemetry_url + "/metrics", timeout=10).text
        wanted = {"receiver": "http", "signal": signal}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == REFUSED and sample.labels == wanted:
                    return float(sample.value)
        raise AssertionError(f"no {REFUSED} {wanted} in /metrics")


@pytest.fixture(scope="module")
def page() -> Iterator[ShopPage]:
    made = ShopPage()
    made.server.start()
    yield made
    made.server.shutdown()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, page: ShopPage) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("recipes")
    url = f"sqlite:///{folder / 'gateway.db'}"
    config = folder / "gateway.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            receivers:
              otlp:
                grpc: {{endpoint: "127.0.0.1:0"}}
                http: {{endpoint: "127.0.0.1:0", cors: {{allowed_origins: ["{page.url}"]}}}}
            storage: {{url: "{url}"}}
            batch: {{interval: 200ms}}
            viewer: {{endpoint: "127.0.0.1:0"}}
            telemetry: {{metrics: {{endpoint: "127.0.0.1:0"}}}}
            """
        )
    )
    process = GatewayProcess(config)
    # One gateway for the module: out of the list every test's teardown kills (conftest),
    # and ended here instead, whatever happens.
    GatewayProcess.started.remove(process)
    try:
        wait_until(lambda: process.viewer_url is not None, 60, "the viewer child to serve")
        store = Store(url, pool_size=1)
        yield Gateway(process, store)
        store.dispose()
    finally:
        process.process.kill()
        process.process.wait(30)


def run_shell(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`script` in bash, as typed at a prompt in `cwd`, this environment's bin first."""
    path = f"{cwd / 'bin'}:{BIN}:{os.environ['PATH']}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={**base, "PATH": path, **env},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def installed(line: str) -> None:
    """A `pip install A B` line: each of A, B is installed in this environment."""
    names = line.split()[2:]
    assert names, line
    for name in names:
        assert metadata.version(name), name


def shell_script(text: str) -> str:
    """A shell block as a script, its `pip install` lines checked rather than run."""
    lines = text.splitlines()
    for line in lines:
        if line.startswith("pip install"):
            installed(line)
    return "\n".join(line for line in lines if not line.startswith("pip install"))


def test_every_block_of_sending_logs_is_a_recipe_this_file_runs() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Sending logs\n", 1)[1].split("\n## ", 1)[0]
    assert section.count("```") == 2 * len(RUN_HERE)  # no block left unmarked
    assert set(recipes()) == RUN_HERE
    assert len(text.encode()) < MAX_README_BYTES


YOUR_APP = f"""#!{sys.executable}
# Any program whose OpenTelemetry SDK is set up from the standard variables alone.
import logging, os
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
protocol = os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"]
if protocol == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
else:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
provider = LoggerProvider()
provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
logging.getLogger().addHandler(LoggingHandler(logger_provider=provider))
logging.getLogger("shop").warning("order shipped over %s", protocol)
provider.shutdown()
"""


def test_sdk_variables(gateway: Gateway, tmp_path: Path) -> None:
    app = tmp_path / "bin" / "your-app"
    app.parent.mkdir()
    app.write_text(YOUR_APP)
    app.chmod(0o755)
    result = run_shell(shell_script(gateway.with_ports(recipes()["sdk-variables"])), tmp_path)
    assert result.stderr == ""
    for protocol in ("http/protobuf", "grpc"):
        gateway.arrived(f"order shipped over {protocol}")


ZERO_CODE_APP = """\
import logging
from opentelemetry import trace
with trace.get_tracer("checkout").start_as_current_span("GET /cart"):
    logging.getLogger("checkout").warning("cart abandoned after 3 items")
"""


def test_zero_code(gateway: Gateway, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(ZERO_CODE_APP)
    result = run_shell(shell_script(gateway.with_ports(recipes()["zero-code"])), tmp_path)
    assert result.stderr == ""  # no exporter complaining into the application
    entry = gateway.arrived("cart abandoned after 3 items")
    assert (entry.service, entry.severity) == ("checkout", "WARN")


def test_zero_code_without_the_nones_logs_no_error_into_the_application(
    gateway: Gateway, tmp_path: Path
) -> None:
    """Traces sent anyway are answered with success (and counted), not 404."""
    (tmp_path / "app.py").write_text(ZERO_CODE_APP.replace("cart abandoned", "cart left"))
    script = shell_script(gateway.with_ports(recipes()["zero-code"]))
    nones = "OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none \\\n"
    assert nones in script
    before = gateway.refused("traces")
    result = run_shell(script.replace(nones, ""), tmp_path)
    assert result.stderr == ""
    gateway.arrived("cart left after 3 items")
    assert gateway.refused("traces") == before + 1


def test_client(gateway: Gateway, tmp_path: Path) -> None:
    code = gateway.with_ports(recipes()["client"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    entry = gateway.arrived("payment failed")
    assert (entry.service, entry.severity, entry.attributes.get("order")) == (
        "checkout",
        "ERROR",
        42,
    )


def test_curl(gateway: Gateway, tmp_path: Path) -> None:
    result = run_shell(shell_script(gateway.with_ports(recipes()["curl"])), tmp_path)
    assert result.stdout == "{}"
    entry = gateway.arrived("backup failed: disk full")
    assert (entry.service, entry.severity) == ("nightly", "ERROR")


@pytest.mark.browser
def test_browser(gateway: Gateway, page: ShopPage) -> None:
    page.html = gateway.with_ports(recipes()["browser"])
    with watched_page() as browser_page:
        browser_page.goto(page.url)
        entry = gateway.arrived("cart page slow")
    assert (entry.service, entry.severity, entry.attributes.get("ms")) == ("shop-web", "WARN", 2300)
