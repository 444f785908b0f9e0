"""`make soak`: a real `logsieve run` under steady load for a long time, with trouble around it.

For `--minutes` (30 by default) client processes send the template flood at half the
gateway's maximum ingest rate (measured first, in the same run), 20 pages follow the live
stream (one of them never reads), and the fake Logflare fails one request in 20. Every 10 s
the soak samples the gateway's RSS (parent and children), the export lag (a probe record a
second: its acknowledgement to its arrival at Logflare) and the ingest latency; the first
`--window-minutes` are compared with the last. At the end the senders stop, the queue
drains, and the counts Logflare received must add up to exactly the records acknowledged.

The figures go to docs/soak.md (or `--out`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import websocket

from bench import procs
from bench.clients import LoadPlan, LoadRun
from bench.soak_report import (
    FAIL_ONE_IN,
    FOLLOWERS,
    SAMPLE_EVERY_S,
    Sample,
    SoakResult,
    document,
    render,
)
from bench.soak_senders import PacedSenders, SenderReport
from bench.workload import FloodWorkload
from testkit.logflare import FakeLogflare, Fault

RECORDS_PER_CALL = 512
ARRIVAL_CHECK_S = 0.25
PROBE_EVERY_S = 1.0
PROBE_PREFIX = "soak probe "
CURSOR = re.compile(r'\{"cursor": "(\d+)"')
DOCS = Path(__file__).resolve().parent.parent / "docs" / "soak.md"


@dataclass(slots=True)
class Tally:
    """What the fake Logflare received, counted as it arrives (its event list is emptied)."""

    records: int = 0  # sum of the events' counts: records represented
    events: int = 0
    probes_seen: dict[str, float] = field(default_factory=dict)  # body -> arrival time


class FlakyLogflare:
    """Fails one request in `one_in` with a 503, using the fake's public fault queue."""

    def __init__(self, fake: FakeLogflare, one_in: int) -> None:
        self._fake, self._one_in = fake, one_in
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        planned = 0
        while not self._stop.wait(0.05):
            due = len(self._fake.requests) // self._one_in + 1
            if due > planned:  # the next request after each 20th fails
                self._fake.fail_next(Fault.server_error(503))
                planned, self.failed = due, self.failed + 1


class Follower(threading.Thread):
    """A live page without a browser, resuming from its cursor when the gateway drops it, as
    the page does; `reading=False` never reads after its Subscribe (a 2 KiB receive buffer)."""

    def __init__(self, stream_url: str, reading: bool = True) -> None:
        super().__init__(daemon=True)
        self.url, self.reading = stream_url, reading
        self.frames = self.reconnects = self.cursor = 0
        self.stopped = threading.Event()
        self.socket = self._connect()

    def _connect(self) -> websocket.WebSocket:
        options = [] if self.reading else [(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)]
        # UTF-8 checked in pure Python would take this process a core: browsers do it natively
        ws = websocket.create_connection(
            self.url, timeout=60, sockopt=options, skip_utf8_validation=True
        )
        ws.send(json.dumps({"after": str(self.cursor)}))
        return ws

    def run(self) -> None:
        while self.reading and not self.stopped.is_set():
            with contextlib.suppress(Exception):
                while text := self.socket.recv():
                    self.frames += 1
                    if found := CURSOR.match(text):
                        self.cursor = int(found.group(1))
            if self.stopped.wait(1.0):
                return
            with contextlib.suppress(Exception):
                self.socket = self._connect()
                self.reconnects += 1

    def dropped(self) -> bool:
        """Whether the gateway ended this never-reading page's connection: what piled up in
        its buffers reads out, then the end of the stream (b""), not a timeout."""
        raw = self.socket.sock
        raw.settimeout(5)
        try:
            while raw.recv(1 << 16):
                pass
        except TimeoutError:
            return False  # still open: nothing more came, and no end either
        except OSError:
            return True  # reset: dropped too
        return True

    def stop(self) -> None:
        self.stopped.set()
        with contextlib.suppress(Exception):
            self.socket.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(folder: Path, fake: FakeLogflare, viewer_port: int) -> Path:
    config = folder / "soak.yaml"
    config.write_text(
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {endpoint: '127.0.0.1:0'}}}\n"
        f"storage: {{url: 'sqlite:///{folder}/queue.db'}}\n"
        f"exporters: {{logflare: {{endpoint: '{fake.url}', source: '{fake.source_id}',"
        f" api_key: '{fake.api_key}', retry_initial: 200ms, retry_max: 5s}}}}\n"
        f"viewer: {{endpoint: '127.0.0.1:{viewer_port}'}}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\n"
    )
    return config


def _rss_mb(gateway: procs.LaunchedGateway) -> float:
    total = 0
    for pid in gateway.pids():
        with contextlib.suppress(OSError):
            total += procs.status_kib("VmRSS", pid)
    return total / 1024


def _drain_events(fake: FakeLogflare, tally: Tally) -> None:
    """Count what arrived and forget it: 30 minutes of events would not fit in memory."""
    taken = len(fake.events)
    events = fake.events[:taken]
    del fake.events[:taken]
    now = time.monotonic()
    for event in events:
        tally.events += 1
        tally.records += int(event.get("metadata", {}).get("count", 1))
        body = str(event.get("event_message", ""))
        if body.startswith(PROBE_PREFIX):
            tally.probes_seen.setdefault(body, now)


