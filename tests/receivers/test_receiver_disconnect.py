"""Clients that leave before their reply, against a real `logsieve run`: a gRPC call cancelled,
its channel closed or its deadline passed while the commit waits, and an HTTP client that
resets its connection right after the body. Each is counted (gRPC) and quiet: no traceback."""

from __future__ import annotations

import os
import re
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.store._writer_lock import WriterLock
from testkit.logflare import FakeLogflare
from tests.builders import Rec, request
from tests.harness import GatewayProcess, gateway_config, wait_until


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[GatewayProcess, Path]]:
    database = tmp_path / "queue.db"
    with FakeLogflare() as logflare:
        # Ingest alone: the receivers are the only writers, so a waiter on the lock is theirs.
        config = gateway_config(tmp_path, f"sqlite:///{database}", logflare, components="[ingest]")
        started = GatewayProcess(config)
        try:
            yield started, database
        finally:
            if started.process.poll() is None:
                started.terminate()


def commits_waiting(lock_file: Path) -> int:
    """Writers blocked on the SQLite writer lock's flock, from /proc/locks ("->" lines)."""
    inode = os.stat(lock_file).st_ino
    lines = Path("/proc/locks").read_text().splitlines()
    return sum(1 for line in lines if "->" in line and f":{inode} " in line)


def abandoned(gateway: GatewayProcess) -> float:
    return metric(gateway, "logsieve_receiver_requests_abandoned_total", "grpc")


def in_flight(gateway: GatewayProcess) -> float:
    return metric(gateway, "logsieve_receiver_requests_in_flight", "grpc")


def accepted(gateway: GatewayProcess, receiver: str) -> float:
    return metric(gateway, "logsieve_receiver_records_accepted_total", receiver)


def metric(gateway: GatewayProcess, name: str, receiver: str) -> float:
    metrics = httpx.get(gateway.telemetry_url + "/metrics", timeout=10).text
    found = re.search(rf'{name}\{{receiver="{receiver}"\}} (\S+)', metrics)
    return float(found.group(1)) if found else 0.0


def http_endpoint(gateway: GatewayProcess) -> tuple[str, int]:
    (found,) = re.findall(r"OTLP/HTTP receiver listening on http://(\S+)", "".join(gateway.log))
    host, port = found.rsplit(":", 1)
    return host, int(port)


def send_then_reset(address: tuple[str, int], body: bytes) -> socket.socket:
    """POST a whole body on a socket that closes with a TCP reset (linger 0)."""
    head = (
        "POST /v1/logs HTTP/1.1\r\nHost: logsieve\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    client = socket.create_connection(address, timeout=10)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.sendall(head.encode() + body)
    return client


def test_clients_that_leave_while_the_commit_waits_are_counted_without_a_traceback(
    gateway: tuple[GatewayProcess, Path],
) -> None:
    process, database = gateway
    payload = request([Rec("left early")])
    lock = WriterLock(str(database))
    lock_file = Path(f"{database}-writer.lock")

    def waiting() -> bool:
        return commits_waiting(lock_file) >= 1

    with lock:  # every commit now waits for this test
        client = send_then_reset(http_endpoint(process), payload.SerializeToString())
        wait_until(waiting, 30, "the HTTP commit waiting on the lock")
        client.close()  # a reset: the reply goes nowhere
    wait_until(lambda: accepted(process, "http") == 1, 30, "the HTTP request's record committed")

    with lock:
        channels = [grpc.insecure_channel(process.address) for _ in range(3)]
        stubs = [LogsServiceStub(channel) for channel in channels]
        cancelled = stubs[0].Export.future(payload, timeout=60)
        closed = stubs[1].Export.future(payload, timeout=60)
        timed_out = stubs[2].Export.future(payload, timeout=5)
        # All three must be in the handler before they leave: a call that leaves before it
        # gets there has nothing to count (its deadline leaves room for a loaded machine).
        wait_until(lambda: in_flight(process) == 3, 30, "the three gRPC calls handled")
        # The receiver coalesces calls into one commit: one waiter, holding all three.
        wait_until(waiting, 30, "the gRPC commit waiting on the lock")
        cancelled.cancel()
        channels[1].close()
        assert closed.exception(timeout=30) is not None  # the client's side of it
        with pytest.raises(grpc.RpcError) as deadline:
            timed_out.result(timeout=30)
        assert deadline.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        # Still holding the commit: a call whose commit finished before the server saw its
        # client go (a closed channel's connection is noticed a moment later) was answered,
        # not abandoned.
        wait_until(lambda: abandoned(process) == 3, 30, "three abandoned gRPC calls counted")
    wait_until(lambda: in_flight(process) == 0, 30, "no call left in flight")

    # The gateway still answers, and the records of the abandoned calls were committed.
    with grpc.insecure_channel(process.address) as channel:
        LogsServiceStub(channel).Export(request([Rec("after")]), timeout=30)
    assert accepted(process, "grpc") == 4
    assert process.terminate() == 0
    log = "".join(process.log)
    assert "Traceback" not in log and "Exception" not in log, log
    assert "ERROR" not in log, log
