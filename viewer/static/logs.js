// The live log viewer: follows /logs/stream (proto3 JSON of logsieve.v1.StreamMessage).
// Every piece of log text is attacker-controlled: it only ever goes in as text (js/text.js).
// This file wires the parts: the list and its pausing (js/stream-view.js), the filters and
// chips (kept in the URL), the socket (js/connection.js), the header and the display choices.
import { chipParams, readChips, renderChips, sameChip, withChip } from "./js/chips.js";
import { Connection } from "./js/connection.js";
import { Display } from "./js/display.js";
import { EmptyState, urlProblems } from "./js/edges.js";
import { FilterBar } from "./js/filter-bar.js";
import {
  BANDS, MAX_TEXT, NO_FILTERS, filtersToQuery, isActive, readFilters, readView, rejectedPattern,
  subscribeFrame,
} from "./js/filters.js";
import { Header } from "./js/header.js";
import { installKeys, shortcutsDialog } from "./js/keys.js";
import { localFilter, narrows, searchQuery } from "./js/local-filter.js";
import { PatternsView } from "./js/patterns-view.js";
import { markedTerm } from "./js/query.js";
import { StreamView } from "./js/stream-view.js";
import { humanDuration } from "./js/text.js";

const EXPIRY_SWEEP_MS = 15000;
const SEARCH_DELAY_MS = 300; // typing settles before the stream is asked again

const $ = (id) => document.getElementById(id);
const pill = $("status");
const retryButton = $("retry");
const searchInput = $("search");
const header = new Header(document);
const filterBar = new FilterBar(document);
const emptyState = new EmptyState(document);
const dialog = shortcutsDialog(document);

let lastCursor = "0"; // uint64 fields arrive as strings; the cursor is passed back untouched
let filters = readFilters(location.search);
let chips = readChips(location.search);
let typed = filters.text; // the search as typed, ahead of the server's subscription
let pageView = readView(location.search); // "stream" or "patterns"
let connection = "connecting"; // "live", "reconnecting", "disconnected" too
let connectionDetail = "";
let windowEntries = null; // the window's size, once the server said
// The search the server last refused (BAD_QUERY) and why: it keeps nothing while subscribed.
let refused = { query: "", why: "" };

const display = new Display(document, { changed: (times) => stream.redraw(times) });
const stream = new StreamView(document, {
  onFilter: (field, value, exclude) => addChip({ field, value, exclude }),
  onlyPattern: (pattern) => onlyPattern(pattern),
  onChange: () => {
    renderStatus();
    renderHeader();
  },
  view: () => ({ useUtc: display.useUtc, term: highlight(typed), pattern: filters.pattern }),
});
const patternsView = new PatternsView(document, {
  choose: (pattern) => onlyPattern(pattern), // it is back on the stream by then
  current: () => filters.pattern,
  shown: (open) => {
    pageView = open ? "patterns" : "stream";
    writeUrl();
    if (!open && !stream.pausedReason) stream.list.scrollToBottom();
  },
});
const socket = new Connection({
  subscribe: () => subscription(),
  onMessage: (message) => handle(message),
  onState: (state, detail, title) => {
    setConnection(state, detail);
    pill.title = title;
  },
});

// The word the search marks in the rows, worked out once per search (rows ask for each row).
let marked = { text: null, term: "" };
function highlight(text) {
  if (marked.text !== text) marked = { text, term: markedTerm(text) };
  return marked.term;
}

// -- the status pill -----------------------------------------------------------------------

function renderStatus() {
  let name = connection.toUpperCase();
  let detail = connectionDetail;
  let cls = connection;
  if (connection === "live" && stream.pausedReason) {
    name = "PAUSED";
    detail = stream.pausedReason;
    cls = "paused";
  }
  pill.textContent = detail ? name + " (" + detail + ")" : name;
  pill.className = "pill status-" + cls;
  retryButton.hidden = connection !== "reconnecting" && connection !== "disconnected";
}

function setConnection(state, detail) {
  connection = state;
  connectionDetail = detail || "";
  renderStatus();
  renderHeader();
}

function renderHeader() {
  const rows = stream.entries.rows;
  const held = rows + stream.entries.pending.length; // the list and what waits for a resume
  header.render({ rows, held, filters, chips, maxRows: stream.entries.cap });
  const filtered = isActive({ ...filters, text: typed }) || chips.length > 0;
  const live = connection === "live";
  emptyState.render({ rows, filtered, windowEntries, live, refused: refusedNow() });
}

// Why the search subscribed now was refused, or "" (another search is not refused).
function refusedNow() {
  return refused.query && refused.query === searchQuery(filters, chips) ? refused.why : "";
}

// -- filters and chips ---------------------------------------------------------------------

function writeUrl() {
  const params = new URLSearchParams(filtersToQuery(filters, pageView));
  for (const value of chipParams(chips)) params.append("f", value);
  const query = params.toString();
  history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
}

// The Subscribe frame: the filters, and the chips as terms of the search query.
function subscription() {
  return { ...subscribeFrame(lastCursor, filters), query: searchQuery(filters, chips) };
}

// The page shows at once what it holds that `next` keeps; the server is asked afresh.
function refilter(next, nextChips) {
  const narrowing = narrows({ filters: { ...filters, text: typed }, chips }, { filters: next, chips: nextChips });
  typed = next.text;
  stream.entries.setFilter(localFilter(next, nextChips), narrowing);
}