def measure_max_rate(address: str, payloads: list[bytes]) -> float:
    """Records/s the gateway acknowledges from 2 x 4 unpaced clients over 15 s."""
    plan = LoadPlan(address, payloads, RECORDS_PER_CALL, 4, warmup_s=3.0, duration_s=15.0)
    run = LoadRun(plan, processes=2)
    run.start()
    result = run.collect(timeout_s=120)
    return result.window_ok_calls * RECORDS_PER_CALL / plan.duration_s


def run_soak(minutes: float, window_minutes: float) -> SoakResult:
    payloads = FloodWorkload(seed=11).payloads(64, RECORDS_PER_CALL)
    folder = Path(tempfile.mkdtemp(prefix="logsieve-soak-"))
    with FakeLogflare() as fake:
        viewer_port = _free_port()
        gateway = procs.LaunchedGateway(_config(folder, fake, viewer_port))
        try:
            return _soak(gateway, fake, viewer_port, payloads, minutes, window_minutes)
        finally:
            gateway.stop()


def _soak(
    gateway: procs.LaunchedGateway,
    fake: FakeLogflare,
    viewer_port: int,
    payloads: list[bytes],
    minutes: float,
    window_minutes: float,
) -> SoakResult:
    tally = Tally()
    max_rate = measure_max_rate(gateway.address, payloads)
    _wait_drained(fake, tally, gateway, settle_s=15)
    baseline = tally.records
    print(f"maximum ingest: {max_rate:,.0f} records/s", file=sys.stderr)
    stream = f"ws://127.0.0.1:{viewer_port}/logs/stream"
    followers = [Follower(stream, reading=i > 0) for i in range(FOLLOWERS)]
    for follower in followers:
        follower.start()
    flaky = FlakyLogflare(fake, FAIL_ONE_IN)
    flaky.start()
    target = max_rate / 2
    senders = PacedSenders(gateway.address, payloads, RECORDS_PER_CALL, target, PROBE_PREFIX)
    samples = _sample_loop(gateway, fake, tally, senders, minutes * 60)
    report: SenderReport = senders.stop()
    flaky.stop()
    _wait_drained(fake, tally, gateway, settle_s=30)
    slow_dropped = followers[0].dropped()
    for follower in followers:
        follower.stop()
    return SoakResult(
        minutes=minutes,
        window_minutes=window_minutes,
        max_rate=max_rate,
        target_rate=target,
        achieved_rate=report.acknowledged_records / (minutes * 60),
        acknowledged=report.acknowledged_records,
        delivered=tally.records - baseline,
        events=tally.events,
        failed_requests=flaky.failed,
        refused_calls=report.refused_calls,
        reader_frames=sum(f.frames for f in followers[1:]),
        reader_reconnects=sum(f.reconnects for f in followers[1:]),
        slow_follower_dropped=slow_dropped,
        samples=samples,
    )


def _sample_loop(
    gateway: procs.LaunchedGateway,
    fake: FakeLogflare,
    tally: Tally,
    senders: PacedSenders,
    duration_s: float,
) -> list[Sample]:
    began = time.monotonic()
    samples: list[Sample] = []
    matched: set[str] = set()
    while time.monotonic() - began < duration_s:
        _watch_arrivals(fake, tally, SAMPLE_EVERY_S)
        acked = senders.probe_acks()
        lags = [
            arrived - acked[body]
            for body, arrived in tally.probes_seen.items()
            if body in acked and body not in matched
        ]
        matched.update(body for body in tally.probes_seen if body in acked)
        at = time.monotonic() - began
        samples.append(Sample(at, _rss_mb(gateway), senders.take_latencies(), lags))
        print(f"{at:6.0f} s  rss {samples[-1].rss_mb:7.1f} MB", file=sys.stderr)
    return samples


def _watch_arrivals(fake: FakeLogflare, tally: Tally, seconds: float) -> None:
    """Count arrivals every 0.25 s for `seconds`: a probe's arrival time is known to 0.25 s."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        time.sleep(ARRIVAL_CHECK_S)
        _drain_events(fake, tally)


def _wait_drained(
    fake: FakeLogflare, tally: Tally, gateway: procs.LaunchedGateway, settle_s: float
) -> None:
    """Until nothing new has reached Logflare for `settle_s` seconds (the outbox is empty)."""
    quiet_since, seen = time.monotonic(), -1
    while time.monotonic() - quiet_since < settle_s:
        time.sleep(1.0)
        _drain_events(fake, tally)
        if tally.records != seen:
            seen, quiet_since = tally.records, time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--window-minutes", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args()
    result = run_soak(args.minutes, args.window_minutes)
    table = render(result)
    print(table)
    args.out.write_text(document(table, result))
    samples = [{"at_s": s.at_s, "rss_mb": s.rss_mb} for s in result.samples]
    args.out.with_suffix(".json").write_text(json.dumps(samples))


if __name__ == "__main__":
    main()
