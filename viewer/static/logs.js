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
  const RATE_WINDOW_MS = 10000;
  const SEVERITIES = new Set(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]);
  const UTC_KEY = "logsieve.viewer.utc";

  const list = document.getElementById("entries");
  const scroller = document.getElementById("log");
  const pill = document.getElementById("status");
  const ttl = document.getElementById("ttl");
  const sampling = document.getElementById("sampling");
  const empty = document.getElementById("empty");
  const pauseButton = document.getElementById("pause");
  const utcButton = document.getElementById("utc");
  const banner = document.getElementById("banner");
  const rateText = document.getElementById("rate");
  const rowsText = document.getElementById("rows");

  // uint64 fields arrive as strings; the cursor is passed back untouched.
  let lastCursor = "0";
  let failures = 0;
  let retryTimer = null;

  // The connection ("connecting", "live", "reconnecting", "disconnected") and its detail.
  let connection = "connecting";
  let connectionDetail = "";
  // Pausing: null when following, else "by you" or "scrolled up".
  let pausedReason = null;
  let pending = []; // entries held back while paused (the newest MAX_ROWS of them)
  let pendingCount = 0; // how many arrived while paused, for the banner
  let pendingReplace = false; // a backfill arrived while paused: it replaces the list
  let lastScrollTop = 0;
  const received = []; // [time ms, entries] of live batches, for the rate
  let useUtc = readUtcChoice();

  function readUtcChoice() {
    try {
      return window.localStorage.getItem(UTC_KEY) === "1";
    } catch (_) {
      return false;
    }
  }

  function saveUtcChoice() {
    try {
      window.localStorage.setItem(UTC_KEY, useUtc ? "1" : "0");
    } catch (_) {
      // storage disabled: the choice lasts for this page only
    }
  }

  // -- the status pill ---------------------------------------------------------------------

  function renderStatus() {
    let name = connection.toUpperCase();
    let detail = connectionDetail;
    let cls = connection;
    if (connection === "live" && pausedReason) {
      name = "PAUSED";
      detail = pausedReason;
      cls = "paused";
    }
    pill.textContent = detail ? name + " (" + detail + ")" : name;
    pill.className = "pill status-" + cls;
  }

  function setConnection(state, detail) {
    connection = state;
    connectionDetail = detail || "";
    renderStatus();
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

  function isoTime(nanos) {
    const millis = nanosToMillis(nanos);
    return millis ? new Date(millis).toISOString() : "—";
  }

  function span(className, text) {
    const el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    return el;
  }

  // -- rows --------------------------------------------------------------------------------

  function formatTime(when) {
    if (useUtc) return when.toISOString().slice(11, 19) + "Z";
    return when.toLocaleTimeString(undefined, {
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    });
  }

  function timeCell(entry) {
    const when = new Date(nanosToMillis(entry.firstSeenUnixNano));
    const el = document.createElement("time");
    el.className = "time";
    el.dateTime = when.toISOString();
    el.title = when.toISOString();
    el.textContent = formatTime(when);
    return el;
  }

  function refreshTimes() {
    for (const el of list.querySelectorAll("time.time")) {
      el.textContent = formatTime(new Date(el.dateTime));
    }
  }

  function severityName(entry) {
    const name = String(entry.severity || "UNSPECIFIED").toUpperCase();
    return SEVERITIES.has(name) ? name : "UNSPECIFIED";
  }

  // The text column: an optional "(xN) " count, the body, an optional sampling badge.
  function textCell(entry) {
    const cell = document.createElement("span");
    cell.className = "text";
    let count = 0n;
    try {
      count = BigInt(entry.count || "0");
    } catch (_) {
      count = 0n;
    }
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
    row.tabIndex = 0;
    row.setAttribute("aria-expanded", "false");
    row.appendChild(timeCell(entry));
    row.appendChild(span("severity sev-" + severity.toLowerCase(), severity));
    row.appendChild(span("service", entry.service || "—"));
    row.appendChild(textCell(entry));
    row.addEventListener("click", (event) => {
      if (event.target.closest(".details")) return; // clicks inside the details stay there
      const selection = window.getSelection();
      if (selection && selection.toString()) return; // selecting text is not a click
      toggleDetails(row, entry);
    });
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target === row) {
        event.preventDefault();
        toggleDetails(row, entry);
      }
    });
    return row;
  }

  function detailLine(dl, label, value, className) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    if (className) dd.className = className;
    dd.textContent = value;
    dl.appendChild(dt);
    dl.appendChild(dd);
  }

  function copyText(text, button) {
    const clipboard = navigator.clipboard;
    const done = (word) => { button.textContent = word; };
    if (!clipboard || typeof clipboard.writeText !== "function") {
      done("Copy unavailable");
      return;
    }
    try {
      clipboard.writeText(text).then(() => done("Copied"), () => done("Copy failed"));
    } catch (_) {
      done("Copy failed");
    }
  }

  function toggleDetails(row, entry) {
    const open = row.querySelector(".details");
    if (open) {
      open.remove();
      row.setAttribute("aria-expanded", "false");
      return;
    }
    const details = document.createElement("div");
    details.className = "details";
    const dl = document.createElement("dl");
    const attributes = entry.attributes || {};
    const hasAttributes = Object.keys(attributes).length > 0;
    detailLine(dl, "Attributes", hasAttributes ? JSON.stringify(attributes, null, 2) : "none",
      "attributes");
    detailLine(dl, "Resource", "service.name: " + (entry.service || "—"), "resource");
    detailLine(dl, "Scope", entry.scope || "—", "scope");
    detailLine(dl, "Trace ID", entry.traceId || "—", "trace-id");
    detailLine(dl, "Span ID", entry.spanId || "—", "span-id");
    detailLine(dl, "First seen", isoTime(entry.firstSeenUnixNano), "first-seen");
    detailLine(dl, "Last seen", isoTime(entry.lastSeenUnixNano), "last-seen");
    detailLine(dl, "Sample rate", "1:" + Number(entry.sampleRate || 1), "sample-rate");
    details.appendChild(dl);
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "control copy";
    copy.textContent = "Copy as JSON";
    copy.addEventListener("click", () => copyText(JSON.stringify(entry, null, 2), copy));
    details.appendChild(copy);
    row.appendChild(details);
    row.setAttribute("aria-expanded", "true");
    details.scrollIntoView({ block: "nearest" });
  }

  // -- the list, pausing and following -------------------------------------------------------

  function isNearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    lastScrollTop = scroller.scrollTop;
  }

  function updateCounts() {
    empty.hidden = list.childElementCount > 0;
    rowsText.textContent = String(list.childElementCount);
  }

  function appendEntries(entries, replace) {
    if (replace) list.replaceChildren();
    const fragment = document.createDocumentFragment();
    for (const entry of entries) fragment.appendChild(renderRow(entry));
    list.appendChild(fragment);
    while (list.childElementCount > MAX_ROWS) list.firstElementChild.remove();
    updateCounts();
    if (!pausedReason) scrollToBottom();
  }

  function holdBack(entries, replace) {
    if (replace) {
      pending = [];
      pendingReplace = true;
    }
    pending.push(...entries);
    if (pending.length > MAX_ROWS) pending.splice(0, pending.length - MAX_ROWS);
    pendingCount += entries.length;
    renderBanner();
  }

  function renderBanner() {
    banner.hidden = !pausedReason;
    banner.textContent = pendingCount + " new, jump to latest";
  }

  function renderPauseButton() {
    pauseButton.textContent = pausedReason ? "Resume" : "Pause";
    pauseButton.setAttribute("aria-pressed", pausedReason ? "true" : "false");
  }

  function pause(reason) {
    pausedReason = reason;
    renderPauseButton();
    renderBanner();
    renderStatus();
  }

  function resume() {
    pausedReason = null;
    const held = pending;
    const replace = pendingReplace;
    pending = [];
    pendingCount = 0;
    pendingReplace = false;
    appendEntries(held, replace); // scrolls to the bottom, now that nothing is paused
    renderPauseButton();
    renderBanner();
    renderStatus();
  }

  function togglePause() {
    if (pausedReason) resume();
    else pause("by you");
  }

  function onScroll() {
    const top = scroller.scrollTop;
    const movedUp = top < lastScrollTop;
    lastScrollTop = top;
    if (!pausedReason && movedUp && !isNearBottom()) {
      pause("scrolled up");
    } else if (pausedReason === "scrolled up" && isNearBottom()) {
      resume(); // back at the bottom: follow again
    }
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element &&
        target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])")) {
      return;
    }
    const isSpace = event.key === " " || event.code === "Space";
    const isP = event.key === "p" || event.key === "P";
    if (!isSpace && !isP) return;
    if (isSpace && target instanceof Element && target.closest("button")) return; // it clicks
    event.preventDefault();
    togglePause();
  }

  function sweepExpired() {
    const now = Date.now();
    for (const row of Array.from(list.children)) {
      const expires = Number(row.dataset.expires);
      if (expires && expires <= now) row.remove();
    }
    updateCounts();
  }

  // -- stats -------------------------------------------------------------------------------

  function noteReceived(n) {
    if (n > 0) received.push([Date.now(), n]);
    renderRate();
  }

  function renderRate() {
    const since = Date.now() - RATE_WINDOW_MS;
    while (received.length && received[0][0] < since) received.shift();
    let total = 0;
    for (const [, n] of received) total += n;
    rateText.textContent = (total / (RATE_WINDOW_MS / 1000)).toFixed(1);
  }

  // -- the socket --------------------------------------------------------------------------

  function handle(message) {
    if (message.hello) {
      setConnection("live");
      if (message.hello.ttlSeconds) ttl.textContent = humanDuration(message.hello.ttlSeconds);
      if (message.hello.sampling) sampling.textContent = message.hello.sampling;
      return; // the hello's cursor says nothing yet: keep ours for the Subscribe
    }
    lastCursor = message.cursor || "0"; // proto3 JSON omits a zero cursor
    if (message.entries) {
      failures = 0; // reset only once the store has answered, so a failing store backs off
      const entries = message.entries.entries || [];
      const backfill = Boolean(message.entries.backfill);
      if (!backfill) noteReceived(entries.length);
      if (pausedReason) holdBack(entries, backfill);
      else appendEntries(entries, backfill);
    }
  }

  function closeReason(event) {
    if (event.reason) return event.reason;
    if (event.code && event.code !== 1005 && event.code !== 1006) return "code " + event.code;
    return "connection lost";
  }

  function scheduleReconnect(reason) {
    failures += 1;
    if (failures >= DISCONNECTED_AFTER_FAILURES) setConnection("disconnected", reason);
    else setConnection("reconnecting", "attempt " + failures);
    pill.title = "Last close: " + reason;
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
    socket.addEventListener("close", (event) => {
      if (retryTimer === null) scheduleReconnect(closeReason(event));
    });
  }

  // -- wiring ------------------------------------------------------------------------------

  function renderUtcButton() {
    utcButton.textContent = useUtc ? "UTC" : "Local time";
    utcButton.setAttribute("aria-pressed", useUtc ? "true" : "false");
  }

  pauseButton.addEventListener("click", togglePause);
  banner.addEventListener("click", () => {
    if (pausedReason) resume();
  });
  utcButton.addEventListener("click", () => {
    useUtc = !useUtc;
    saveUtcChoice();
    renderUtcButton();
    refreshTimes();
  });
  scroller.addEventListener("scroll", onScroll, { passive: true });
  document.addEventListener("keydown", onKey);

  renderUtcButton();
  renderPauseButton();
  renderBanner();
  updateCounts();
  window.setInterval(sweepExpired, EXPIRY_SWEEP_MS);
  window.setInterval(renderRate, 1000);
  connect();
})();
