"""A small sample web shop that logs to logsieve with both utilities, and makes traffic.

    python -m demo.shop        (or `make demo`, which starts the gateway too)

Server side: `logsieve_client.setup_logging` (the client package, client/) sends Python
`logging` to the OTLP/HTTP receiver.
Browser side: the pages load the viewer's `/static/logsieve-client.js`, which reports
uncaught errors and explicit log calls. A background thread plays customers: normal
requests, a burst of identical errors now and then, and chatty INFO and DEBUG lines.
Open the live page (http://127.0.0.1:8080/logs) to watch them arrive as (xN) aggregates.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading

import httpx
from flask import Flask, Response, render_template_string
from logsieve_client import setup_logging

GATEWAY_HTTP = os.environ.get("LOGSIEVE_HTTP", "http://127.0.0.1:4318")
VIEWER = os.environ.get("LOGSIEVE_VIEWER", "http://127.0.0.1:8080")
SHOP_PORT = int(os.environ.get("SHOP_PORT", "8000"))
log = logging.getLogger("shop")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo shop</title>
<script src="{{ viewer }}/static/logsieve-client.js"></script>
<script src="/static-demo/shop.js"></script></head>
<body><h1>Demo shop</h1>
<p>This page logs to logsieve from the browser.
Open <a href="{{ viewer }}/logs">the live page</a>.</p>
<button id="pay">Pay (logs INFO)</button> <button id="crash">Crash (uncaught error)</button>
</body></html>"""

# Served as a file, not inline: pages with a strict CSP work the same way.
SHOP_JS = """
const shop = LogSieve.init({ endpoint: %(endpoint)r, serviceName: "shop-web" });
document.getElementById("pay").addEventListener("click", () => {
  shop.info("payment button clicked", { "cart.items": 3 });
});
document.getElementById("crash").addEventListener("click", () => {
  null.checkout(); // TypeError: reported by the client as an uncaught error
});
"""


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        log.info("GET / 200")
        return render_template_string(PAGE, viewer=VIEWER)

    @app.get("/static-demo/shop.js")
    def shop_js() -> Response:
        return Response(SHOP_JS % {"endpoint": GATEWAY_HTTP}, mimetype="text/javascript")

    @app.get("/cart")
    def cart() -> str:
        log.info("GET /cart 200")
        return "cart"

    @app.get("/checkout")
    def checkout() -> tuple[str, int]:
        if random.random() < 0.1:
            log.error("Error: Failed to connect to db:5432 (connection refused)")
            return "database down", 503
        log.info("POST /checkout 201", extra={"order.total": round(random.uniform(5, 90), 2)})
        return "ok", 201

    return app


class Customers(threading.Thread):
    """Plays traffic against the shop until stopped: the floods logsieve is for."""

    def __init__(self, shop_url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True, name="customers")
        self._url, self._stop = shop_url, stop

    def run(self) -> None:
        rounds = 0
        with httpx.Client(base_url=self._url, timeout=5) as client:
            while not self._stop.is_set():
                # The shop may be starting or stopping: try again next round.
                with contextlib.suppress(httpx.HTTPError):
                    self.one_round(client, rounds)
                rounds += 1
                self._stop.wait(1.0)

    def one_round(self, client: httpx.Client, rounds: int) -> None:
        for _ in range(20):
            client.get(random.choice(["/cart", "/checkout"]))
        for i in range(50):
            log.debug("cache lookup", extra={"key": f"product:{i % 7}"})
        if rounds % 15 == 0:  # a burst of identical errors: one line on the live page, (x100)
            for _ in range(100):
                log.error("Error: payment provider timed out after 3000 ms")


def main() -> None:
    setup_logging("shop", endpoint=GATEWAY_HTTP, level=logging.DEBUG)
    stop = threading.Event()
    Customers(f"http://127.0.0.1:{SHOP_PORT}", stop).start()
    print(f"demo shop on http://127.0.0.1:{SHOP_PORT}/ ; live page on {VIEWER}/logs", flush=True)
    try:
        create_app().run("127.0.0.1", SHOP_PORT)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
