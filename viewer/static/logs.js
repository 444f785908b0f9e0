// The live log viewer: follows /logs/stream (proto3 JSON of logsieve.v1.StreamMessage).
// Every piece of log text is attacker-controlled: it only ever goes in as text (js/text.js).
import { FilterBar } from "./js/filter-bar.js";
import { Header } from "./js/header.js";
import {
  BANDS, MAX_TEXT, NO_FILTERS, filtersToQuery, readFilters, readView, rejectedPattern, subscribeFrame,
} from "./js/filters.js";
import { PatternsView } from "./js/patterns-view.js";
import { readUtcChoice, refreshTimes, renderGap, renderRow, saveUtcChoice } from "./js/rows.js";
import { humanDuration, visible } from "./js/text.js";

const MAX_ROWS = 2000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30000;
const DISCONNECTED_AFTER_FAILURES = 5; // then the pill says so, though retries go on
const EXPIRY_SWEEP_MS = 15000;
const NEAR_BOTTOM_PX = 40;
const SEARCH_DELAY_MS = 300; // typing settles before the stream is asked again
const UTC_KEY = "logsieve.viewer.utc";

const $ = (id) => document.getElementById(id);
const list = $("entries");
const scroller = $("log");
const pill = $("status");
const empty = $("empty");
const pauseButton = $("pause");
const utcButton = $("utc");
const banner = $("banner");
const serviceSelect = $("service");
const searchInput = $("search");
const header = new Header(document);
const filterBar = new FilterBar(document);

// uint64 fields arrive as strings; the cursor is passed back untouched.
let lastCursor = "0";
let failures = 0;
let retryTimer = null;
let serverSaid = ""; // why the server last closed the socket, if it said
let socket = null; // the current socket; events of an older one are ignored
let filters = readFilters(location.search);
let pageView = readView(location.search); // "stream" or "patterns"
// The Patterns view, or the stream (which goes on underneath either way), in the URL.
const patternsView = new PatternsView(document, {
  choose: (pattern) => onlyPattern(pattern), // it is back on the stream by then
  current: () => filters.pattern,
  shown: (open) => {
    pageView = open ? "patterns" : "stream";
    writeUrl();
    if (!open && !pausedReason) scrollToBottom();
  },
});

// The connection ("connecting", "live", "reconnecting", "disconnected") and its detail.
let connection = "connecting";
let connectionDetail = "";
// Pausing: null when following, else "by you" or "scrolled up".
let pausedReason = null;
let pending = []; // entries held back while paused (the newest MAX_ROWS of them)
let pendingCount = 0; // how many arrived while paused, for the banner
let pendingReplace = false; // a backfill arrived while paused: it replaces the list
let lastScrollTop = 0;
let useUtc = readUtcChoice(UTC_KEY);

// -- the status pill -----------------------------------------------------------------------

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

// -- the list, pausing and following -------------------------------------------------------

function isNearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
}

function scrollToBottom() {
  scroller.scrollTop = scroller.scrollHeight;
  lastScrollTop = scroller.scrollTop;
}

let rows = 0; // .entry rows in the list (gap markers are not entries)

function removeRow(row) {
  if (row.classList.contains("entry")) rows -= 1;
  row.remove();
}

function renderHeader() {
  empty.hidden = rows > 0;
  header.render({ rows, filters, maxRows: MAX_ROWS });
}

function appendEntries(entries, replace) {
  if (replace) {
    list.replaceChildren();
    rows = 0;
  }
  const fragment = document.createDocumentFragment();
  const view = { useUtc, term: filters.text, pattern: filters.pattern, onlyPattern };
  for (const entry of entries) fragment.appendChild(renderRow(entry, view));
  list.appendChild(fragment);
  rows += entries.length;
  while (list.childElementCount > MAX_ROWS) removeRow(list.firstElementChild);
  renderHeader();
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
  if (event.key === "/") {
    event.preventDefault();
    searchInput.focus();
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
  for (const row of Array.from(list.querySelectorAll(".entry"))) {
    const expires = Number(row.dataset.expires);
    if (expires && expires <= now) removeRow(row);
  }
  renderHeader();
}

// -- filters -------------------------------------------------------------------------------

function writeUrl() {
  history.replaceState(null, "", location.pathname + filtersToQuery(filters, pageView));
}

// New filters: into the URL (shareable), then a fresh subscription with a fresh backfill.
function applyFilters(next) {
  filters = next;
  writeUrl();
  filterBar.render(filters);
  lastCursor = "0";
  pending = [];
  pendingCount = 0;
  pendingReplace = false;
  renderBanner();
  renderHeader();
  reconnectNow();
}

function toggleBand(band) {
  const chosen = new Set(filters.severities);
  if (chosen.has(band)) chosen.delete(band);
  else chosen.add(band);
  applyFilters({ ...filters, severities: BANDS.filter((name) => chosen.has(name)) });
}

// "Only this pattern" in an expanded row; its template names the filter until cleared.
function onlyPattern(pattern) {
  filterBar.patternTemplate = String(pattern.template || "");
  applyFilters({ ...filters, pattern: String(pattern.id || "") });
}

// A ?pattern= that is no pattern id is not applied: say so, and drop it from the URL.
function noteRejectedPattern() {
  const rejected = rejectedPattern(location.search);
  if (!rejected) return;
  header.addEvent("url", "Ignored pattern=“" + rejected.slice(0, 40) + "” in the URL: a " +
    "pattern id is 16 hex digits. Showing entries of every pattern.");
  writeUrl();
}

let searchTimer = null;
function onSearchInput() {
  window.clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => {
    const text = searchInput.value.slice(0, MAX_TEXT);
    if (text !== filters.text) applyFilters({ ...filters, text });
  }, SEARCH_DELAY_MS);
}

