"""The viewer cannot hurt ingest, against a real `logsieve run` (the viewer in its own child):
a page that never reads costs bounded memory and is dropped, then resumes from its cursor
(with entries of 0.8 MB sent whole, so that the per-page byte bound is what holds);
200 pages opening at once refuse nothing and lose nothing (their cost to the receivers'
latency is measured by `make bench`, row 7j: viewer-isolation)."""

from __future__ import annotations

import json
import re
import socket
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
import websocket
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from testkit.logflare import FakeLogflare
from testkit.pages import PAGES, PacedSender, alternate_phases, p99
from tests.builders import Rec, request
from tests.harness import GatewayProcess, delivered, gateway_config, wait_until

MB = 1024 * 1024
BIG_RECORDS, BIG_BODY_CHARS = 30, 800_000  # the figure: 30 records of about 0.8 MB
MAX_RSS_GROWTH = 300 * MB
PHASE_S, ROUNDS = 4.0, 3  # 4 s a phase, 3 rounds of alone then with pages


def viewer_stream(gateway: GatewayProcess) -> str:
    """The viewer's ws:// stream URL, once its child says where it serves."""
    found: list[str] = []

    def said() -> bool:
        for line in list(gateway.log):
            if match := re.search(r"viewer at (http://[\w.:\[\]-]+)/logs", line):
                found.append(match.group(1))
        return bool(found)

    wait_until(said, 60, "the viewer child to serve")
    return found[-1].replace("http://", "ws://", 1) + "/logs/stream"


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and every process below it, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return sum(_rss(pid) for pid in tree)


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    kib = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return int(kib) * 1024


class PeakRss:
    """Samples the tree's RSS every 50 ms on a thread; `peak` is the most seen."""

    def __init__(self, root: int) -> None:
        self.root, self.peak = root, tree_rss(root)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, tree_rss(self.root))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def never_reading_follower(url: str) -> tuple[websocket.WebSocket, int]:
    """A page with a 2 KiB receive buffer (set before connect) that reads its hello and
    backfill and then nothing more; returns it and its cursor."""
    ws = websocket.create_connection(
        url, timeout=10, sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)]
    )
    assert "hello" in json.loads(ws.recv())
    ws.send(json.dumps({"after": "0"}))
    while "entries" not in (first := json.loads(ws.recv())):
        pass
    return ws, int(first.get("cursor", "0"))


def read_to_the_end(ws: websocket.WebSocket, seconds: float) -> str:
    """Read everything left until the server ends the connection; returns the close reason
    ('' when none came through). Fails if it is still open after `seconds`."""
    ws.settimeout(seconds)
    while True:
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return ""
        except websocket.WebSocketTimeoutException:
            raise AssertionError(f"the server kept a page that reads nothing {seconds} s") from None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return str(data[2:].decode(errors="replace"))
        if not data:
            return ""


def send_big_records(address: str) -> None:
    stub = LogsServiceStub(grpc.insecure_channel(address))
    for n in range(BIG_RECORDS):
        body = f"big {n} " + "x" * BIG_BODY_CHARS
        stub.Export(request([Rec(body, 13)]), timeout=30)


def test_a_page_that_never_reads_costs_bounded_memory_is_dropped_and_resumes(
    tmp_path: Path, logflare: FakeLogflare
) -> None:
    config = gateway_config(tmp_path, f"sqlite:///{tmp_path}/q.db", logflare)
    # Entries whole in the stream, as before they were shortened: the byte bound must hold.
    whole = "viewer: {max_entry_kib: 1024, "
    config.write_text(config.read_text().replace("viewer: {", whole))
    gateway = GatewayProcess(config)
    url = viewer_stream(gateway)
    stuck, cursor = never_reading_follower(url)
    before = tree_rss(gateway.process.pid)
    peak = PeakRss(gateway.process.pid)
    try:
        send_big_records(gateway.address)
        wait_until(lambda: len(logflare.events) >= BIG_RECORDS, 120, "every record processed")
        said = read_to_the_end(stuck, 60)  # dropped: given up, or told it fell behind
    finally:
        growth = peak.stop() - before
    dropped = [line.strip() for line in gateway.log if "live page" in line]
    print(
        f"gateway RSS growth {growth / MB:.0f} MB (bound {MAX_RSS_GROWTH / MB:.0f} MB); {dropped}"
    )
    assert growth < MAX_RSS_GROWTH
    assert said in ("", "fell behind the stream; resume later")
    assert dropped  # it said which way it went: fell behind, or read nothing for too long
    # The page comes back with its cursor and gets what it missed, as the page and `logsieve
    # tail` do: on a close, again from the cursor it got to (entries of 0.8 MB sent whole
    # may pass the byte bound again while the feed still delivers them).
    caught_up = resume(url, cursor, BIG_RECORDS)
    assert sorted(e["body"].split()[1] for e in caught_up) == sorted(map(str, range(BIG_RECORDS)))
    assert all(len(e["body"]) > BIG_BODY_CHARS and "shortened" not in e for e in caught_up)


def resume(url: str, cursor: int, want: int, attempts: int = 10) -> list[dict[str, Any]]:
    """Follow from `cursor` until `want` entries arrived, reconnecting from the last cursor
    whenever the server closes the socket."""
    got: list[dict[str, Any]] = []
    for _ in range(attempts):
        ws = websocket.create_connection(url, timeout=30)
        assert "hello" in json.loads(ws.recv())
        ws.send(json.dumps({"after": str(cursor)}))
        while len(got) < want and (text := ws.recv()):
            message = json.loads(text)
            cursor = max(cursor, int(message.get("cursor", "0")))
            got += message.get("entries", {}).get("entries", [])
        ws.close()
        if len(got) >= want:
            return got
    raise AssertionError(f"{len(got)} of {want} entries after {attempts} connections")


# -- 200 pages opening at once ----------------------------------------------------------------


@pytest.mark.slow
def test_two_hundred_pages_opening_at_once_leave_ingest_latency_alone(
    tmp_path: Path, logflare: FakeLogflare
) -> None:
    gateway = GatewayProcess(gateway_config(tmp_path, f"sqlite:///{tmp_path}/q.db", logflare))
    url = viewer_stream(gateway)
    sender = PacedSender(gateway.address)
    phases = alternate_phases(sender, url, ROUNDS, PHASE_S)
    alone, with_pages = phases.alone, phases.with_pages
    print(
        f"ingest p99 alone {p99(alone) * 1000:.1f} ms, with {PAGES} pages opening"
        f" {p99(with_pages) * 1000:.1f} ms (x{phases.ratio:.2f}), {len(alone)} +"
        f" {len(with_pages)} requests"
    )
    # The latency ratio is printed, not asserted: the suite runs on every core, so another
    # test's load may land on one phase and not the other (3.1 seen once in CI). `make bench`
    # measures it (row 7j, viewer-isolation); here what must hold is that nothing is refused
    # and nothing is lost while the pages open (every page's backfill: alternate_phases).
    assert sender.failures == []  # no UNAVAILABLE, nothing refused
    acknowledged = sender.acknowledged
    wait_until(lambda: acknowledged <= delivered(logflare).keys(), 120, "every record delivered")
