"""Chained for real: one logsieve's batch stage and outbox export over OTLP (gRPC and HTTP) into
a second logsieve's receivers; every record fed to the first is counted, exactly, in the
`log_count` of what the second has queued, and each entry keeps its resource, scope and pattern.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from gateway.config.otlp_exporter import OtlpExporterConfig
from gateway.config.receivers import GrpcReceiverConfig, HttpReceiverConfig
from gateway.config.settings import parse_config
from gateway.export.otlp import OtlpExporter
from gateway.export.outbox import ExportStage
from gateway.otlp import Origin, rows_from_request, to_python
from gateway.pipeline.batch import BatchSettings, BatchStage, Outbound
from gateway.pipeline.grouping import Grouping
from gateway.pipeline.learning import miner_for
from gateway.pipeline.sampling import SamplingPolicy
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.http import OtlpHttpReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store
from testkit.clock import FakeClock
from tests.builders import T0, Rec, request

RESOURCES = {"web": {"host.name": "web-1"}, "api": {"host.name": "api-7", "zone": "b"}}
USERS = ["admin", "oracle", "guest", "test", "root"] * 6  # 30 records of one pattern
DISK_FULL = 4
TRACE, SPAN = bytes(range(1, 17)), bytes(range(1, 9))
B_RECORD_LIMIT = 64 * 1024  # the second gateway's queue.max_record_bytes


@pytest.fixture
def second(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'second.db'}", pool_size=4)
    store.create_schema()
    yield store
    store.dispose()


@pytest.fixture(params=["grpc", "http"])
def endpoint(request: pytest.FixtureRequest, second: Store) -> Iterator[tuple[str, str]]:
    """The second gateway's receiver for one protocol: (protocol, URL for the exporter)."""
    clock = FakeClock(T0)
    ingest = Ingest(second, clock, max_record_bytes=B_RECORD_LIMIT)
    if request.param == "grpc":
        grpc_receiver = OtlpGrpcReceiver(ingest, GrpcReceiverConfig(endpoint="127.0.0.1:0"))
        grpc_receiver.start()
        yield "grpc", f"http://{grpc_receiver.address}"
        grpc_receiver.shutdown(grace=1)
    else:
        config = HttpReceiverConfig.model_validate({"endpoint": "127.0.0.1:0"})
        http_receiver = OtlpHttpReceiver(ingest, config, clock)
        http_receiver.start()
        yield "http", http_receiver.url
        http_receiver.shutdown()


def feed(first: Store) -> int:
    """Per service: a flood of one pattern, a repeated error with a trace, and (web only) one
    record too large for the second gateway. Returns how many records were fed."""
    fed = 0
    for service, resource in RESOURCES.items():
        records = [
            Rec(f"Invalid user {user} from 10.0.{i % 7}.{i % 250}", 9, time=T0 + i)
            for i, user in enumerate(USERS)
        ]
        error = Rec("disk full", 17, attributes={"disk": "/var"}, trace_id=TRACE, span_id=SPAN)
        records += [error] * DISK_FULL
        if service == "web":
            records.append(Rec("x" * (2 * B_RECORD_LIMIT), 13))
        built = request(records, service=service, scope=f"{service}-logger", resource=resource)
        first.enqueue(rows_from_request(built, T0, first.origin_ids).rows)
        fed += len(records)
    return fed


def received(second: Store) -> list[tuple[dict[str, Any], str, LogRecord]]:
    """What the second gateway queued: (resource, scope, record with its body back)."""
    claim = second.claim_batch(1, 60 * 10**9, 10_000)
    records = second.claimed_records([row[0] for row in claim.rows])
    out = []
    for row_id, _, _, body, origin_id in claim.rows:
        origin = Origin(claim.origins[origin_id])
        record = LogRecord.FromString(records[row_id])
        record.body.string_value = body
        out.append((dict(origin.resource), origin.scope, record))
    return out


def test_every_count_arrives_exactly(
    store: Store, second: Store, endpoint: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    protocol, url = endpoint
    fed = feed(store)
    exporter = OtlpExporter(
        OtlpExporterConfig.model_validate({"endpoint": url, "protocol": protocol})
    )
    batch = parse_config(
        {"batch": {"dedupe": {"keys": ["pattern", "severity", "service.name"]}}}, env={}
    ).batch
    settings = BatchSettings(grouping=Grouping.from_config(batch.dedupe))
    stage = BatchStage(
        store,
        SamplingPolicy(),
        settings,
        outbound=[Outbound("logflare", exporter.encode)],
        miner=miner_for(batch),
    )
    assert stage.run_batches(T0).claimed == fed
    kept = store.outbox_depth()
    with caplog.at_level(logging.WARNING, logger="logsieve.exporter"):
        report = ExportStage(store, exporter).run_once(T0 + 1)
    exporter.shutdown()
    # The backend stored all but one: the request's events are kept as dead letters together
    # (which one it rejected is not said, and sending the others again would store them twice).
    assert (report.sent, report.dead_lettered, store.outbox_depth()) == (kept - 1, kept, 0)
    [reason] = {reason for _, reason in store.dead_letters()}
    assert f"rejected 1 of {kept} records" in reason and f"stored the other {kept - 1}" in reason

    arrived = received(second)
    assert len(arrived) == kept - 1  # the oversized entry was refused by the second gateway
    assert f"rejected 1 of {kept} records" in caplog.text  # its partial success, counted
    counts = Counter[tuple[str, str, str]]()
    for resource, scope, record in arrived:
        attributes = {kv.key: to_python(kv.value) for kv in record.attributes}
        key = (resource["service.name"], scope, attributes.get("logsieve.pattern.template", ""))
        counts[key] += attributes["log_count"]
        assert resource == {
            "service.name": resource["service.name"],
            **RESOURCES[resource["service.name"]],
        }
        assert isinstance(attributes["first_observed_timestamp"], str)
    assert sum(counts.values()) == fed - 1  # every record but the refused one, exactly
    for service in RESOURCES:
        flood = counts[(service, f"{service}-logger", "Invalid user <*> from <IP>")]
        errors = counts[(service, f"{service}-logger", "disk full")]
        assert (flood, errors) == (len(USERS), DISK_FULL)
    traced = [r for _, _, r in arrived if r.body.string_value == "disk full"]
    assert {(r.trace_id, r.span_id, r.severity_number) for r in traced} == {(TRACE, SPAN, 17)}
