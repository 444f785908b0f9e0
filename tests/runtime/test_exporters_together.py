"""Logflare and OTLP exporters configured together: each has its own outbox rows, stage, thread,
backoff and health, so one backend down or stalled holds up nothing of the other. And a chain
of two real gateways (the first exporting over OTLP to the second's receiver) loses nothing
acknowledged through kill -9 of either side."""

from __future__ import annotations

import collections
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.runtime.app import Gateway
from gateway.store import Store
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare
from testkit.otlp import FakeOtlp
from testkit.otlp import Fault as OtlpFault
from tests.builders import Rec, request
from tests.harness import (
    GatewayProcess,
    SeqSender,
    all_delivered,
    delivered,
    gateway_config,
    in_process_gateway,
    send,
    wait_until,
)

EXPORT_BATCH = 500  # duplicates after a crash: at most one export request's events


def otlp_exporter(fake: FakeOtlp, protocol: str = "grpc") -> str:
    """The `otlp:` entry of a gateway config's exporters, sending to `fake`."""
    return (
        f"otlp: {{endpoint: '{fake.url(protocol)}', protocol: {protocol}, timeout: 1s,"
        " retry_initial: 100ms, retry_max: 500ms, max_batch_events: 500}"
    )


def with_otlp(config: Path, exporter: str) -> Path:
    """The harness's config (Logflare only) with an OTLP exporter beside Logflare."""
    text = config.read_text().replace(
        "exporters: {logflare:", f"exporters: {{{exporter}, logflare:"
    )
    config.write_text(text)
    return config


