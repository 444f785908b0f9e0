"""The browser client's cost (client/logsieve_client/browser/logsieve-client.js): its size, raw
and gzipped (level 9, as a server would send it), and in headless Chromium the time of one
`LogSieve.info` call and of building and sending one batch.

Two servers on loopback: one serves the page and the script, the other is a stub receiver that
answers every POST /v1/logs with 200 (and the CORS preflight), so the page and the endpoint
are on different origins as on a shop, and only the client's work is timed (the gateway's
ingest is bench/ingest.py's). In the page, `performance.now()` times CALLS calls in a row: the
median of ROUNDS rounds, after a warm-up round for the JIT and the preflight. Chromium coarsens
performance.now() to 0.1 ms, so rounds are timed whole, never call by call.

A batch (the default 50 records) is timed two ways: with fetch answered at once inside the
page (building the OTLP/JSON body and settling the answer: the client's CPU), and sent to the
stub, one request at a time as the client sends (adding the loopback round trip).
"""

from __future__ import annotations

import gzip
import logging
import statistics
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gateway.http.wsgi_server import WsgiServer
from testkit.chromium import chromium
from viewer.client_script import script_path

CLIENT = script_path()  # the client package's file, which the viewer serves
CALLS = 10_000
ROUNDS = 5
BATCH = 50  # the client's default maxBatch
PAGE = """<!doctype html><title>client bench</title>
<script src="/logsieve-client.js"></script>
<script>LogSieve.init({ endpoint: "%s", serviceName: "bench", maxBuffer: %d,
                        flushIntervalMs: 3600000 });</script>"""

# Runs in the page: the rounds of calls, then one flush with fetch answered at once and one
# to the stub. Every round is flushed before the next, so each starts with an empty buffer.
MEASURE_JS = """async ({ calls, rounds }) => {
  const log = () => {
    const start = performance.now();
    for (let i = 0; i < calls; i++) LogSieve.info("checkout step done", { k: i });
    return performance.now() - start;
  };
  const flushed = async () => {
    const start = performance.now();
    await LogSieve.flush();
    return performance.now() - start;
  };
  const perCallUs = [];
  for (let round = 0; round <= rounds; round++) {
    const ms = log();
    if (round > 0) perCallUs.push((ms * 1000) / calls);  // round 0 warms up
    await flushed();
  }
  const realFetch = window.fetch;
  window.fetch = () => Promise.resolve(new Response("{}", { status: 200 }));
  log();
  const builtMs = await flushed();
  window.fetch = realFetch;
  log();
  const sentMs = await flushed();
  return { perCallUs, builtMs, sentMs, stats: LogSieve.stats() };
}"""


@dataclass(frozen=True, slots=True)
class ClientResult:
    raw_bytes: int
    gzip_bytes: int  # gzip level 9
    calls: int  # LogSieve.info calls per timed round
    us_per_call: float  # median round
    batch_records: int
    batch_build_ms: float  # one request body built and its answer settled (fetch instant)
    batch_send_ms: float  # the same, sent to the stub receiver over loopback
    request_bytes: int  # one batch request's body


class _StubReceiver:
    """Answers POST /v1/logs with 200 and CORS preflights with 204; counts what it got."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.body_bytes = 0

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        cors = [
            ("Access-Control-Allow-Origin", environ.get("HTTP_ORIGIN", "*")),
            ("Access-Control-Allow-Methods", "POST"),
            ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
            ("Access-Control-Max-Age", "600"),
        ]
        if environ["REQUEST_METHOD"] == "OPTIONS":
            start_response("204 No Content", cors)
            return [b""]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"].read(size)
        with self._lock:
            self.requests += 1
            self.body_bytes += size
        start_response("200 OK", [*cors, ("Content-Type", "application/json")])
        return [b"{}"]


def _site(endpoint: str) -> Callable[..., Iterable[bytes]]:
    page = (PAGE % (endpoint, CALLS)).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/logsieve-client.js":
            start_response("200 OK", [("Content-Type", "text/javascript")])
            return [CLIENT.read_bytes()]
        start_response("200 OK", [("Content-Type", "text/html")])
        return [page]

    return app


@contextmanager
def _serving(app: Callable[..., Iterable[bytes]]) -> Iterator[WsgiServer]:
    server = WsgiServer(app, "127.0.0.1", 0, name="clientbench")
    server.start()
    try:
        yield server
    finally:
        server.shutdown()


@contextmanager
def _page() -> Iterator[Any]:
    with chromium() as browser:
        yield browser.new_page()


def run_client_bench() -> ClientResult:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    raw = CLIENT.read_bytes()
    stub = _StubReceiver()
    with _serving(stub) as receiver, _serving(_site(receiver.url)) as site, _page() as page:
        page.goto(site.url + "/")
        measured = page.evaluate(MEASURE_JS, {"calls": CALLS, "rounds": ROUNDS})
    stats = measured["stats"]
    if stats["dropped"] or stats["queued"] or stats["sent"] != CALLS * (ROUNDS + 3):
        raise RuntimeError(f"the client lost records during the bench: {stats}")
    batches = CALLS // BATCH
    return ClientResult(
        raw_bytes=len(raw),
        gzip_bytes=len(gzip.compress(raw, compresslevel=9, mtime=0)),
        calls=CALLS,
        us_per_call=statistics.median(measured["perCallUs"]),
        batch_records=BATCH,
        batch_build_ms=measured["builtMs"] / batches,
        batch_send_ms=measured["sentMs"] / batches,
        # Every request but the instant ones reached the stub: all full batches.
        request_bytes=stub.body_bytes // stub.requests,
    )
