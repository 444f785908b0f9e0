"""An aggregate from several services in Chromium, on a desktop and a phone, light and dark: the
row says how many more services there are, the details list each with its count and the first
record's resource attributes, Copy as JSON gives those attributes too, and a service filter on
any of the services finds it. axe-core finds nothing wrong in these states."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.store import Store
from tests.live_viewer import FixedClock, serving
from tests.viewer.page_kit import DESKTOP, EXPECT_MS, add, on_every_screen, open_page, screen

pytestmark = pytest.mark.browser

RESOURCE = {
    "service.version": "2.4.1",
    "deployment.environment": "prod",
    "host.name": "web-3",
    "k8s.pod.name": "payments-7d9f-x2",
}


def test_an_aggregate_names_its_services_and_keeps_its_resource_attributes(
    live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    services = {"payments": 6, "checkout": 3, "search": 1}
    add(live_store, wall_clock, "card declined", band="ERROR", service="payments", count=10,
        services=services, resource=RESOURCE)  # fmt: skip
    add(live_store, wall_clock, "cart viewed", service="checkout")
    with serving(live_store, wall_clock) as server, screen(DESKTOP, "light") as page:
        open_page(page, server)
        row = page.locator("#entries .entry", has_text="card declined")
        expect(row.locator(".more-services")).to_have_text(" +2", timeout=EXPECT_MS)
        assert row.locator(".service").get_attribute("title") == "payments, checkout, search"
        more = row.locator(".more-services")
        on_every_screen(page, "an aggregate's row", lambda *_: expect(more).to_be_visible())

        row.click()
        details = page.locator("#details")
        listed = details.locator(".service-value")
        expect(listed).to_have_text(
            [f"{name} \N{MULTIPLICATION SIGN}{count}" for name, count in services.items()],
            timeout=EXPECT_MS,
        )
        for name, value in RESOURCE.items():
            expect(details.locator(f".resource tr[data-field='{name}'] .field-value")).to_have_text(
                value
            )

        def details_shown(*_: Any) -> None:
            expect(listed.first).to_be_visible()
            expect(details.locator(".resource")).to_be_visible()

        on_every_screen(page, "an aggregate's details", details_shown)
        assert copied_json(page, server.url)["resource"] == RESOURCE

        # A service filter on a service that is not the entry's own still finds it.
        open_page(page, server, "/logs?service=search")
        expect(page.locator("#entries .entry", has_text="card declined")).to_have_count(
            1, timeout=EXPECT_MS
        )
        expect(page.locator("#entries .entry", has_text="cart viewed")).to_have_count(0)


def copied_json(page: Any, origin: str) -> Any:
    """What the open details' Copy as JSON put on the clipboard, parsed."""
    from playwright.sync_api import expect

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    copy = page.locator("#details").get_by_role("button", name="Copy as JSON")
    copy.click()
    expect(page.locator("#details .copy")).to_have_text("Copied", timeout=EXPECT_MS)
    return json.loads(page.evaluate("() => navigator.clipboard.readText()"))
