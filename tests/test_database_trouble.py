"""SQLite busy or out of disk: the receiver answers UNAVAILABLE, then recovers by itself."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.receiver import OtlpGrpcReceiver
from gateway.receivers_config import GrpcReceiverConfig
from gateway.store import Store, _engine
from gateway.testing import FakeClock
from tests.builders import T0, Rec, request
from tests.conftest import require


def serve(store: Store) -> OtlpGrpcReceiver:
    receiver = OtlpGrpcReceiver(store, GrpcReceiverConfig(endpoint="127.0.0.1:0"), FakeClock(T0))
    receiver.start()
    return receiver


def export(receiver: OtlpGrpcReceiver, records: int = 10) -> grpc.StatusCode:
    with grpc.insecure_channel(receiver.address) as channel:
        try:
            LogsServiceStub(channel).Export(request([Rec("x" * 100, 9)] * records), timeout=20)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return]
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
    """A 4 MiB filesystem of our own (root only: CI runs as root)."""
    require(os.geteuid() == 0, "mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


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
