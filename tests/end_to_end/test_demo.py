"""The sample shop of `make demo`: its pages load the browser script, its customers make the
traffic the demo is for (normal requests, chatty DEBUG, bursts of one identical error)."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest

from demo.shop import Customers, create_app
from gateway.http.wsgi_server import WsgiServer


def test_the_shop_page_loads_the_browser_script_without_inline_code() -> None:
    client = create_app().test_client()
    page = client.get("/").get_data(as_text=True)
    assert "/static/logsieve-client.js" in page and "/static-demo/shop.js" in page
    assert "LogSieve.init" not in page  # the init lives in a file, so a strict CSP works
    script = client.get("/static-demo/shop.js").get_data(as_text=True)
    assert "LogSieve.init({ endpoint: 'http://127.0.0.1:4318'" in script


def test_customers_make_a_burst_of_identical_errors_among_normal_traffic(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="shop")
    server = WsgiServer(create_app(), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            Customers(server.url, threading.Event()).one_round(client, rounds=0)
    finally:
        server.shutdown()
    messages = [record.getMessage() for record in caplog.records if record.name == "shop"]
    assert messages.count("Error: payment provider timed out after 3000 ms") == 100
    assert messages.count("cache lookup") == 50
    assert (
        sum(m.startswith(("GET /cart", "POST /checkout", "Error: Failed")) for m in messages) == 20
    )
