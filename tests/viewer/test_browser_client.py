"""The browser client (client/logsieve_client/browser/logsieve-client.js) in headless Chromium,
against a real gateway: pages come from another origin than the receiver's, so CORS is
exercised for real.

An uncaught error reaches the recent table and the live page; calls are batched and big
batches split; a 429's Retry-After is honoured (on the page's fake clock); bad input never
throws into the page; a module can import the script for its effect.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.config.settings import parse_config
from gateway.http.wsgi_server import WsgiServer
from gateway.runtime.app import Gateway, Overrides
from testkit.clock import FakeClock
from tests.live_viewer import chromium, watched_page
from viewer.client_script import script_path

pytestmark = pytest.mark.browser

CLIENT = script_path()  # the client package's file, which the viewer serves
EXPECT_MS = 10_000
SERVICE = "shop-web"
TOKEN = "browser-token-0123456789"
START = datetime(2026, 1, 1, tzinfo=UTC)
# Wraps fetch before the client runs: the requests it makes, counted and read in the page
# itself, so a count is exact the moment a fake-clock timer has run (no waiting for events).
SPY = """<script>
  window.posts = [];
  const realFetch = window.fetch;
  window.fetch = (url, options) => {
    posts.push(JSON.parse(options.body));
    return realFetch(url, options);
  };
</script>"""


class Site:
    """The shop's pages, on an origin of their own; also serves a copy of the client."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.server = WsgiServer(self.wsgi, "127.0.0.1", 0, name="test-site")
        self.url = self.server.url

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path == "/logsieve-client.js":
            body, kind = CLIENT.read_bytes(), "text/javascript"
        else:
            body, kind = self.pages.get(path, "").encode(), "text/html"  # else an empty page
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    def page(self, path: str, setup: str, script: str = "/logsieve-client.js") -> str:
        self.pages[path] = (
            f'<!doctype html>{SPY}<script src="{script}"></script><script>{setup}</script>'
        )
        return self.url + path


@pytest.fixture
def site() -> Iterator[Site]:
    made = Site()
    made.server.start()
    yield made
    made.server.shutdown()


@pytest.fixture
def start_gateway(tmp_path: Path, site: Site) -> Iterator[Callable[..., Gateway]]:
    started: list[Gateway] = []

    def start(**http_settings: Any) -> Gateway:
        http = {"endpoint": "127.0.0.1:0", "cors": {"allowed_origins": [site.url]}, **http_settings}
        raw = {
            "receivers": {"otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": http}},
            "storage": {"url": f"sqlite:///{tmp_path / 'gateway.db'}"},
            "viewer": {"endpoint": "127.0.0.1:0"},
            "telemetry": {"metrics": {"endpoint": "127.0.0.1:0"}},
        }
        overrides = Overrides(clock=FakeClock(), viewer_poll_interval=0.1, run_jobs=False)
        gateway = Gateway(parse_config(raw, env={}), overrides)
        gateway.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.shutdown()


def options(gateway: Gateway, **extra: Any) -> str:
    """LogSieve.init's options for `gateway`'s receiver, as a JavaScript object."""
    assert gateway.http_receiver is not None
    settings = {"endpoint": gateway.http_receiver.url, "serviceName": SERVICE, **extra}
    return json.dumps(settings)


def init(gateway: Gateway, **extra: Any) -> str:
    return f"LogSieve.init({options(gateway, **extra)});"


def open_paused(page: Any, url: str) -> None:
    """Loads `url` with the page's timers on a fake clock that moves only with run_for."""
    page.clock.install(time=START)
    page.goto(url)
    page.clock.pause_at(START + timedelta(minutes=1))


def is_post(response: Any) -> bool:
    return bool(response.request.method == "POST")


