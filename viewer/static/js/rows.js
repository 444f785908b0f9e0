// One row per entry: time, severity, service (and how many others), a "×N" count badge and
// the message (for a pattern entry, its template with the variables marked). A click on a
// row opens its details in the side panel (details.js). Rows are made only for the entries in
// view (virtual-list.js). Everything from the entry goes in as text (text.js, ansi.js).
import { richText } from "./ansi.js";
import { serviceNames } from "./entry-fields.js";
import { bigCount, countBadge, templateNode } from "./patterns.js";
import { timeElement } from "./times.js";
import { nanosToMillis, span } from "./text.js";

const SEVERITIES = new Set(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]);
const SHORT_MESSAGE = 400; // characters shown in the row; the details show all of it

export function severityName(entry) {
  const name = String(entry.severity || "UNSPECIFIED").toUpperCase();
  return SEVERITIES.has(name) ? name : "UNSPECIFIED";
}

// The service column: the entry's service, and "+2" when its records came from more.
function serviceCell(entry) {
  const names = serviceNames(entry);
  const cell = span("service", entry.service || names[0] || "—");
  const others = names.filter((name) => name !== entry.service).length;
  if (others > 0) {
    const more = span("more-services", " +" + others);
    cell.appendChild(more);
    cell.title = names.join(", ");
  }
  return cell;
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
    more.title = "Open the row's details to read all of it";
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

// The body (ANSI colours styled), cut short; returns how many characters were left out.
function appendMessage(cell, entry, term) {
  const { node, left, total } = richText("message", entry.body || "", term, SHORT_MESSAGE);
  cell.appendChild(node);
  // A body the stream shortened is longer than what arrived: bodyLength says how long.
  const full = Math.max(total, Number(entry.bodyLength || 0));
  return left > 0 ? full - (total - left) : Math.max(0, full - SHORT_MESSAGE);
}

// The template with its variables marked, cut short; returns how many characters were left.
function appendTemplate(cell, pattern, term) {
  const { node, left } = templateNode("message template", pattern, term, SHORT_MESSAGE);
  cell.appendChild(node);
  return left;
}

// `item`: {entry, id, ...} (entries.js). `view`: {useUtc, term, selected}.
export function renderRow(item, view) {
  const entry = item.entry;
  const severity = severityName(entry);
  const row = document.createElement("li");
  row.className = "entry sev-row-" + severity.toLowerCase();
  row.id = "entry-" + item.key;
  row.dataset.id = String(entry.id || "0");
  if (entry.pattern) row.dataset.pattern = String(entry.pattern.id || "");
  row.tabIndex = -1;
  row.appendChild(timeElement(item.millis, view.useUtc));
  row.appendChild(span("severity sev-" + severity.toLowerCase(), severity));
  row.appendChild(serviceCell(entry));
  row.appendChild(textCell(entry, view.term));
  return row;
}

// A marker where entries are missing from the list (the page fell behind the stream).
export function renderGap(item) {
  const row = document.createElement("li");
  row.className = "gap";
  row.id = "entry-" + item.key;
  row.textContent = item.text;
  return row;
}

export function itemMillis(entry) {
  return nanosToMillis(entry.firstSeenUnixNano);
}
