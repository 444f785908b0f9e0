"""`logsieve run` with processing in its own child process (gateway/runtime/supervisor.py): the
records still all arrive, once; the child is restarted when it dies and dies with its
parent; /metrics counts what both processes did. And `receivers.otlp.grpc.processes: 2`: a
second gRPC receiver process on the same port (SO_REUSEPORT), under the same rules; a port
taken by someone else is still an error."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

import httpx
import pytest
import websocket

from gateway.config.receivers import GrpcReceiverConfig
from gateway.errors import EndpointError
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.ingest import Ingest
from gateway.runtime import supervisor
from gateway.runtime.prefork import FORK_VARIABLE
from gateway.runtime.supervisor import METRICS_PREFIX
from gateway.store import Store
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare
from tests.builders import T0
from tests.harness import (
    GatewayProcess,
    SeqSender,
    alive,
    all_delivered,
    gateway_config,
    send,
    wait_until,
)

CONNECTIONS = 24  # all on one process by chance: 2 in 2**24


def _gateway(tmp_path: Path, logflare: FakeLogflare) -> GatewayProcess:
    return GatewayProcess(gateway_config(tmp_path, f"sqlite:///{tmp_path}/q.db", logflare))


def _child(gateway: GatewayProcess) -> int:
    """The batch child's pid (the viewer has a child too)."""
    return _child_with(gateway, "--batch-child")


def _children_with(gateway: GatewayProcess, flag: str) -> list[int]:
    return [pid for pid in gateway.children() if flag in _cmdline(pid)]


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
    assert ready["checks"]["batch_child"] is True
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
        flag = "--batch-child"
        wait_until(lambda: _children_with(gateway, flag) not in ([], [first]), 30, "a new child")
        sender.wait_for(len(sender.acknowledged) + 300)
    finally:
        sender.stop()
    delivered = all_delivered([sender], logflare, 60)
    assert delivered == set(sender.acknowledged)
    assert any("batch child was killed by SIGKILL" in line for line in gateway.log)


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
    assert not any("starting it again" in line for line in gateway.log)  # no child died


def test_the_children_are_forked_from_the_parent_and_hold_only_their_own_files(
    tmp_path: Path, logflare: FakeLogflare
) -> None:
    gateway = _gateway(tmp_path, logflare)
    batch, viewer = _child(gateway), _child_with(gateway, "--viewer-child")
    parent_line = Path(f"/proc/{gateway.process.pid}/cmdline").read_text()
    for pid, name in ((batch, "logsieve-batch"), (viewer, "logsieve-viewer")):
        assert Path(f"/proc/{pid}/comm").read_text().strip() == name
        assert Path(f"/proc/{pid}/cmdline").read_text() == parent_line  # forked, not exec'd
    assert sum("(forked)" in line for line in gateway.log) == 2
    # The batch child was handed the parent's lock on the queue; the viewer was not.
    lock = f"{tmp_path}/q.db.lock"
    assert lock in _open_files(batch)
    assert lock not in _open_files(viewer)
    sent = send(gateway.address, 100)
    wait_until(lambda: len(logflare.events) >= len(sent), 60, "every record in Logflare")
    os.kill(batch, signal.SIGKILL)  # started again as a fresh interpreter: the parent has threads
    flag = "--batch-child"
    wait_until(lambda: _children_with(gateway, flag) not in ([], [batch]), 30, "a new child")
    (again,) = _children_with(gateway, flag)
    assert flag in Path(f"/proc/{again}/cmdline").read_text()
    assert lock in _open_files(again)
    assert gateway.terminate() == 0


def test_forking_off_starts_fresh_interpreters(tmp_path: Path, logflare: FakeLogflare) -> None:
    config = gateway_config(tmp_path, f"sqlite:///{tmp_path}/q.db", logflare)
    gateway = GatewayProcess(config, env={FORK_VARIABLE: "0"})
    for flag in ("--batch-child", "--viewer-child"):
        child = _child_with(gateway, flag)
        assert flag in Path(f"/proc/{child}/cmdline").read_text()
    assert not any("(forked)" in line for line in gateway.log)
    assert gateway.terminate() == 0


def _open_files(pid: int) -> set[str]:
    return {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir() if fd.is_symlink()}


def test_own_process_off_keeps_one_process(tmp_path: Path, logflare: FakeLogflare) -> None:
    config = gateway_config(tmp_path, f"sqlite:///{tmp_path}/q.db", logflare)
    text = config.read_text().replace("batch: {", "batch: {own_process: false, ")
    text = text.replace("viewer: {", "viewer: {own_process: false, ")
    config.write_text(text)
    gateway = GatewayProcess(config)
    sent = send(gateway.address, 50)
    wait_until(lambda: len(logflare.events) >= len(sent), 60, "every record in Logflare")
    assert gateway.children() == []


