"""gateway.client.setup_logging from a separate process, through the real OTLP/HTTP exporter
of opentelemetry-python, into the real OTLP/HTTP receiver; light to import; never raises."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from gateway.clock import SystemClock
from gateway.config.receivers import HttpReceiverConfig
from gateway.receivers.http import OtlpHttpReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store

REPO = Path(__file__).resolve().parents[2]
TOKEN = "a-token-for-the-python-services"


@pytest.fixture
def receiver(store: Store) -> Iterator[OtlpHttpReceiver]:
    config = HttpReceiverConfig.model_validate(
        {"endpoint": "127.0.0.1:0", "auth": {"bearer_token": TOKEN}}
    )
    clock = SystemClock()
    started = OtlpHttpReceiver(Ingest(store, clock), config, clock)
    started.start()
    yield started
    started.shutdown()


def run_service(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` as a separate Python process, as an application would."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def queued(store: Store) -> list[tuple[str, LogRecord]]:
    claim = store.claim_batch(1, 10**9, 10_000)
    records = store.claimed_records([row[0] for row in claim.rows])
    return [(row[3], LogRecord.FromString(records[row[0]])) for row in claim.rows]


def test_importing_the_utility_loads_no_server_side_code() -> None:
    result = run_service(
        """
        import sys
        from gateway.client import setup_logging
        heavy = ("flask", "sqlalchemy", "werkzeug", "grpc", "viewer", "gateway.store")
        print(sorted(m for m in sys.modules if m.startswith(heavy)))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_burst_from_a_service_arrives_whole_and_flushes_at_exit(
    receiver: OtlpHttpReceiver, store: Store
) -> None:
    result = run_service(
        f"""
        import logging
        from gateway.client import setup_logging
        setup_logging("billing", endpoint={receiver.url!r}, token={TOKEN!r})
        log = logging.getLogger("billing.payments")
        for i in range(3000):  # a burst, faster than any export
            log.error("card declined", extra={{"attempt": i}})
        log.info("done")
        """
    )
    assert result.returncode == 0, result.stderr
    rows = queued(store)
    assert len(rows) == 3001  # nothing silently dropped, all flushed at exit
    body, record = rows[0]
    assert body == "card declined" and record.severity_number == 17
    assert {kv.key for kv in record.attributes} >= {"attempt"}
    assert rows[-1][0] == "done"


def test_the_standard_otel_variables_are_enough(receiver: OtlpHttpReceiver, store: Store) -> None:
    result = run_service(
        """
        import logging
        from gateway.client import setup_logging
        setup_logging()
        logging.getLogger("x").warning("configured by the environment")
        """,
        OTEL_SERVICE_NAME="search",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer%20{TOKEN}",
    )
    assert result.returncode == 0, result.stderr
    assert [body for body, _ in queued(store)] == ["configured by the environment"]


def test_a_gateway_that_is_down_or_refuses_never_breaks_the_service(
    receiver: OtlpHttpReceiver, store: Store
) -> None:
    for endpoint, token in (("http://127.0.0.1:9", TOKEN), (receiver.url, "wrong-token-123456")):
        result = run_service(
            f"""
            import logging
            from gateway.client import setup_logging
            handle = setup_logging("shop", endpoint={endpoint!r}, token={token!r})
            assert setup_logging("again") is handle  # once per process
            logging.getLogger("shop").error("still running")
            print("the service went on")
            """
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "the service went on"
        # The exporter's complaints stay out of the pipeline: no loop, a few lines at most.
        assert result.stderr.count("\n") < 20, result.stderr
    assert store.queue_depth() == 0


def test_without_opentelemetry_it_warns_once_and_logging_goes_on() -> None:
    result = run_service(
        """
        import logging, sys, warnings
        sys.modules["opentelemetry.sdk._logs"] = None  # as if the SDK were not installed
        from gateway.client import setup_logging
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert setup_logging("shop") is None
        print(len(caught), caught[0].message)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 logsieve logging is off")
