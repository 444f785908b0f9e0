"""SQLite busy, out of disk, deleted or made immutable under a running gateway: the receiver
answers UNAVAILABLE (never acknowledges into a file that is gone), /readyz says why, one log
line says what happened, and it recovers by itself where it can."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.config.receivers import GrpcReceiverConfig
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store, _engine
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare
from tests.builders import T0, Rec, request
from tests.conftest import require, small_filesystem
from tests.harness import GatewayProcess, SeqSender, delivered, gateway_config, wait_until


def serve(store: Store) -> OtlpGrpcReceiver:
    receiver = OtlpGrpcReceiver(
        Ingest(store, FakeClock(T0)), GrpcReceiverConfig(endpoint="127.0.0.1:0")
    )
    receiver.start()
    return receiver


def export(receiver: OtlpGrpcReceiver, records: int = 10) -> grpc.StatusCode:
    with grpc.insecure_channel(receiver.address) as channel:
        try:
            LogsServiceStub(channel).Export(request([Rec("x" * 100, 9)] * records), timeout=20)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def test_sqlite_locked_by_another_process_is_unavailable_until_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_engine, "BUSY_TIMEOUT_MS", 300)  # not the default 5 s in a test
    path = tmp_path / "queue.db"
    store = Store(f"sqlite:///{path}")
    store.create_schema()
    receiver = serve(store)
    try:
        assert export(receiver) is grpc.StatusCode.OK
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        assert export(receiver) is grpc.StatusCode.UNAVAILABLE
        other.execute("ROLLBACK")
        other.close()
        assert export(receiver) is grpc.StatusCode.OK
    finally:
        receiver.shutdown(grace=1)
    assert store.queue_depth() == 20
    store.dispose()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path, "4m") as mount:
        yield mount


def test_a_full_disk_is_unavailable_and_recovers_when_space_returns(small_disk: Path) -> None:
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (2 * 1024 * 1024))
    store = Store(f"sqlite:///{small_disk / 'queue.db'}")
    store.create_schema()
    receiver = serve(store)
    try:
        codes = [export(receiver, records=500) for _ in range(40)]  # about 4 MiB of records
        assert grpc.StatusCode.UNAVAILABLE in codes
        assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}
        accepted = codes.count(grpc.StatusCode.OK) * 500
        filler.unlink()  # space comes back
        assert export(receiver, records=500) is grpc.StatusCode.OK
    finally:
        receiver.shutdown(grace=1)
    assert store.queue_depth() == accepted + 500  # every OK is there, nothing else
    store.dispose()


# -- a real `logsieve run` whose files vanish or turn read-only under load -------------------

DB_FILES = ("", "-wal", "-shm")


@pytest.fixture
def gateway_under_load(tmp_path: Path) -> Iterator[tuple[GatewayProcess, list[SeqSender], Path]]:
    """A gateway with its batch child running and two senders sending."""
    database = tmp_path / "queue.db"
    with FakeLogflare() as logflare:
        gateway = GatewayProcess(gateway_config(tmp_path, f"sqlite:///{database}", logflare))
        senders = [SeqSender(per_request=50, offset=i * 10_000_000) for i in range(2)]
        for sender in senders:
            sender.start(gateway.address)
        try:
            # The child processes (batch stage, export) run: records reach Logflare.
            wait_until(lambda: len(delivered(logflare)) >= 1000, 60, "records delivered")
            yield gateway, senders, database
        finally:
            for sender in senders:
                sender.stop()
            subprocess.run(["chattr", "-i", *names(database)], capture_output=True)
            GatewayProcess.kill_all()


def names(database: Path) -> list[str]:
    return [f"{database}{suffix}" for suffix in DB_FILES]


def readiness(gateway: GatewayProcess) -> dict[str, Any]:
    return httpx.get(gateway.telemetry_url + "/readyz", timeout=10).json()  # type: ignore[no-any-return]


def acknowledged(senders: list[SeqSender]) -> int:
    return sum(len(sender.acknowledged) for sender in senders)


def refused_after(senders: list[SeqSender], more: int) -> None:
    """Wait until each sender has had `more` more requests refused."""
    targets = [sender.failures + more for sender in senders]
    wait_until(
        lambda: all(s.failures >= t for s, t in zip(senders, targets, strict=True)),
        60,
        "refused requests",
    )


def test_deleting_the_database_under_load_stops_every_acknowledgement(
    gateway_under_load: tuple[GatewayProcess, list[SeqSender], Path],
    report: Callable[[str], None],
) -> None:
    gateway, senders, database = gateway_under_load
    before = acknowledged(senders)
    for name in names(database):
        os.unlink(name)
    wait_until(lambda: not readiness(gateway)["ready"], 5, "/readyz to fail")
    reason = readiness(gateway)["reasons"]["database"]
    settled = acknowledged(senders)  # at most the requests in flight during the unlink
    refused_after(senders, 20)
    assert acknowledged(senders) == settled  # nothing acknowledged into the unlinked file
    assert {code for s in senders for code in s.codes} == {"UNAVAILABLE"}
    assert "queue.db was deleted" in reason
    assert gateway.process.poll() is None  # refusing, not dead
    assert not database.exists()  # and no empty database made in its place
    lines = [line for line in gateway.log if "was deleted while the gateway ran" in line]
    assert len(lines) == 1, lines
    assert not any("Traceback" in line for line in gateway.log)
    report(
        f"\n[deleted under load] {settled - before} records acknowledged while the unlink ran "
        f"(in flight), 0 after; {sum(s.failures for s in senders)} requests refused; "
        f"/readyz: {reason!r}"
    )


def test_an_immutable_database_under_load_is_refused_not_a_silent_sigbus(
    gateway_under_load: tuple[GatewayProcess, list[SeqSender], Path],
    report: Callable[[str], None],
) -> None:
    gateway, senders, database = gateway_under_load
    result = subprocess.run(["chattr", "+i", *names(database)], capture_output=True)
    require(result.returncode == 0, "chattr +i needs root and a filesystem that supports it")

    def refused_or_dead() -> bool:
        return gateway.process.poll() is not None or not readiness(gateway)["ready"]

    wait_until(refused_or_dead, 5, "/readyz to fail")
    sigbus = [line for line in gateway.log if "Fatal Python error: Bus error" in line]
    if gateway.process.poll() is not None:  # lost the race to SIGBUS: it must have said so
        assert sigbus, "".join(gateway.log[-20:])
        report("\n[immutable] the receivers' process died of SIGBUS (said on stderr)")
        return
    settled = acknowledged(senders)
    refused_after(senders, 20)
    assert acknowledged(senders) == settled
    assert "cannot be written" in readiness(gateway)["reasons"]["database"]
    subprocess.run(["chattr", "-i", *names(database)], check=True)
    for sender in senders:  # writable again: taken again without a restart
        sender.wait_for(len(sender.acknowledged) + 500)
    lines = [line for line in gateway.log if "cannot be written" in line and "refusing" in line]
    assert len(lines) == 1, lines
    report(
        f"\n[immutable under load] receivers refused ({sum(s.failures for s in senders)} "
        f"requests), recovered after chattr -i; SIGBUS in a child: {len(sigbus)} (on stderr)"
    )