def test_the_viewer_child_runs_and_readyz_says_so(tmp_path: Path, logflare: FakeLogflare) -> None:
    gateway = _gateway(tmp_path, logflare)
    viewer = _child_with(gateway, "--viewer-child")
    ready = httpx.get(gateway.telemetry_url + "/readyz", timeout=10).json()
    assert ready["checks"]["viewer_child"] is True
    # nice 10: when the cores are short, the receivers get them first
    wait_until(lambda: os.getpriority(os.PRIO_PROCESS, viewer) >= 10, 30, "nice 10")
    assert gateway.terminate() == 0
    assert not alive(viewer)


def test_pages_open_on_the_viewer_child_count_on_the_parents_metrics(
    tmp_path: Path, logflare: FakeLogflare
) -> None:
    gateway = _gateway(tmp_path, logflare)
    viewer = _child_with(gateway, "--viewer-child")
    wait_until(lambda: gateway.viewer_url is not None, 30, "the viewer to serve")
    stream = str(gateway.viewer_url).replace("http", "ws", 1) + "/logs/stream"
    pages = [websocket.create_connection(stream, timeout=10) for _ in range(3)]
    sockets = "logsieve_viewer_sockets "
    wait_until(lambda: _metric(gateway, sockets) == 3, 30, "3 open pages on /metrics")
    pages.pop().close()
    wait_until(lambda: _metric(gateway, sockets) == 2, 30, "2 open pages on /metrics")
    os.kill(viewer, signal.SIGKILL)  # its pages go with it, and so must its gauge
    wait_until(lambda: _metric(gateway, sockets) == 0, 30, "no open pages on /metrics")
    wait_until(
        lambda: any("viewer child was killed by SIGKILL" in line for line in gateway.log),
        30,
        "the child's death named",
    )
    for page in pages:
        page.close()


def _two_receivers(tmp_path: Path, logflare: FakeLogflare) -> GatewayProcess:
    config = gateway_config(tmp_path, f"sqlite:///{tmp_path}/q.db", logflare)
    text = config.read_text().replace(
        "grpc: {endpoint: '127.0.0.1:0'}", "grpc: {endpoint: '127.0.0.1:0', processes: 2}"
    )
    config.write_text(text)
    return GatewayProcess(config)


def _ingest_child(gateway: GatewayProcess) -> int:
    """The ingest child's pid, once it listens on the gateway's port."""
    port = int(gateway.address.rsplit(":", 1)[1])

    def found() -> list[int]:
        return [pid for pid in gateway.children() if "--ingest-child" in _cmdline(pid)]

    wait_until(lambda: len(found()) == 1 and _listens(found()[0], port), 30, "the ingest child")
    return found()[0]


def _listens(pid: int, port: int) -> bool:
    try:
        return _sockets(pid, port, "0A") > 0
    except OSError:  # it has just exited
        return False


def _cmdline(pid: int) -> str:
    """Its command line, and the child flag its name stands for: a child forked from its
    parent (gateway/runtime/prefork.py) keeps the parent's command line, and names itself
    logsieve-batch or logsieve-viewer."""
    try:
        line = Path(f"/proc/{pid}/cmdline").read_text()
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
    role = name.removeprefix("logsieve-") if name.startswith("logsieve-") else ""
    return line + (f"\0--{role}-child" if role else "")


