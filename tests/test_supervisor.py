"""`logsieve run` with processing in its own child process (gateway/supervisor.py): the
records still all arrive, once; the child is restarted when it dies and dies with its
parent; /metrics counts what both processes did."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.config import parse_config
from gateway.supervisor import wants_child
from gateway.testing import FakeLogflare
from tests.harness import (
    GatewayProcess,
    SeqSender,
    alive,
    all_delivered,
    gateway_config,
    send,
    wait_until,
)


@pytest.fixture(autouse=True)
def no_gateway_left_behind() -> Iterator[None]:
    yield
    GatewayProcess.kill_all()


@pytest.fixture
def logflare() -> Iterator[FakeLogflare]:
    with FakeLogflare() as fake:
        yield fake


def _gateway(tmp_path: Path, logflare: FakeLogflare) -> GatewayProcess:
    return GatewayProcess(gateway_config(tmp_path, f"sqlite:///{tmp_path}/q.db", logflare))


def _child(gateway: GatewayProcess) -> int:
    wait_until(lambda: len(gateway.children()) == 1, 30, "the processing child")
    (pid,) = gateway.children()
    assert "--processing-child" in Path(f"/proc/{pid}/cmdline").read_text()
    return pid


def _metric(gateway: GatewayProcess, line_start: str) -> float:
    text = httpx.get(gateway.telemetry_url + "/metrics", timeout=10).text
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(line_start)]
    assert len(values) == 1, f"{line_start} appears {len(values)} times"
    return values[0]


def test_processing_runs_in_a_child_and_every_record_arrives_once(
    tmp_path: Path, logflare: FakeLogflare
) -> None:
    gateway = _gateway(tmp_path, logflare)
    child = _child(gateway)
    sent = send(gateway.address, 500)
    wait_until(lambda: len(logflare.events) >= len(sent), 60, "every record in Logflare")
    seqs = sorted(int(e["event_message"].split()[1]) for e in logflare.events)
    assert seqs == sorted(sent)  # each acknowledged record once
    # The receiver counted in the parent, the batch stage in the child: one /metrics shows both.
    accepted = 'logsieve_receiver_records_accepted_total{receiver="grpc"}'
    assert _metric(gateway, accepted) == len(sent)
    wait_until(lambda: _metric(gateway, "logsieve_batch_records_total") == len(sent), 30, "count")
    assert _metric(gateway, "logsieve_exported_events_total") == len(sent)
    ready = httpx.get(gateway.telemetry_url + "/readyz", timeout=10).json()
    assert ready["checks"]["processing_child"] is True
    assert alive(child)


def test_a_killed_child_is_started_again_and_loses_nothing(
    tmp_path: Path, logflare: FakeLogflare
) -> None:
    gateway = _gateway(tmp_path, logflare)
    first = _child(gateway)
    sender = SeqSender()
    sender.start(gateway.address)
    try:
        sender.wait_for(300)
        os.kill(first, signal.SIGKILL)  # mid-stream: maybe mid-batch
        wait_until(lambda: gateway.children() not in ([], [first]), 30, "a new child")
        sender.wait_for(len(sender.acknowledged) + 300)
    finally:
        sender.stop()
    delivered = all_delivered([sender], logflare, 60)
    assert delivered == set(sender.acknowledged)
    assert any("processing child exited" in line for line in gateway.log)


def test_the_child_dies_with_its_parent(tmp_path: Path, logflare: FakeLogflare) -> None:
    gateway = _gateway(tmp_path, logflare)
    child = _child(gateway)
    gateway.kill9()  # no chance to stop the child in order: the kernel does it
    wait_until(lambda: not alive(child), 10, "the orphaned child to die")


def test_sigterm_stops_parent_and_child_in_order(tmp_path: Path, logflare: FakeLogflare) -> None:
    gateway = _gateway(tmp_path, logflare)
    child = _child(gateway)
    assert gateway.terminate() == 0
    assert not alive(child)
    assert not any("processing child exited" in line for line in gateway.log)


def test_own_process_off_keeps_one_process(tmp_path: Path, logflare: FakeLogflare) -> None:
    config = gateway_config(tmp_path, f"sqlite:///{tmp_path}/q.db", logflare)
    text = config.read_text().replace("processor: {", "processor: {own_process: false, ")
    config.write_text(text)
    gateway = GatewayProcess(config)
    sent = send(gateway.address, 50)
    wait_until(lambda: len(logflare.events) >= len(sent), 60, "every record in Logflare")
    assert gateway.children() == []


@pytest.mark.parametrize(
    ("tree", "child"),
    [
        ({}, True),
        ({"storage": {"url": "sqlite:///:memory:"}}, False),  # no second process can see it
        ({"components": ["ingest", "viewer"]}, False),
        ({"components": ["processing"]}, False),
        ({"processor": {"own_process": False}}, False),
        ({"storage": {"url": "postgresql+psycopg://u@h/db"}}, True),
    ],
)
def test_when_run_uses_a_child(tree: dict[str, object], child: bool) -> None:
    assert wants_child(parse_config(tree, env={})) is child