// New filters: into the URL (shareable), then a fresh subscription with a fresh backfill.
function applyFilters(next, nextChips = chips) {
  window.clearTimeout(searchTimer);
  refilter(next, nextChips);
  filters = next;
  chips = nextChips;
  writeUrl();
  filterBar.render(filters);
  renderChips($("chips"), chips, removeChip);
  lastCursor = "0";
  socket.restart();
  renderHeader();
}

// A value chosen in the details: the details close (the reader asked for another view).
function addChip(chip) {
  stream.closeDetails();
  if (chip.field === "pattern" && !chip.exclude) {
    onlyPattern({ id: chip.value });
    return;
  }
  if (!chips.some((other) => sameChip(other, chip))) applyFilters(filters, withChip(chips, chip));
}

function removeChip(chip) {
  applyFilters(filters, chips.filter((other) => !sameChip(other, chip)));
}

function toggleBand(band) {
  const chosen = new Set(filters.severities);
  if (chosen.has(band)) chosen.delete(band);
  else chosen.add(band);
  applyFilters({ ...filters, severities: BANDS.filter((name) => chosen.has(name)) });
}

// "Only this pattern" in the details; its template names the filter until cleared.
function onlyPattern(pattern) {
  stream.closeDetails();
  filterBar.patternTemplate = String(pattern.template || "");
  applyFilters({ ...filters, pattern: String(pattern.id || "") });
}

// What the URL asked that the page cannot do: said in a notice, and dropped from the URL.
function noteUrlProblems() {
  const problems = urlProblems(location.search);
  const rejected = rejectedPattern(location.search);
  if (rejected) {
    problems.push("pattern=“" + rejected.slice(0, 40) + "” is not a pattern id (16 hex digits).");
  }
  if (!problems.length) return;
  header.addEvent("url", "Ignored in the URL: " + problems.join(" ") + " Showing the rest.");
  writeUrl();
}

let searchTimer = null;
function onSearchInput() {
  const text = searchInput.value.slice(0, MAX_TEXT);
  if (text === typed) return;
  if (filterBar.checkQuery(text)) refilter({ ...filters, text }, chips); // repaint from what is loaded
  else typed = text;
  renderHeader();
  window.clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => {
    // A query the server would refuse is not sent: the box says why, the stream goes on.
    if (typed !== filters.text && filterBar.checkQuery(typed)) applyFilters({ ...filters, text: typed });
  }, SEARCH_DELAY_MS);
}

// -- the stream ----------------------------------------------------------------------------

function handle(message) {
  if (message.hello) {
    // LIVE once the backfill (or the catch-up after our cursor) is here, not at the hello.
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
  socket.answered(); // only once the store has answered, so a failing store backs off
  if (connection !== "live") setConnection("live"); // the first frame after the hello
  const entries = batch.entries || [];
  if (!batch.backfill) header.noteReceived(entries.length);
  filterBar.noteServices(entries, filters);
  filterBar.notePattern(entries, filters);
  stream.receive(entries, Boolean(batch.backfill));
  renderHeader();
}

function onStatus(status) {
  header.setStatus(status);
  windowEntries = Number(status.windowEntries || 0);
  filterBar.noteServices((status.services || []).map((service) => ({ service })), filters);
  renderHeader();
}

function onNotice(notice) {
  if (notice.kind === "BAD_QUERY") {
    refused = { query: searchQuery(filters, chips), why: notice.text || "the server refused the search" };
    filterBar.showQueryProblem(refused.why);
    renderHeader();
    return;
  }
  header.addEvent(notice.kind || "notice", notice.text || "");
  if (notice.kind === "MISSED") stream.entries.addGap(notice.text || "Entries missed", Boolean(stream.pausedReason));
  if (notice.kind === "CURSOR_EXPIRED") stream.entries.gapText = "Entries before this may be missing: " + (notice.text || "the page was away too long");
  renderHeader();
}

// -- wiring --------------------------------------------------------------------------------

for (const button of document.querySelectorAll("[data-band]")) {
  button.addEventListener("click", () => toggleBand(button.dataset.band));
}
$("service").addEventListener("change", (event) => applyFilters({ ...filters, service: event.target.value }));
searchInput.addEventListener("input", onSearchInput);
$("clear").addEventListener("click", () => applyFilters({ ...NO_FILTERS }, []));
$("pattern-clear").addEventListener("click", () => applyFilters({ ...filters, pattern: "" }));
retryButton.addEventListener("click", () => socket.retryNow());
$("help").addEventListener("click", () => dialog.open());
installKeys(document, {
  search: () => {
    display.toggleMenu(true); // on a phone the box is folded away
    searchInput.focus();
  },
  help: () => dialog.open(),
  togglePause: () => stream.togglePause(),
  move: (step) => stream.move(step),
  open: () => stream.openFocused(),
  close: () => dialog.close() || stream.closeDetails() || display.closeMenu(),
  latest: () => (stream.pausedReason ? stream.resume() : stream.list.scrollToBottom()),
  toggleWrap: () => display.toggleWrap(),
});

stream.entries.keeps = localFilter(filters, chips);
filterBar.render(filters);
renderChips($("chips"), chips, removeChip);
noteUrlProblems();
patternsView.show(pageView === "patterns");
renderStatus();
renderHeader();
window.setInterval(() => {
  stream.entries.sweep(Date.now());
  renderHeader();
}, EXPIRY_SWEEP_MS);
window.setInterval(() => {
  header.renderRate();
  header.renderHealth();
}, 1000);
socket.connect();