def _sockets(pid: int, port: int, state: str) -> int:
    """TCP sockets on local `port` in `state` (01 established, 0A listening) held by `pid`."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    tables = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))  # grpc listens on v4-mapped v6
    for line in [row for table in tables for row in table.read_text().splitlines()[1:]]:
        fields = line.split()
        local_port, inode = int(fields[1].split(":")[1], 16), fields[9]
        count += local_port == port and fields[3] == state and inode in inodes
    return count


def _senders(address: str) -> list[SeqSender]:
    senders = [
        SeqSender(per_request=20, offset=n * 10_000_000, own_connection=True)
        for n in range(CONNECTIONS)
    ]
    for sender in senders:
        sender.start(address)
    return senders


def _accepted(gateway: GatewayProcess) -> float:
    text = httpx.get(gateway.telemetry_url + "/metrics", timeout=10).text
    line = 'logsieve_receiver_records_accepted_total{receiver="grpc"}'
    return sum(float(row.split()[-1]) for row in text.splitlines() if row.startswith(line))


def test_connections_spread_over_both_processes_and_every_record_arrives_once(
    tmp_path: Path, logflare: FakeLogflare
) -> None:
    gateway = _two_receivers(tmp_path, logflare)
    child, port = _ingest_child(gateway), int(gateway.address.rsplit(":", 1)[1])
    senders = _senders(gateway.address)
    try:
        for sender in senders:
            sender.wait_for(100)
        in_child = _sockets(child, port, "01")
        in_parent = _sockets(gateway.process.pid, port, "01")
    finally:
        delivered = all_delivered(senders, logflare, 90)
    assert in_child > 0 and in_parent > 0 and in_child + in_parent == CONNECTIONS
    counts: dict[int, int] = {}
    for event in logflare.events:
        seq = int(event["event_message"].split()[1])
        counts[seq] = counts.get(seq, 0) + 1
    assert set(counts) == delivered and set(counts.values()) == {1}  # each once
    assert _accepted(gateway) == len(delivered)  # one /metrics sums both receivers
    ready = httpx.get(gateway.telemetry_url + "/readyz", timeout=10).json()
    assert ready["checks"]["ingest_children"] is True


@pytest.mark.slow
def test_a_killed_ingest_child_is_started_again_and_loses_nothing(
    tmp_path: Path, logflare: FakeLogflare
) -> None:
    gateway = _two_receivers(tmp_path, logflare)
    first = _ingest_child(gateway)
    senders = _senders(gateway.address)
    try:
        for sender in senders:
            sender.wait_for(60)
        os.kill(first, signal.SIGKILL)  # its callers reconnect, to the parent or the new child
        wait_until(lambda: _ingest_child(gateway) != first, 30, "a new ingest child")
        for sender in senders:
            sender.wait_for(len(sender.acknowledged) + 60)
    finally:
        delivered = all_delivered(senders, logflare, 90)
    assert delivered == set().union(*(s.acknowledged for s in senders))
    assert any("ingest child was killed by SIGKILL" in line for line in gateway.log)


def test_sigterm_stops_every_receiver_process(tmp_path: Path, logflare: FakeLogflare) -> None:
    gateway = _two_receivers(tmp_path, logflare)
    child = _ingest_child(gateway)
    assert gateway.terminate() == 0
    assert not alive(child)


def test_sighup_stops_every_process_cleanly_and_removes_the_metrics_directory(
    tmp_path: Path, logflare: FakeLogflare
) -> None:
    gateway = _two_receivers(tmp_path, logflare)
    _child_with(gateway, "--batch-child")
    _ingest_child(gateway)
    children = gateway.children()  # these two, and any other child it runs
    pattern = f"{METRICS_PREFIX}{gateway.process.pid}-*"
    assert len(list(Path(tempfile.gettempdir()).glob(pattern))) == 1
    gateway.process.send_signal(signal.SIGHUP)
    assert gateway.process.wait(60) == 0
    assert not any(alive(child) for child in children)
    assert list(Path(tempfile.gettempdir()).glob(pattern)) == []
    said = "SIGHUP: shutting down (no reload: start it again to apply a changed config)"
    wait_until(lambda: any("stopped;" in line for line in gateway.log), 10, "the last line")
    assert sum(said in line for line in gateway.log) == 1
    assert not any("starting it again" in line for line in gateway.log)  # no child died


def _child_with(gateway: GatewayProcess, flag: str) -> int:
    def found() -> list[int]:
        return [pid for pid in gateway.children() if flag in _cmdline(pid)]

    wait_until(lambda: len(found()) == 1, 30, f"the {flag} child")
    return found()[0]


def test_one_process_does_not_share_its_port(store: Store) -> None:
    ingest = Ingest(store, FakeClock(T0))
    first = OtlpGrpcReceiver(ingest, GrpcReceiverConfig(endpoint="127.0.0.1:0"))
    first.start()
    try:
        taken = GrpcReceiverConfig(endpoint=f"127.0.0.1:{first.port}")
        second = OtlpGrpcReceiver(ingest, taken)
        in_use = rf"receivers\.otlp\.grpc\.endpoint: 127\.0\.0\.1:{first.port} is already in use"
        with pytest.raises(EndpointError, match=in_use):  # `run` says so and exits 1
            second.start()
    finally:
        first.shutdown(grace=1)


def test_removing_the_shared_metrics_directory_forgets_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    monkeypatch.setenv(supervisor.METRICS_DIR_VARIABLE, str(directory))
    supervisor.remove_shared_metrics(directory)
    assert not directory.exists()
    assert supervisor.METRICS_DIR_VARIABLE not in os.environ
