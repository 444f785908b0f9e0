"""logsieve_client.setup_logging from a separate process, through the real OTLP/HTTP exporter
of opentelemetry-python, into the real OTLP/HTTP receiver; light to import; never raises."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from gateway.clock import SystemClock
from gateway.config.receivers import GrpcReceiverConfig
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.http import OtlpHttpReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store
from tests.client.conftest import CLIENT, TOKEN, queued


def run_service(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` as a separate Python process, as an application would: the client package
    importable, none of the developer's OTEL_* variables."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=CLIENT,
        env={**inherited, "PYTHONPATH": str(CLIENT), **env},
    )


def test_importing_the_utility_loads_no_server_side_code() -> None:
    result = run_service(
        """
        import sys
        from logsieve_client import setup_logging
        heavy = ("flask", "sqlalchemy", "werkzeug", "grpc", "viewer", "gateway", "psycopg")
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
        from logsieve_client import setup_logging
        setup_logging("billing", endpoint={receiver.url!r}, token={TOKEN!r})
        log = logging.getLogger("billing.payments")
        for i in range(3000):  # a burst, faster than any export
            log.error("card declined", extra={{"attempt": i}})
        log.info("done")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not even the SDK's deprecation of its own handler
    rows = queued(store)
    assert len(rows) == 3001  # nothing silently dropped, all flushed at exit
    first = rows[0]
    assert first.body == "card declined" and first.record.severity_number == 17
    assert first.service == "billing"
    assert {kv.key for kv in first.record.attributes} >= {"attempt"}
    assert rows[-1].body == "done"


def test_the_standard_otel_variables_are_enough(receiver: OtlpHttpReceiver, store: Store) -> None:
    result = run_service(
        """
        import logging
        from logsieve_client import setup_logging
        setup_logging()
        logging.getLogger("x").warning("configured by the environment")
        """,
        OTEL_SERVICE_NAME="search",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer%20{TOKEN}",
    )
    assert result.returncode == 0, result.stderr
    assert [(row.body, row.service) for row in queued(store)] == [
        ("configured by the environment", "search")
    ]


def test_a_gateway_that_is_down_or_refuses_never_breaks_the_service(
    receiver: OtlpHttpReceiver, store: Store
) -> None:
    for endpoint, token in (("http://127.0.0.1:9", TOKEN), (receiver.url, "wrong-token-123456")):
        result = run_service(
            f"""
            import logging
            from logsieve_client import setup_logging
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
        from logsieve_client import setup_logging
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert setup_logging("shop") is None
        print(len(caught), caught[0].message)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 logsieve logging is off")


def test_grpc_without_its_extra_names_the_extra_to_install() -> None:
    # grpcio is large, so OTLP/gRPC is the `grpc` extra: asking for it without the extra is
    # one warning that says what to install, and the application goes on.
    result = run_service(
        """
        import sys, warnings
        sys.modules["opentelemetry.exporter.otlp.proto.grpc"] = None  # the extra not installed
        from logsieve_client import setup_logging
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert setup_logging("shop", protocol="grpc") is None
        print(len(caught), caught[0].message)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'logsieve-client[grpc]'" in result.stdout
    assert result.stdout.startswith("1 logsieve logging is off: the gRPC exporter")


def test_over_grpc_with_its_extra_a_record_arrives(store: Store) -> None:
    receiver = OtlpGrpcReceiver(
        Ingest(store, SystemClock()),
        GrpcReceiverConfig.model_validate(
            {"endpoint": "127.0.0.1:0", "auth": {"bearer_token": TOKEN}}
        ),
    )
    receiver.start()
    try:
        result = run_service(
            f"""
            import logging
            from logsieve_client import setup_logging
            setup_logging("orders", endpoint="http://127.0.0.1:{receiver.port}",
                          protocol="grpc", token={TOKEN!r})
            logging.getLogger("orders").warning("sent over gRPC")
            """
        )
    finally:
        receiver.shutdown(grace=1)
    assert result.returncode == 0, result.stderr
    assert [(row.body, row.service) for row in queued(store)] == [("sent over gRPC", "orders")]
