// The header: entries per second shown, the window, sampling, Logflare's health and budget,
// and the notices that say plainly why the list is not simply everything (limits, filters,
// sampling, entries this page missed).
import { ago, formatCount, makeButton, visible } from "./text.js";
import { describe, isActive } from "./filters.js";

const RATE_WINDOW_MS = 10000;

export class Header {
  constructor(doc) {
    this.rateText = doc.getElementById("rate");
    this.rowsText = doc.getElementById("rows");
    this.windowText = doc.getElementById("window");
    this.samplingText = doc.getElementById("sampling");
    this.health = doc.getElementById("health");
    this.budgetPart = doc.getElementById("budget-part");
    this.budget = doc.getElementById("budget");
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
    const view = healthView(this.status.exporter || {}, Date.now(), this.health.dataset.label);
    setText(this.health, view.text);
    this.health.className = "health health-" + view.state;
    this.health.title = view.title;
    this.renderBudget();
  }

  // How far behind a budget's held entries are; nothing while no budget holds any. Only what
  // goes to the exporter waits: the list shows each batch as it is processed.
  renderBudget() {
    const view = budgetView(this.status.budgets || [], Date.now(), this.health.dataset.label);
    this.budgetPart.hidden = !view.text;
    setText(this.budget, view.text);
    if (this.budget.title !== view.title) this.budget.title = view.title;
  }

  // A server Notice (entries missed, a cursor too old): shown until dismissed.
  addEvent(kind, text) {
    this.events.set(kind, visible(text));
  }

  render(view) {
    setText(this.rowsText, formatCount(view.rows));
    const lines = [];
    const windowEntries = this.status ? Number(this.status.windowEntries || 0) : 0;
    const chips = view.chips || [];
    if (isActive(view.filters) || chips.length) {
      const parts = [describe(view.filters), ...chips.map(describeChip)].filter(Boolean);
      lines.push(["filter", "Filtered on the server (" + parts.join("; ") +
        "): hidden entries are not sent to this page."]);
    } else if (windowEntries > (view.held ?? view.rows)) {
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
      li.className = "notice notice-" + kind + (dismissable ? " dismissable" : "");
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
    const button = makeButton("dismiss", "×");
    button.title = "Dismiss";
    button.addEventListener("click", () => {
      this.events.delete(kind);
      button.parentElement.remove();
      this.shown = "";
    });
    return button;
  }
}

function describeChip(chip) {
  return (chip.exclude ? "not " : "") + chip.field + " " + chip.value;
}

// Writing the same text again still costs a style and layout pass: skip it.
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

// What to say of the export: "ok", "failing", "idle" or "off", with the words for it. `label`
// names it as the server does: "Logflare", "OTLP", or "Export" for several exporters (a
// failing one's error then starts with its name).
export function healthView(exporter, now, label = "Logflare") {
  if (!exporter.enabled) {
    return { state: "off", text: label + ": not configured", title: "Entries only reach this view" };
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
      text: label + ": failing, last error " + ago(error, now) + " (" + why + "); " + lastOk + queued,
      title: "Last error at " + new Date(error).toISOString(),
    };
  }
  if (!success) return { state: "idle", text: label + ": nothing exported yet" + queued, title: "" };
  return {
    state: "ok",
    text: label + ": OK, " + lastOk + queued,
    title: "Last success at " + new Date(success).toISOString(),
  };
}

// The budgets holding entries, in a few words each: "Logflare: budget 45/s, 1,234 held,
// oldest 2m". With one budget the exporter goes by the header's `label`; with several, by
// its key. The title says the rest: the limit the backend announced and since when.
export function budgetView(budgets, now, label = "Logflare") {
  const holding = budgets.filter((b) => Number(b.heldEntries || 0) > 0);
  const named = (b) => (budgets.length === 1 && label !== "Export" ? label : b.exporter);
  const parts = holding.map((b) => {
    const since = b.oldestHeld ? Date.parse(b.oldestHeld) : now;
    return {
      text: named(b) + ": budget " + perSecond(b.rate) + ", " + formatCount(b.heldEntries) +
        " held, oldest " + shortWait(now - since),
      title: named(b) + " sends at most " + perSecond(b.rate) +
        (b.limit ? " (its backend announced " + perSecond(b.limit) + ")" : "") + "; " +
        formatCount(b.heldEntries) + " entries wait for room, merging with later ones, the " +
        "oldest since " + new Date(since).toISOString() + ". This list is not delayed.",
    };
  });
  return {
    text: parts.map((p) => p.text).join("; "),
    title: parts.map((p) => p.title).join("\n"),
  };
}

function perSecond(rate) {
  const value = Number(rate || 0);
  return (value >= 10 ? Math.round(value) : Math.round(value * 10) / 10).toLocaleString("en-US") +
    "/s";
}

// A wait in the largest unit that says it: 45s, 2m, 3h05m.
export function shortWait(millis) {
  const seconds = Math.max(0, Math.floor(millis / 1000));
  if (seconds < 60) return seconds + "s";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m";
  const minutes = Math.floor(seconds / 60) % 60;
  return Math.floor(seconds / 3600) + "h" + String(minutes).padStart(2, "0") + "m";
}
