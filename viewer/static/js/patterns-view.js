// The Patterns view: the window's top patterns by records (GET /logs/patterns), each with its
// count badge, template, bands, services and a sparkline of its records per minute, read again
// every few seconds while the view is open. Its header button opens and closes it; choosing a
// pattern closes it and hands the pattern to `choose` (the page filters the stream to it).
// Templates and services are log text: only ever text nodes.
import { patternId } from "./filters.js";
import { bigCount, countBadge, formatBig, templateNode } from "./patterns.js";
import { sparkline } from "./sparkline.js";
import { makeButton, span } from "./text.js";

const REFRESH_MS = 5000;
const TEMPLATE_CHARACTERS = 300; // in the list; the stream's rows show the rest
const SEVERITIES = new Set(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]);

export class PatternsView {
  // `choose(pattern)`: a pattern was chosen; `current()`: the pattern the stream is filtered on;
  // `shown(open)`: the view was opened or closed.
  constructor(doc, { choose, current, shown }) {
    this.section = doc.getElementById("patterns-view");
    this.list = doc.getElementById("pattern-list");
    this.note = doc.getElementById("patterns-note");
    this.empty = doc.getElementById("patterns-empty");
    this.button = doc.getElementById("view-patterns");
    this.streamParts = Array.from(doc.querySelectorAll("[data-stream-part]"));
    this.choose = choose;
    this.current = current;
    this.shown = shown;
    this.isOpen = false;
    this.reading = 0; // bumped at each open and close: an older read's answer is dropped
    this.timer = null;
    this.button.addEventListener("click", () => this.show(!this.isOpen));
  }

  // Open or close the view (told to `shown` when that changes it).
  show(open) {
    this.section.hidden = !open;
    for (const part of this.streamParts) part.hidden = open;
    this.button.setAttribute("aria-pressed", open ? "true" : "false");
    if (open === this.isOpen) return;
    this.isOpen = open;
    this.reading += 1;
    window.clearTimeout(this.timer);
    this.timer = null;
    if (open) this.load(this.reading);
    this.shown(open);
  }

  async load(reading) {
    try {
      const answer = await fetchPatterns();
      if (reading === this.reading) this.render(answer);
    } catch (error) {
      if (reading === this.reading) this.failed(error);
    }
    if (reading !== this.reading) return;
    this.timer = window.setTimeout(() => this.load(reading), REFRESH_MS);
  }

  render(answer) {
    const patterns = (answer.patterns || []).filter((pattern) => patternId(pattern.id));
    const minutes = Number(answer.minutes || 0);
    this.list.replaceChildren(...patterns.map((pattern) => this.item(pattern, minutes)));
    this.empty.hidden = patterns.length > 0;
    this.note.className = "patterns-note";
    this.note.textContent = "The top " + patterns.length + " patterns of the window by records " +
      "(every entry grouped by pattern, whatever the filters), read again every " +
      REFRESH_MS / 1000 + " s. Choose one to see its entries in the stream.";
  }

  failed(error) {
    this.note.className = "patterns-note failed";
    const why = String((error && error.message) || error);
    this.note.textContent = "Could not read the patterns (" + why + "); trying again in " +
      REFRESH_MS / 1000 + " s.";
  }

  item(pattern, minutes) {
    const id = patternId(pattern.id);
    const item = document.createElement("li");
    item.className = "pattern-item";
    item.dataset.pattern = id;
    if (id === this.current()) {
      item.classList.add("current");
      item.setAttribute("aria-current", "true");
    }
    item.appendChild(countBadge(bigCount(pattern.count)));
    item.appendChild(this.pick(id, String(pattern.template || "")));
    item.appendChild(bands(pattern.severities || []));
    item.appendChild(services(pattern.services || [], Number(pattern.serviceCount || 0)));
    item.appendChild(trend(pattern.perMinute || [], minutes));
    return item;
  }

  pick(id, template) {
    const button = makeButton("pattern-pick");
    button.title = "Show this pattern's entries in the stream (kept in the URL)";
    const { node, left } = templateNode("template", { template }, "", TEMPLATE_CHARACTERS);
    if (left) node.appendChild(span("more", "…"));
    button.appendChild(node);
    button.addEventListener("click", () => {
      this.show(false);
      this.choose({ id, template });
    });
    return button;
  }
}

async function fetchPatterns() {
  const response = await fetch("/logs/patterns", {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error("HTTP " + response.status);
  const answer = await response.json();
  if (!answer || !Array.isArray(answer.patterns)) throw new Error("not a list of patterns");
  return answer;
}

function bands(names) {
  const cell = document.createElement("span");
  cell.className = "pattern-bands";
  for (const name of names) {
    const band = SEVERITIES.has(name) ? name : "UNSPECIFIED";
    cell.appendChild(span("severity sev-" + band.toLowerCase(), band));
  }
  return cell;
}

function services(names, total) {
  const cell = document.createElement("span");
  cell.className = "pattern-services";
  names.forEach((name, i) => {
    if (i) cell.appendChild(document.createTextNode(", "));
    cell.appendChild(span("service-name", name || "—"));
  });
  if (total > names.length) cell.appendChild(span("more", " +" + (total - names.length) + " more"));
  cell.title = total + (total === 1 ? " service" : " services");
  return cell;
}

function trend(perMinute, minutes) {
  const counts = perMinute.map((count) => Math.max(0, Number(count) || 0));
  const total = counts.reduce((sum, count) => sum + count, 0);
  const peak = Math.max(0, ...counts);
  const title = formatBig(String(total)) + " records first seen in the last " + minutes +
    " minutes, at most " + formatBig(String(peak)) + " in one minute";
  return sparkline(counts, title);
}
