// The live log viewer: follows /logs/stream (proto3 JSON of logsieve.v1.StreamMessage).
// Every piece of log text is attacker-controlled: it only ever goes in via textContent.
"use strict";

(function () {
  const MAX_ROWS = 2000;
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const DISCONNECTED_AFTER_FAILURES = 5; // then the pill says so, though retries go on
  const EXPIRY_SWEEP_MS = 15000;
  const NEAR_BOTTOM_PX = 40;
  const SEVERITIES = new Set(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]);

  const list = document.getElementById("entries");
  const scroller = document.getElementById("log");
  const pill = document.getElementById("status");
  const ttl = document.getElementById("ttl");
  const sampling = document.getElementById("sampling");
  const empty = document.getElementById("empty");

  // uint64 fields arrive as strings; the cursor is passed back untouched.
  let lastCursor = "0";
  let failures = 0;
  let retryTimer = null;

  function setStatus(name) {
    pill.textContent = name;
    pill.className = "pill status-" + name.toLowerCase();
  }

  function humanDuration(seconds) {
    const plural = (n, unit) => n + " " + unit + (n === 1 ? "" : "s");
    if (seconds % 3600 === 0 && seconds > 3600) return plural(seconds / 3600, "hour");
    if (seconds % 60 === 0 && seconds > 0) return plural(seconds / 60, "minute");
    return plural(seconds, "second");
  }

  // Nanosecond strings to milliseconds, through BigInt so no precision is lost on the way.
  function nanosToMillis(value) {
    try {
      return Number(BigInt(value || "0") / 1000000n);
    } catch (_) {
      return 0;
    }
  }

  function span(className, text) {
    const el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    return el;
  }

  function timeCell(entry) {
    const when = new Date(nanosToMillis(entry.firstSeenUnixNano));
    const el = document.createElement("time");
    el.className = "time";
    el.dateTime = when.toISOString();
    el.title = when.toISOString();
    el.textContent = when.toLocaleTimeString(undefined, {
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    });
    return el;
  }

  function severityName(entry) {
    const name = String(entry.severity || "UNSPECIFIED").toUpperCase();
    return SEVERITIES.has(name) ? name : "UNSPECIFIED";
  }

  // The text column: an optional "(xN) " count, the body, an optional sampling badge.
  function textCell(entry) {
    const cell = document.createElement("span");
    cell.className = "text";
    const count = BigInt(entry.count || "0");
    if (count > 1n) cell.appendChild(span("count", "(x" + count.toString() + ") "));
    cell.appendChild(span("message", entry.body || ""));
    const rate = Number(entry.sampleRate || 1);
    if (rate > 1) {
      const badge = span("sampled", "sampled 1:" + rate);
      badge.title = "1 in " + rate + " such entries is kept; count × " + rate + " estimates the total";
      cell.appendChild(badge);
    }
    return cell;
  }

  function renderRow(entry) {
    const severity = severityName(entry);
    const row = document.createElement("li");
    row.className = "entry sev-row-" + severity.toLowerCase();
    row.dataset.id = entry.id || "0";
    row.dataset.expires = String(nanosToMillis(entry.expiresAtUnixNano));
    row.appendChild(timeCell(entry));
    row.appendChild(span("severity sev-" + severity.toLowerCase(), severity));
    row.appendChild(span("service", entry.service || "—"));
    row.appendChild(textCell(entry));
    row.addEventListener("click", () => toggleDetails(row, entry));
    return row;
  }

  function toggleDetails(row, entry) {
    const open = row.querySelector(".details");
    if (open) {
      open.remove();
      return;
    }
    const details = document.createElement("pre");
    details.className = "details";
    details.textContent = JSON.stringify({
      lastSeen: new Date(nanosToMillis(entry.lastSeenUnixNano)).toISOString(),
      severityNumber: entry.severityNumber || 0,
      scope: entry.scope || "",
      traceId: entry.traceId || "",
      spanId: entry.spanId || "",
      sampleRate: entry.sampleRate || 1,
      attributes: entry.attributes || {},
    }, null, 2);
    row.appendChild(details);
  }

  function isNearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
  }

  function appendEntries(entries, replace) {
    const follow = replace || isNearBottom();
    if (replace) list.replaceChildren();
    const fragment = document.createDocumentFragment();
    for (const entry of entries) fragment.appendChild(renderRow(entry));
    list.appendChild(fragment);
    while (list.childElementCount > MAX_ROWS) list.firstElementChild.remove();
    empty.hidden = list.childElementCount > 0;
    if (follow) scroller.scrollTop = scroller.scrollHeight;
  }

  function sweepExpired() {
    const now = Date.now();
    for (const row of Array.from(list.children)) {
      const expires = Number(row.dataset.expires);
      if (expires && expires <= now) row.remove();
    }
    empty.hidden = list.childElementCount > 0;
  }

  function handle(message) {
    if (message.hello) {
      setStatus("LIVE");
      if (message.hello.ttlSeconds) ttl.textContent = humanDuration(message.hello.ttlSeconds);
      if (message.hello.sampling) sampling.textContent = message.hello.sampling;
      return; // the hello's cursor says nothing yet: keep ours for the Subscribe
    }
    lastCursor = message.cursor || "0"; // proto3 JSON omits a zero cursor
    if (message.entries) {
      failures = 0; // reset only once the store has answered, so a failing store backs off
      appendEntries(message.entries.entries || [], Boolean(message.entries.backfill));
    }
  }

  function scheduleReconnect() {
    failures += 1;
    setStatus(failures >= DISCONNECTED_AFTER_FAILURES ? "DISCONNECTED" : "RECONNECTING");
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter: pages do not stampede
    retryTimer = window.setTimeout(connect, delay);
  }

  function connect() {
    retryTimer = null;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + "/logs/stream");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ after: lastCursor }));
    });
    socket.addEventListener("message", (event) => {
      try {
        handle(JSON.parse(event.data));
      } catch (error) {
        console.error("bad stream message", error);
      }
    });
    socket.addEventListener("close", () => {
      if (retryTimer === null) scheduleReconnect();
    });
  }

  window.setInterval(sweepExpired, EXPIRY_SWEEP_MS);
  connect();
})();
