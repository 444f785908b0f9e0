"""axe-core, the accessibility engine, run in a Playwright page: `violations(page)`.

axe-core is a dev-only npm package (testkit/package.json, installed into testkit/node_modules
by `make test`); it is evaluated in the page through Playwright, which the page's own CSP
does not govern. Beyond axe's default rules, WCAG 2.2's target size (24 x 24 px) is checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_SCRIPT = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, { rules: { "target-size": { enabled: true } } });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""


class AxeMissing(RuntimeError):
    """axe-core is not installed (npm ci --prefix testkit)."""


def script() -> str:
    if not AXE_SCRIPT.exists():
        raise AxeMissing("axe-core is not installed: npm ci --prefix testkit")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now: [{id, impact, help, nodes}]."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(script())
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return found
