// One row per entry: time, severity, service, a "×N" count badge and the message (for a
// pattern entry, its template with the variables marked); a click expands its details.
// Everything from the entry goes in as text (see text.js).
import { bigCount, countBadge, patternDetails, templateNode } from "./patterns.js";
import { highlighted, isoTime, nanosToMillis, span, visible } from "./text.js";

const SEVERITIES = new Set(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]);
const SHORT_MESSAGE = 400; // characters shown in the row; the details show all of it

// The UTC toggle is remembered per browser; storage may be disabled, then it lasts a page.
export function readUtcChoice(key) {
  try {
    return window.localStorage.getItem(key) === "1";
  } catch (_) {
    return false;
  }
}

export function saveUtcChoice(key, useUtc) {
  try {
    window.localStorage.setItem(key, useUtc ? "1" : "0");
  } catch (_) {
    // storage disabled: the choice lasts for this page only
  }
}

export function formatTime(when, useUtc) {
  if (useUtc) return when.toISOString().slice(11, 19) + "Z";
  return when.toLocaleTimeString(undefined, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
}

function timeCell(entry, useUtc) {
  const when = new Date(nanosToMillis(entry.firstSeenUnixNano));
  const el = document.createElement("time");
  el.className = "time";
  el.dateTime = when.toISOString();
  el.title = when.toISOString();
  el.textContent = formatTime(when, useUtc);
  return el;
}

export function refreshTimes(list, useUtc) {
  for (const el of list.querySelectorAll("time.time")) {
    el.textContent = formatTime(new Date(el.dateTime), useUtc);
  }
}

function severityName(entry) {
  const name = String(entry.severity || "UNSPECIFIED").toUpperCase();
  return SEVERITIES.has(name) ? name : "UNSPECIFIED";
}

// The text column: a "×N" badge past one record, the message (cut short), a sampling badge.
function textCell(entry, term) {
  const cell = document.createElement("span");
  cell.className = "text";
  const count = bigCount(entry.count);
  if (count > 1n) cell.appendChild(countBadge(count));
  const left = entry.pattern ? appendTemplate(cell, entry.pattern, term)
    : appendMessage(cell, entry, term);
  if (left > 0) {
    const more = span("more", "… (" + left + " more characters)");
    more.title = "Expand the row to read all of it";
    cell.appendChild(more);
  }
  const rate = Number(entry.sampleRate || 1);
  if (rate > 1) {
    const badge = span("sampled", "sampled 1:" + rate);
    badge.title = "1 in " + rate + " such entries is kept; count × " + rate + " estimates the total";
    cell.appendChild(badge);
  }
  return cell;
}

// The body, cut short; returns how many characters were left out.
function appendMessage(cell, entry, term) {
  const message = visible(entry.body || "");
  // A body the stream shortened is longer than what arrived: bodyLength says how long.
  const total = Math.max(message.length, Number(entry.bodyLength || 0));
  const cut = total > SHORT_MESSAGE;
  cell.appendChild(highlighted("message", cut ? message.slice(0, SHORT_MESSAGE) : message, term));
  return cut ? total - SHORT_MESSAGE : 0;
}

// The template with its variables marked, cut short; returns how many characters were left.
function appendTemplate(cell, pattern, term) {
  const { node, left } = templateNode("message template", pattern, term, SHORT_MESSAGE);
  cell.appendChild(node);
  return left;
}

export function renderRow(entry, view) {
  const severity = severityName(entry);
  const row = document.createElement("li");
  row.className = "entry sev-row-" + severity.toLowerCase();
  row.dataset.id = String(entry.id || "0");
  row.dataset.expires = String(nanosToMillis(entry.expiresAtUnixNano));
  if (entry.pattern) row.dataset.pattern = String(entry.pattern.id || "");
  row.tabIndex = 0;
  row.setAttribute("aria-expanded", "false");
  row.appendChild(timeCell(entry, view.useUtc));
  row.appendChild(span("severity sev-" + severity.toLowerCase(), severity));
  row.appendChild(span("service", entry.service || "—"));
  row.appendChild(textCell(entry, view.term));
  row.addEventListener("click", (event) => {
    if (event.target.closest(".details")) return; // clicks inside the details stay there
    const selection = window.getSelection();
    if (selection && selection.toString()) return; // selecting text is not a click
    toggleDetails(row, entry, view);
  });
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target === row) {
      event.preventDefault();
      toggleDetails(row, entry, view);
    }
  });
  return row;
}

// A marker where entries are missing from the list (the page fell behind the stream).
export function renderGap(text) {
  const row = document.createElement("li");
  row.className = "gap";
  row.textContent = text;
  return row;
}

function detailLine(dl, label, value, className) {
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  if (className) dd.className = className;
  dd.textContent = visible(value);
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

function toggleDetails(row, entry, view) {
  const open = row.querySelector(".details");
  if (open) {
    open.remove();
    row.setAttribute("aria-expanded", "false");
    return;
  }
  const whole = wholeEntries.get(row);
  const details = renderDetails(whole || entry, view);
  row.appendChild(details);
  row.setAttribute("aria-expanded", "true");
  details.scrollIntoView({ block: "nearest" });
  if (entry.shortened && !whole) completeDetails(row, entry, details, view);
}

const wholeEntries = new WeakMap(); // row -> the whole entry, once loaded

// The stream shortened this entry (a long body, large attributes): load it whole and show
// that instead, once it is here. It is attacker text like the rest: only ever text nodes.
function completeDetails(row, entry, details, view) {
  const note = document.createElement("p");
  note.className = "loading";
  note.textContent = "Shortened in the stream: loading the whole entry…";
  details.prepend(note);
  loadEntry(entry.id).then((whole) => {
    wholeEntries.set(row, whole);
    if (details.isConnected) details.replaceWith(renderDetails(whole, view));
  }, (error) => {
    note.className = "loading failed";
    note.textContent = "Shortened in the stream; the whole entry could not be loaded (" +
      visible(String(error && error.message || error)) + ").";
  });
}

async function loadEntry(id) {
  const response = await fetch("/logs/entries/" + encodeURIComponent(String(id || "0")), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (response.status === 404) throw new Error("it has expired");
  if (!response.ok) throw new Error("HTTP " + response.status);
  const whole = await response.json();
  if (!whole || typeof whole !== "object" || String(whole.id) !== String(id)) {
    throw new Error("not the entry asked for");
  }
  return whole;
}

// A pattern entry's details open on its pattern; its body is then one real line of it.
function renderDetails(entry, view) {
  const details = document.createElement("div");
  details.className = "details";
  if (entry.pattern) details.appendChild(patternDetails(entry.pattern, view));
  const dl = document.createElement("dl");
  const attributes = entry.attributes || {};
  const hasAttributes = Object.keys(attributes).length > 0;
  detailLine(dl, entry.pattern ? "Example line" : "Message", entry.body || "", "full-message");
  const noAttributes = entry.attributesElided ? "left out of the stream for their size" : "none";
  detailLine(dl, "Attributes", hasAttributes ? JSON.stringify(attributes, null, 2) : noAttributes,
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
  return details;
}