// -- the socket ----------------------------------------------------------------------------

function handle(message) {
  if (message.hello) {
    serverSaid = "";
    // LIVE once the backfill (or the catch-up after our cursor) is here, not at the hello:
    // until then the page is not yet showing what the server holds.
    if (message.hello.ttlSeconds) $("ttl").textContent = humanDuration(message.hello.ttlSeconds);
    header.sampling = message.hello.sampling || "";
    header.backfillLimit = Number(message.hello.backfillLimit || 0);
    $("sampling").textContent = header.sampling || "none";
    return; // the hello's cursor says nothing yet: keep ours for the Subscribe
  }
  lastCursor = message.cursor || "0"; // proto3 JSON omits a zero cursor
  if (message.entries) onEntries(message.entries);
  else if (message.status) onStatus(message.status);
  else if (message.notice) onNotice(message.notice);
}

function onEntries(batch) {
  failures = 0; // reset only once the store has answered, so a failing store backs off
  if (connection !== "live") setConnection("live"); // the first frame after the hello
  const entries = batch.entries || [];
  const backfill = Boolean(batch.backfill);
  if (!backfill) header.noteReceived(entries.length);
  filterBar.noteServices(entries, filters);
  filterBar.notePattern(entries, filters);
  if (pausedReason) holdBack(entries, backfill);
  else appendEntries(entries, backfill);
}

function onStatus(status) {
  header.setStatus(status);
  filterBar.noteServices((status.services || []).map((service) => ({ service })), filters);
  renderHeader();
}

function onNotice(notice) {
  header.addEvent(notice.kind || "notice", notice.text || "");
  if (notice.kind === "MISSED") list.appendChild(renderGap(notice.text || "Entries missed"));
  renderHeader();
}

function closeReason(event) {
  if (event.reason) return event.reason;
  if (event.code && event.code !== 1005 && event.code !== 1006) return "code " + event.code;
  return "connection lost";
}

// `said`: the reason the server gave when it closed the socket ("" when it just went away).
// It stays on the pill through the retries that follow, until the stream is back.
function scheduleReconnect(reason, said) {
  failures += 1;
  if (said) serverSaid = said;
  if (failures >= DISCONNECTED_AFTER_FAILURES) setConnection("disconnected", serverSaid || reason);
  else setConnection("reconnecting", "attempt " + failures + (serverSaid ? ": " + serverSaid : ""));
  pill.title = "Last close: " + reason;
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
  const delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter: pages do not stampede
  retryTimer = window.setTimeout(connect, delay);
}

function connect() {
  retryTimer = null;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const opened = new WebSocket(scheme + "//" + location.host + "/logs/stream");
  socket = opened;
  opened.addEventListener("open", () => {
    opened.send(JSON.stringify(subscribeFrame(lastCursor, filters)));
  });
  opened.addEventListener("message", (event) => {
    if (opened !== socket) return;
    try {
      handle(JSON.parse(event.data));
    } catch (error) {
      console.error("bad stream message", error);
    }
  });
  opened.addEventListener("close", (event) => {
    if (opened === socket && retryTimer === null) {
      scheduleReconnect(closeReason(event), visible(event.reason || ""));
    }
  });
}

function reconnectNow() {
  const old = socket;
  socket = null;
  if (old) old.close(1000, "filters changed");
  if (retryTimer !== null) window.clearTimeout(retryTimer);
  failures = 0;
  setConnection("connecting");
  connect();
}

// -- wiring --------------------------------------------------------------------------------

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
  saveUtcChoice(UTC_KEY, useUtc);
  renderUtcButton();
  refreshTimes(list, useUtc);
});
for (const button of document.querySelectorAll("[data-band]")) {
  button.addEventListener("click", () => toggleBand(button.dataset.band));
}
serviceSelect.addEventListener("change", () => {
  applyFilters({ ...filters, service: serviceSelect.value });
});
searchInput.addEventListener("input", onSearchInput);
$("clear").addEventListener("click", () => applyFilters({ ...NO_FILTERS }));
$("pattern-clear").addEventListener("click", () => applyFilters({ ...filters, pattern: "" }));
scroller.addEventListener("scroll", onScroll, { passive: true });
document.addEventListener("keydown", onKey);

renderUtcButton();
renderPauseButton();
renderBanner();
filterBar.render(filters);
noteRejectedPattern();
patternsView.show(pageView === "patterns");
renderHeader();
window.setInterval(sweepExpired, EXPIRY_SWEEP_MS);
window.setInterval(() => {
  header.renderRate();
  header.renderHealth();
}, 1000);
connect();