def test_an_uncaught_error_reaches_the_recent_table_and_the_live_page(
    site: Site, start_gateway: Callable[..., Gateway]
) -> None:
    from playwright.sync_api import expect

    gateway = start_gateway()
    assert gateway.viewer is not None
    setup = (
        init(gateway)
        + """
      setTimeout(() => { throw new Error("checkout exploded <b>x</b>"); });
      LogSieve.info("checkout ready", { items: 3, total: 9.5, express: true });"""
    )
    # Loaded from the viewer, as a shop would: a classic script from another origin.
    url = site.page("/checkout", setup, gateway.viewer.url + "/static/logsieve-client.js")
    with chromium() as shop:  # the thrown error is a page error on purpose
        viewer_errors: list[str] = []
        live = shop.context.browser.new_page()
        live.on("pageerror", lambda error: viewer_errors.append(str(error)))
        live.goto(gateway.viewer.url + "/logs")
        expect(live.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        with shop.expect_event("pageerror") as thrown:
            shop.goto(url + "?token=secret#frag")
        assert "checkout exploded" in str(thrown.value)
        shop.evaluate("LogSieve.flush()")  # resolves once the receiver answered 200
        assert gateway.store.queue_depth() == 2
        (sent,) = shop.evaluate("posts")

        now = gateway.clock.now_ns()
        gateway.batch.run_batches(now)
        entries = {row.entry.severity: row.entry for row in gateway.store.recent_newest(now, 10)}
        error, info = entries["ERROR"], entries["INFO"]
        assert error.body == "Uncaught Error: checkout exploded <b>x</b>"
        assert error.service == SERVICE
        exception = error.attributes["exception"]
        assert (exception["type"], exception["message"]) == ("Error", "checkout exploded <b>x</b>")
        assert "checkout exploded" in exception["stacktrace"]
        assert "secret" not in exception["stacktrace"]
        assert error.attributes["url"]["full"] == site.url + "/checkout"  # no query, no fragment
        assert info.attributes["items"] == 3
        assert (info.attributes["total"], info.attributes["express"]) == (9.5, True)
        (resource_logs,) = sent["resourceLogs"]
        resource = {a["key"]: a["value"] for a in resource_logs["resource"]["attributes"]}
        names = [resource[key]["stringValue"] for key in ("service.name", "telemetry.sdk.name")]
        assert names == [SERVICE, "logsieve-client"]
        assert resource["telemetry.sdk.language"] == {"stringValue": "webjs"}
        assert resource_logs["scopeLogs"][0]["scope"]["name"] == "logsieve-client"

        row = live.locator("#entries .entry").filter(has_text="checkout exploded")
        expect(row).to_contain_text("Uncaught Error: checkout exploded <b>x</b>", timeout=EXPECT_MS)
        expect(live.locator("#entries b")).to_have_count(0)
        assert viewer_errors == []


def test_calls_are_batched_into_one_request_and_big_batches_split(
    site: Site, start_gateway: Callable[..., Gateway]
) -> None:
    gateway = start_gateway()
    url = site.page("/batch", init(gateway, flushIntervalMs=2000))
    with watched_page() as shop:
        open_paused(shop, url)
        shop.evaluate("for (let i = 0; i < 5; i++) LogSieve.info(`step ${i}`, { i })")
        shop.evaluate("LogSieve.warn('slow')")
        shop.clock.run_for(1_999)
        assert shop.evaluate("posts.length") == 0
        with shop.expect_response(is_post):
            shop.clock.run_for(1)
        (batch,) = shop.evaluate("posts")
        records = batch["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
        bodies = [record["body"]["stringValue"] for record in records]
        assert bodies == ["step 0", "step 1", "step 2", "step 3", "step 4", "slow"]
        assert [record["severityNumber"] for record in records] == [9] * 5 + [13]
        assert records[0]["timeUnixNano"].endswith("000000")

        # 40 records of 4 KB: more than one keepalive request may carry (60 KiB each).
        shop.evaluate("for (let i = 0; i < 40; i++) LogSieve.info('x'.repeat(4000))")
        shop.evaluate("LogSieve.flush()")
        sizes = shop.evaluate("posts.slice(1).map((post) => JSON.stringify(post).length)")
        assert len(sizes) == 3
        assert max(sizes) < 60 * 1024
        assert gateway.store.queue_depth() == 46


def test_a_429_is_honoured_no_request_before_its_retry_after(
    site: Site, start_gateway: Callable[..., Gateway]
) -> None:
    # The gateway's clock stands still: one token, then "Retry-After: 10" until it moves.
    gateway = start_gateway(browser={"requests_per_second": 0.1, "burst": 1})
    url = site.page("/limited", init(gateway, flushIntervalMs=1000))
    with watched_page() as shop:
        open_paused(shop, url)
        shop.evaluate("LogSieve.info('first')")
        with shop.expect_response(is_post) as first:
            shop.clock.run_for(1_000)
        assert first.value.status == 200
        shop.wait_for_function("LogSieve.stats().sent === 1")

        shop.evaluate("LogSieve.info('second')")
        with shop.expect_response(is_post) as refused:
            shop.clock.run_for(1_000)
        assert (refused.value.status, refused.value.headers["retry-after"]) == (429, "10")
        shop.wait_for_function("LogSieve.stats().failures === 1")  # the answer is taken in
        shop.clock.run_for(9_900)
        assert shop.evaluate("posts.length") == 2

        assert isinstance(gateway.clock, FakeClock)
        gateway.clock.advance(10)
        with shop.expect_response(is_post) as retried:
            shop.clock.run_for(1_200)  # Retry-After plus at most 10% jitter
        assert retried.value.status == 200
        shop.wait_for_function("LogSieve.stats().sent === 2")
        assert shop.evaluate("posts[2].resourceLogs[0].scopeLogs[0].logRecords.length") == 1
        assert gateway.store.queue_depth() == 2


def test_records_still_waiting_leave_with_the_page_and_carry_the_token(
    site: Site, start_gateway: Callable[..., Gateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = start_gateway(auth={"bearer_token": TOKEN})
    receiver = gateway.http_receiver
    assert receiver is not None
    posted, handle = threading.Event(), receiver.handle

    def handled(request: Any) -> Any:
        response = handle(request)
        if request.method == "POST":
            posted.set()  # answered after the commit
        return response

    monkeypatch.setattr(receiver, "handle", handled)
    url = site.page("/leaving", init(gateway, token=TOKEN, flushIntervalMs=600_000))
    with watched_page() as shop:
        shop.goto(url)
        shop.evaluate("LogSieve.info('paid'); LogSieve.error('receipt failed')")
        shop.goto(site.url + "/elsewhere")  # pagehide: a keepalive fetch, since a token is set
        assert posted.wait(timeout=10)
    assert gateway.store.queue_depth() == 2


def test_bad_endpoints_and_odd_values_never_throw_and_it_never_records_itself(site: Site) -> None:
    odd_calls = """
      const cyclic = { name: "loop" }; cyclic.self = cyclic;
      const hostile = { toJSON() { throw new Error("no"); } };
      LogSieve.info(cyclic, { cyclic, hostile, big: 10n, sym: Symbol("s"), nan: NaN, none: null });
      LogSieve.error(undefined, "not an object");
      LogSieve.warn("getter", { get boom() { throw new Error("getter"); } });
      LogSieve.debug(hostile);"""
    unusable = site.page("/unusable", 'LogSieve.init({ endpoint: "http://[bad", maxBuffer: 2 });')
    refused = site.page(
        "/refused",
        'LogSieve.init({ endpoint: "http://127.0.0.1:1", captureConsole: true, maxBuffer: 3 });',
    )
    with watched_page() as shop:
        warnings: list[str] = []
        shop.on("console", lambda message: warnings.append(message.text))
        shop.goto(unusable)
        shop.evaluate(odd_calls)  # 3 records (the getter's is lost); the buffer keeps 2
        stats = shop.evaluate("LogSieve.flush().then(() => LogSieve.stats())")
        assert (stats["queued"], stats["dropped"], stats["sent"]) == (2, 1, 0)
        assert shop.evaluate("LogSieve.init().info('still a logger') ?? 'ok'") == "ok"

        shop.goto(refused)
        shop.evaluate(odd_calls)
        shop.evaluate("console.error('page problem', new Error('boom'))")  # 4th: 1 dropped
        stats = shop.evaluate("LogSieve.flush().then(() => LogSieve.stats())")
        # Back in the buffer after the failure; its own warning (below) was not captured.
        assert (stats["queued"], stats["dropped"], stats["failures"]) == (3, 1, 1)
        assert any("logsieve-client: could not reach the gateway" in text for text in warnings)
        (attempt,) = shop.evaluate("posts.map((post) => post.resourceLogs[0].scopeLogs[0])")
        report, *records = attempt["logRecords"]
        assert report["body"] == {"stringValue": "1 log records dropped by the client"}
        assert report["attributes"][0]["key"] == "logsieve.client.dropped"
        assert report["attributes"][0]["value"] == {"intValue": "1"}
        assert records[-1]["body"]["stringValue"] == "page problem Error: boom"
        exception = {a["key"]: a["value"]["stringValue"] for a in records[-1]["attributes"]}
        assert (exception["exception.type"], exception["exception.message"]) == ("Error", "boom")


def test_a_module_imports_it_for_its_effect(
    site: Site, start_gateway: Callable[..., Gateway]
) -> None:
    gateway = start_gateway()
    site.pages["/module"] = f"""<!doctype html><script type="module">
      import "/logsieve-client.js";
      const log = globalThis.LogSieve.init({options(gateway)});
      log.info("from a module");
      window.flushed = log.flush();
    </script>"""
    with watched_page() as shop:
        shop.goto(site.url + "/module")
        shop.wait_for_function("window.flushed !== undefined")
        shop.evaluate("window.flushed")
        assert gateway.store.queue_depth() == 1
