// The header: entries per second shown, the window, sampling, Logflare's health, and the
// notices that say plainly why the list is not simply everything (limits, filters,
// sampling, entries this page missed).
import { ago, formatCount, visible } from "./text.js";
import { describe, isActive } from "./filters.js";

const RATE_WINDOW_MS = 10000;

export class Header {
  constructor(doc) {
    this.rateText = doc.getElementById("rate");
    this.rowsText = doc.getElementById("rows");
    this.windowText = doc.getElementById("window");
    this.samplingText = doc.getElementById("sampling");
    this.health = doc.getElementById("health");
    this.notices = doc.getElementById("notices");
    this.received = []; // [time ms, entries] of live batches, for the rate
    this.status = null; // the last Status from the server
    this.sampling = "";
    this.backfillLimit = 0;
    this.events = new Map(); // notices from the server, by kind, until dismissed
    this.shown = ""; // the notices on screen, so an unchanged header costs no DOM work
  }

  noteReceived(n) {
    if (n > 0) this.received.push([Date.now(), n]);
    this.renderRate();
  }

  renderRate() {
    const since = Date.now() - RATE_WINDOW_MS;
    while (this.received.length && this.received[0][0] < since) this.received.shift();
    let total = 0;
    for (const [, n] of this.received) total += n;
    setText(this.rateText, (total / (RATE_WINDOW_MS / 1000)).toFixed(1));
  }

  setStatus(status) {
    this.status = status;
    setText(this.windowText, formatCount(status.windowEntries));
    this.renderHealth();
  }

  renderHealth() {
    if (!this.status) return; // "Logflare: …" until the first Status says
    const view = healthView(this.status.exporter || {}, Date.now());
    setText(this.health, view.text);
    this.health.className = "health health-" + view.state;
    this.health.title = view.title;
  }

  // A server Notice (entries missed, a cursor too old): shown until dismissed.
  addEvent(kind, text) {
    this.events.set(kind, visible(text));
  }

  render(view) {
    setText(this.rowsText, formatCount(view.rows));
    const lines = [];
    const windowEntries = this.status ? Number(this.status.windowEntries || 0) : 0;
    if (isActive(view.filters)) {
      lines.push(["filter", "Filtered on the server (" + describe(view.filters) +
        "): hidden entries are not sent to this page."]);
    } else if (windowEntries > view.rows) {
      lines.push(["limit", "Showing the newest " + formatCount(view.rows) + " of " +
        formatCount(windowEntries) + " entries in the window: a connect loads the newest " +
        formatCount(this.backfillLimit) + " and the page keeps at most " +
        formatCount(view.maxRows) + "."]);
    }
    if (this.sampling) { // the server says "" when nothing is sampled
      lines.push(["sampling", "Sampling in force (rules above): some entries are not kept, " +
        "and a row marked “sampled 1:N” stands for about N times its count."]);
    }
    for (const [kind, text] of this.events) lines.push([kind, text, true]);
    const key = JSON.stringify(lines);
    if (key === this.shown) return;
    this.shown = key;
    this.renderNotices(lines);
  }

  renderNotices(lines) {
    const items = lines.map(([kind, text, dismissable]) => {
      const li = document.createElement("li");
      li.className = "notice notice-" + kind;
      li.dataset.kind = kind;
      const words = document.createElement("span");
      words.textContent = text;
      li.appendChild(words);
      if (dismissable) li.appendChild(this.dismissButton(kind));
      return li;
    });
    this.notices.replaceChildren(...items);
  }

  dismissButton(kind) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "dismiss";
    button.textContent = "×";
    button.title = "Dismiss";
    button.addEventListener("click", () => {
      this.events.delete(kind);
      button.parentElement.remove();
      this.shown = "";
    });
    return button;
  }
}

// Writing the same text again still costs a style and layout pass: skip it.
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

// What to say of the exporter: "ok", "failing", "idle" or "off", with the words for it.
export function healthView(exporter, now) {
  if (!exporter.enabled) {
    return { state: "off", text: "Logflare: not configured", title: "Entries only reach this view" };
  }
  const success = exporter.lastSuccess ? Date.parse(exporter.lastSuccess) : 0;
  const error = exporter.lastError ? Date.parse(exporter.lastError) : 0;
  const waiting = Number(exporter.outboxDepth || 0);
  const queued = waiting ? ", " + formatCount(waiting) + " events waiting" : "";
  const lastOk = success ? "last success " + ago(success, now) : "no success yet";
  if (error > success) {
    const why = visible(exporter.lastErrorText || "unknown error");
    return {
      state: "failing",
      text: "Logflare: failing, last error " + ago(error, now) + " (" + why + "); " + lastOk + queued,
      title: "Last error at " + new Date(error).toISOString(),
    };
  }
  if (!success) return { state: "idle", text: "Logflare: nothing exported yet" + queued, title: "" };
  return {
    state: "ok",
    text: "Logflare: OK, " + lastOk + queued,
    title: "Last success at " + new Date(success).toISOString(),
  };
}

