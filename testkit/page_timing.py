"""Timing the live page from inside Chromium, for its speed tests and the bench's rows.

`INSTRUMENT_JS` goes in before the page's own scripts (`page.add_init_script`, which the
page's CSP does not govern). It times, without touching the page's code:

- each websocket message the page handles: the handler itself, then the browser's work for
  the frame after it (from that frame's requestAnimationFrame to a 0 ms timeout queued there,
  which runs once the frame is painted): together, what an append costs the main thread;
- every long task (over 50 ms), through the Long Tasks API;
- a keystroke in the search box to the next paint of a changed list: from keydown to the
  frame after the first change of #entries.

The same code times today's page and an older one (bench/pagebench.py), since it only wraps
WebSocket listeners and watches the list.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

INSTRUMENT_JS = """(() => {
  const timing = { messages: [], longtasks: [], repaints: [], keyAt: null };
  window.__pageTiming = timing;
  try {
    new PerformanceObserver((list) => {
      for (const task of list.getEntries()) timing.longtasks.push(task.duration);
    }).observe({ type: "longtask", buffered: true });
  } catch (_) {}
  const add = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, options) {
    if (type !== "message") return add.call(this, type, listener, options);
    const timed = function (event) {
      const start = performance.now();
      const result = listener.call(this, event);
      const handled = performance.now() - start;
      const entries = typeof event.data === "string" && event.data.includes('"entries": [');
      requestAnimationFrame(() => {
        const frame = performance.now();
        setTimeout(() => {
          if (entries) timing.messages.push({ handled, render: performance.now() - frame });
        }, 0);
      });
      return result;
    };
    return add.call(this, type, timed, options);
  };
  document.addEventListener("keydown", (event) => {
    if (event.target && event.target.id === "search") timing.keyAt = performance.now();
  }, true);
  document.addEventListener("DOMContentLoaded", () => {
    let waiting = false;
    new MutationObserver(() => {
      if (timing.keyAt === null || waiting) return;
      waiting = true;
      const keyAt = timing.keyAt;
      requestAnimationFrame(() => setTimeout(() => {
        timing.repaints.push(performance.now() - keyAt);
        timing.keyAt = null;
        waiting = false;
      }, 0));
    }).observe(document.getElementById("entries"), { childList: true, subtree: true });
  });
})();"""


@dataclass(frozen=True, slots=True)
class AppendTiming:
    """Appends measured in a page: each one's cost to the main thread, and the long tasks."""

    costs_ms: tuple[float, ...]  # handler + the next frame's work, per message of entries
    longtasks_ms: tuple[float, ...]  # tasks over 50 ms while measuring
    tasks_ms: tuple[float, ...] = ()  # each handler and each frame's work on its own

    @property
    def median_ms(self) -> float:
        return statistics.median(self.costs_ms) if self.costs_ms else 0.0

    @property
    def p90_ms(self) -> float:
        if len(self.costs_ms) < 2:
            return self.median_ms
        return statistics.quantiles(self.costs_ms, n=10)[8]

    @property
    def longest_ms(self) -> float:
        """The longest task seen: a long task, or else the longest handler or frame."""
        return max((*self.longtasks_ms, *self.tasks_ms), default=0.0)


def reset(page: Any) -> None:
    """Forget what was timed so far (the fill before a measurement)."""
    page.evaluate(
        "() => { const t = window.__pageTiming; t.messages = []; t.longtasks = []; "
        "t.repaints = []; t.keyAt = null; }"
    )


def appends(page: Any) -> AppendTiming:
    found = page.evaluate("() => window.__pageTiming")
    messages = found["messages"]
    costs = tuple(float(m["handled"]) + float(m["render"]) for m in messages)
    tasks = tuple(float(m[part]) for m in messages for part in ("handled", "render"))
    return AppendTiming(costs, tuple(float(ms) for ms in found["longtasks"]), tasks)


def messages_timed(page: Any) -> int:
    return int(page.evaluate("() => window.__pageTiming.messages.length"))


def keystroke_repaint(page: Any, key: str, timeout_ms: float = 10_000) -> float:
    """Presses `key` in the search box; ms from the keydown to the paint of the changed list."""
    reset(page)
    page.locator("#search").press(key)
    page.wait_for_function("() => window.__pageTiming.repaints.length > 0", timeout=timeout_ms)
    return float(page.evaluate("() => window.__pageTiming.repaints[0]"))


def keystrokes(page: Any, keys: str, timeout_ms: float = 10_000) -> list[float]:
    """Each of `keys` typed in turn in the search box, each timed as keystroke_repaint."""
    return [keystroke_repaint(page, key, timeout_ms) for key in keys]