def otlp_counts(fake: FakeOtlp) -> collections.Counter[int]:
    """How many times the OTLP backend got each sequence number."""
    bodies = (record.body for record in list(fake.records))
    return collections.Counter(int(b.split()[1]) for b in bodies if b.startswith("record "))


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_an_otlp_backend_down_holds_up_no_logflare_delivery(
    tmp_path: Path, report: Callable[[str], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    with FakeLogflare() as logflare, FakeOtlp() as otlp:
        otlp.outage = OtlpFault.unavailable(retry_after=None)
        config = with_otlp(gateway_config(tmp_path, url, logflare), otlp_exporter(otlp))
        gateway = GatewayProcess(config)
        acknowledged = send(gateway.address, 20_000)
        # Logflare takes everything while every OTLP request fails...
        wait_until(lambda: acknowledged <= delivered(logflare).keys(), 60, "Logflare's share")
        store = Store(url)
        # Its acknowledgements follow the deliveries: once they are in, only OTLP's rows wait.
        wait_until(lambda: "logflare" not in store.outbox_depths(), 30, "Logflare's acks")
        assert store.outbox_depths().get("otlp", 0) >= len(acknowledged)
        refused = len(otlp.requests)
        # ...then the backend is back, and its outbox drains: every record once.
        otlp.outage = None
        wait_until(lambda: acknowledged <= otlp_counts(otlp).keys(), 60, "the OTLP backlog")
        wait_until(lambda: not store.outbox_depths(), 30, "an empty outbox")
        store.dispose()
        assert gateway.terminate() == 0
    report(
        f"\n[otlp down] {len(acknowledged)} records: all at Logflare while the OTLP backend "
        f"refused {refused} requests, then all at the OTLP backend once it was back"
    )
    assert max(delivered(logflare).values()) == 1 and max(otlp_counts(otlp).values()) == 1
    assert otlp.violations == [] and logflare.violations == []


def in_process(tmp_path: Path, exporters: dict[str, Any]) -> Gateway:
    """A gateway in this process with these exporters, its stages driven by the test."""
    return in_process_gateway(tmp_path, exporters, FakeClock(), {"sampling": {"default_keep": 1.0}})


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[Gateway, FakeLogflare, FakeOtlp]]:
    """An in-process gateway with both exporters, its stages driven by the test."""
    with FakeLogflare() as logflare, FakeOtlp() as otlp:
        logflare_keys = {"source": logflare.source_id, "api_key": logflare.api_key}
        exporters = {
            "logflare": {"endpoint": logflare.url, **logflare_keys},
            "otlp": {"endpoint": otlp.grpc_url, "timeout": "30s"},
        }
        gateway = in_process(tmp_path, exporters)
        gateway.start()
        yield gateway, logflare, otlp
        otlp.release()
        gateway.shutdown()


def test_a_stalled_otlp_request_does_not_block_logflares_stage(
    both: tuple[Gateway, FakeLogflare, FakeOtlp],
) -> None:
    gateway, logflare, otlp = both
    assert set(gateway.export_stages) == {"logflare", "otlp"}
    records = request([Rec(f"record {n}") for n in range(10)])
    gateway.ingest.commit_many([(records, records.ByteSize())])
    gateway.batch.run_batches(gateway.clock.now_ns())
    otlp.fail_next(OtlpFault.stall())
    stalled = threading.Thread(
        target=gateway.export_stages["otlp"].run_once, args=(gateway.clock.now_ns(),)
    )
    stalled.start()
    otlp.wait_for_arrivals(1)  # the OTLP stage is inside its request now
    report = gateway.export_stages["logflare"].run_once(gateway.clock.now_ns())
    assert report.sent == 10 and set(delivered(logflare)) == set(range(10))
    assert gateway.store.outbox_depths() == {"otlp": 10}  # held by the stalled request
    otlp.release()
    stalled.join(30)
    assert set(otlp_counts(otlp)) == set(range(10)) and not gateway.store.outbox_depths()
    healths = gateway.store.export_healths()
    assert set(healths) == {"logflare", "otlp"}
    assert all(health.last_success and not health.last_error for health in healths.values())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def second_config(tmp_path: Path, logflare: FakeLogflare, port: int) -> Path:
    """The chain's second gateway: its gRPC receiver on a fixed port (the first sends there
    across its restarts), exporting to Logflare."""
    config = gateway_config(tmp_path, f"sqlite:///{tmp_path / 'b.db'}", logflare, name="b.yaml")
    text = config.read_text().replace(
        "grpc: {endpoint: '127.0.0.1:0'}", f"grpc: {{endpoint: '127.0.0.1:{port}'}}"
    )
    config.write_text(text)
    return config


def first_config(tmp_path: Path, port: int) -> Path:
    """The chain's first gateway: Logflare off, OTLP/gRPC to the second."""
    config = tmp_path / "a.yaml"
    config.write_text(
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {endpoint: '127.0.0.1:0'}}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path / 'a.db'}'}}\n"
        "batch: {interval: 200ms, lease: 2s, max_batch_records: 2000,"
        " sampling: {default_keep: 1.0}}\n"
        f"exporters: {{otlp: {{endpoint: 'http://127.0.0.1:{port}', timeout: 2s,"
        " retry_initial: 100ms, retry_max: 500ms, max_batch_events: 500}}\n"
        "viewer: {endpoint: '127.0.0.1:0'}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\n"
    )
    return config


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_chain_of_two_gateways_loses_nothing_through_kill_9_of_either(
    tmp_path: Path, report: Callable[[str], None]
) -> None:
    port = free_port()
    with FakeLogflare() as logflare:
        second = GatewayProcess(second_config(tmp_path, logflare, port))
        first = GatewayProcess(first_config(tmp_path, port))
        sender = SeqSender(per_request=256)
        sender.start(first.address)
        try:
            for victim in ("first", "second"):
                sender.wait_for(len(sender.acknowledged) + 3000)
                if victim == "first":
                    first.kill9()  # mid enqueue, batch or OTLP export
                    first = GatewayProcess(first_config(tmp_path, port))
                    sender.retarget(first.address)
                else:
                    second.kill9()  # mid receive: the first's requests fail, then retry
                    second = GatewayProcess(second_config(tmp_path, logflare, port))
            sender.wait_for(len(sender.acknowledged) + 2000)
        finally:
            acknowledged = all_delivered([sender], logflare, timeout=120)
        assert first.terminate() == 0 and second.terminate() == 0
    counts = delivered(logflare)
    lost = len(acknowledged - counts.keys())
    duplicates = sum(times - 1 for times in counts.values())
    report(
        f"\n[chain] kill -9 of each gateway: {len(acknowledged)} acknowledged by the first, "
        f"{lost} lost at the end of the chain, {duplicates} duplicates"
    )
    assert lost == 0
    assert duplicates <= 2 * EXPORT_BATCH  # at most one request's events per crash
    assert logflare.violations == []


def test_two_otlp_backends_each_get_every_entry(tmp_path: Path) -> None:
    with FakeOtlp() as first, FakeOtlp() as archive:
        exporters = {
            "otlp": {"endpoint": first.grpc_url},
            "otlp/archive": {"endpoint": archive.http_url, "protocol": "http"},
        }
        gateway = in_process(tmp_path, exporters)
        gateway.start()
        try:
            records = request([Rec(f"record {n}") for n in range(5)])
            gateway.ingest.commit_many([(records, records.ByteSize())])
            gateway.batch.run_batches(gateway.clock.now_ns())
            assert gateway.store.outbox_depths() == {"otlp": 5, "otlp/archive": 5}
            now = gateway.clock.now_ns()
            sent = {name: stage.run_once(now).sent for name, stage in gateway.export_stages.items()}
            assert gateway.viewer is not None  # its header names the export as "Export"
            assert 'data-label="Export"' in httpx.get(gateway.viewer.url + "/logs").text
        finally:
            gateway.shutdown()
    assert sent == {"otlp": 5, "otlp/archive": 5}
    assert set(otlp_counts(first)) == set(otlp_counts(archive)) == set(range(5))
