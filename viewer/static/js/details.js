// The details of the selected entry, in a side panel that does not move with the stream (on
// a phone, a sheet over the lower part of the list): the whole message (JSON bodies indented,
// ANSI colours styled), the pattern, and the entry's fields, resource attributes and record
// attributes, each value with click-to-filter buttons (fields-view.js). A shortened entry is
// loaded whole from GET /logs/entries/<id>. All of it is attacker text: text nodes only.
import { richText } from "./ansi.js";
import { contextButton } from "./context.js";
import { entryForCopy, entryServices, flatAttributes, resourcePairs } from "./entry-fields.js";
import { fieldsTable } from "./fields-view.js";
import { jsonBody, prettyJson } from "./json-view.js";
import { bigCount, formatBig, patternDetails } from "./patterns.js";
import { severityName } from "./rows.js";
import { formatTime } from "./times.js";
import { isoTime, makeButton, nanosToMillis, span, visible } from "./text.js";

const TRACE_ID = /^[0-9a-f]{16,64}$/i;

export class DetailsPanel {
  // `onFilter(field, value, exclude)`, `onlyPattern(pattern)`, `onClose()`; `view()` gives
  // {useUtc, pattern} as the page has them now.
  constructor(doc, { onFilter, onlyPattern, onClose, view }) {
    this.panel = doc.getElementById("details");
    this.body = doc.getElementById("details-body");
    this.title = doc.getElementById("details-title");
    this.traceUrl = doc.getElementById("log").dataset.traceUrl || "";
    this.onFilter = onFilter;
    this.onlyPattern = onlyPattern;
    this.view = view;
    this.item = null;
    this.whole = new WeakMap(); // entry as streamed -> the whole entry, once loaded
    doc.getElementById("details-close").addEventListener("click", onClose);
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  show(item) {
    this.item = item;
    this.panel.hidden = false;
    const whole = this.whole.get(item.entry);
    this.render(whole || item.entry);
    if (item.entry.shortened && !whole) this.load(item);
  }

  hide() {
    this.item = null;
    this.panel.hidden = true;
    this.body.replaceChildren();
  }

  render(entry, note) {
    const severity = severityName(entry);
    const millis = nanosToMillis(entry.firstSeenUnixNano);
    this.title.replaceChildren(
      span("severity sev-" + severity.toLowerCase(), severity),
      span("details-when", millis ? formatTime(millis, this.view().useUtc) : "—"),
      span("details-service", entry.service || "—"),
    );
    const parts = [];
    if (note) parts.push(note);
    if (entry.pattern) parts.push(patternDetails(entry.pattern, { ...this.view(), onlyPattern: this.onlyPattern }));
    parts.push(messagePart(entry));
    parts.push(...this.tables(entry));
    parts.push(actions(entry, this.body, this.view().useUtc));
    this.body.replaceChildren(...parts);
    this.body.scrollTop = 0;
  }

  tables(entry) {
    const tables = [fieldsTable("Entry", this.entryRows(entry), this.onFilter, "entry-fields")];
    const resource = resourcePairs(entry).map(([name, value]) => ({ name, value, filter: name }));
    if (resource.length) tables.push(fieldsTable("Resource", resource, this.onFilter, "resource"));
    const attributes = flatAttributes(entry.attributes).map(([name, value]) => (
      { name, value, filter: name }));
    if (!attributes.length) {
      const why = entry.attributesElided ? "left out of the stream for their size" : "none";
      attributes.push({ name: "—", value: why });
    }
    tables.push(fieldsTable("Attributes", attributes, this.onFilter, "attributes"));
    return tables;
  }

  entryRows(entry) {
    const services = entryServices(entry);
    const several = services.length > 1 || bigCount(entry.servicesOther) > 0n;
    const rows = services.map((service) => ({
      name: "service", value: service.name, filter: "service", className: "service-value",
      node: serviceNode(service, several),
    }));
    if (bigCount(entry.servicesOther) > 0n) {
      rows.push({ name: "service", value: "+" + formatBig(entry.servicesOther) + " records of others" });
    }
    rows.push({ name: "severity", value: severityName(entry), filter: "severity" });
    if (entry.pattern) rows.push({ name: "pattern", value: String(entry.pattern.id || ""), filter: "pattern" });
    rows.push({ name: "scope", value: entry.scope || "—", filter: entry.scope ? "scope" : "", className: "scope" });
    rows.push({ name: "trace_id", value: entry.traceId || "—", filter: entry.traceId ? "trace_id" : "",
      className: "trace-id", node: this.traceNode(entry.traceId) });
    rows.push({ name: "span_id", value: entry.spanId || "—", filter: entry.spanId ? "span_id" : "",
      className: "span-id" });
    rows.push({ name: "first seen", value: isoTime(entry.firstSeenUnixNano), className: "first-seen" });
    rows.push({ name: "last seen", value: isoTime(entry.lastSeenUnixNano), className: "last-seen" });
    rows.push({ name: "records", value: formatBig(entry.count || "1"), className: "count" });
    rows.push({ name: "sample rate", value: "1:" + Number(entry.sampleRate || 1), className: "sample-rate" });
    return rows;
  }

  // The trace id, linked to the tracing UI when viewer.trace_url is set and it is an id.
  traceNode(traceId) {
    const id = String(traceId || "");
    if (!this.traceUrl || !TRACE_ID.test(id)) return span("text-value", id || "—");
    const link = document.createElement("a");
    link.href = this.traceUrl.split("{trace_id}").join(encodeURIComponent(id));
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.className = "trace-link";
    link.textContent = id;
    link.title = "Open this trace (viewer.trace_url)";
    return link;
  }

  // The stream shortened this entry: load it whole, show it once here (if still shown).
  load(item) {
    const note = document.createElement("p");
    note.className = "loading";
    note.textContent = "Shortened in the stream: loading the whole entry…";
    this.render(item.entry, note);
    loadEntry(item.entry.id).then((whole) => {
      this.whole.set(item.entry, whole);
      if (this.item === item) this.render(whole);
    }, (error) => {
      if (this.item !== item) return;
      note.className = "loading failed";
      note.textContent = "Shortened in the stream; the whole entry could not be loaded (" +
        visible(String(error && error.message || error)) + ").";
    });
  }
}

function serviceNode(service, several) {
  const node = span("text-value", service.name);
  if (several && service.count) node.appendChild(span("service-count", " ×" + formatBig(service.count)));
  return node;
}

// The whole message: a JSON body indented, any other with its ANSI colours styled.
function messagePart(entry) {
  const part = document.createElement("section");
  part.className = "message-part";
  const heading = document.createElement("h3");
  heading.textContent = entry.pattern ? "Example line" : "Message";
  const value = jsonBody(entry.body);
  const body = value === undefined ? richText("full-message", entry.body || "", "").node
    : prettyJson(value, "full-message json");
  part.append(heading, body);
  return part;
}

function actions(entry, body, useUtc) {
  const bar = document.createElement("p");
  bar.className = "details-actions";
  const copy = makeButton("control copy", "Copy as JSON");
  copy.addEventListener("click", () => copyText(JSON.stringify(entryForCopy(entry), null, 2), copy));
  bar.appendChild(copy);
  bar.appendChild(contextButton(entry, body, useUtc));
  return bar;
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
