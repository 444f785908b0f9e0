"""The composition root (gateway/runtime/app.py) builds what the roles put in this process:
one enqueue path shared by both receivers, each counting under its own name, and the
viewer only where it runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.config.settings import Config, parse_config
from gateway.runtime.app import Gateway, Overrides
from gateway.runtime.roles import Child, decide_roles
from gateway.runtime.supervisor import config_for
from testkit.clock import FakeClock
from tests.builders import Rec, request

ACCEPTED = "logsieve_receiver_records_accepted_total"
RECEIVED = "logsieve_receiver_records_received_total"


def config(storage_url: str) -> Config:
    tree: dict[str, Any] = {
        "receivers": {
            "otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}
        },
        "storage": {"url": storage_url},
        "viewer": {"endpoint": "127.0.0.1:0"},
        "telemetry": {"metrics": {"enabled": False}},
    }
    return parse_config(tree, env={})


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """Everything in this one process (a Gateway built directly)."""
    url = f"sqlite:///{tmp_path / 'q.db'}"
    started = Gateway(config(url), Overrides(clock=FakeClock(), run_jobs=False))
    started.start()
    yield started
    started.shutdown()


def counted(gateway: Gateway, name: str, receiver: str) -> float | None:
    return gateway.metrics.registry.get_sample_value(name, {"receiver": receiver})


def test_both_receivers_share_one_ingest_and_count_under_their_own_names(
    gateway: Gateway,
) -> None:
    assert gateway.http_receiver is not None
    assert gateway.receiver.ingest is gateway.ingest
    assert gateway.http_receiver.ingest is gateway.ingest
    with grpc.insecure_channel(gateway.receiver.address) as channel:
        LogsServiceStub(channel).Export(request([Rec("by grpc")] * 3), timeout=10)
    body = request([Rec("by http")] * 2).SerializeToString()
    answer = httpx.post(
        gateway.http_receiver.url + "/v1/logs",
        content=body,
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert gateway.store.queue_depth() == 5  # one queue behind both
    assert counted(gateway, RECEIVED, "grpc") == counted(gateway, ACCEPTED, "grpc") == 3
    assert counted(gateway, RECEIVED, "http") == counted(gateway, ACCEPTED, "http") == 2


def test_the_viewer_is_built_only_in_the_process_that_runs_it(tmp_path: Path) -> None:
    shared = config(f"sqlite:///{tmp_path / 'q.db'}")
    parent_roles = decide_roles(shared)  # the viewer goes to a child
    child_roles = decide_roles(shared, Child.VIEWER)
    quiet = Overrides(run_jobs=False, config_warnings=False)
    parent = Gateway(config_for(shared, parent_roles), quiet, roles=parent_roles)
    child = Gateway(config_for(shared, child_roles), quiet, roles=child_roles)
    try:
        assert parent.viewer is None and parent.feed is None
        assert child.viewer is not None and child.feed is not None
    finally:
        parent.shutdown()
        child.shutdown()
