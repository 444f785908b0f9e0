// What the page says when the list is empty, and about a URL it could not apply in full:
// - filters that match nothing: "No entries match (N in the window)", not "waiting";
// - a search the server refused: that it was not applied and why, in the list itself, since
//   on a phone the line under the search box is folded away with the filters;
// - an empty window: a first-run panel with the two lines that send a log here;
// - ?severity=warning and the like: named in a notice, with what the page understands.
import { BANDS } from "./filters.js";
import { formatCount } from "./text.js";

const KNOWN_PARAMS = new Set(["severity", "service", "q", "pattern", "view", "f"]);
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]", ""]);

export class EmptyState {
  constructor(doc) {
    this.empty = doc.getElementById("empty");
    this.firstRun = doc.getElementById("first-run");
    this.fillFirstRun(doc);
  }

  // `rows` in the list; `filtered`: any filter applies; `windowEntries`: the window's size
  // (null until the server said); `live`: the stream is connected; `refused`: why the server
  // refused the search it was sent ("" when it took it), which then keeps nothing.
  render({ rows, filtered, windowEntries, live, refused = "" }) {
    const firstRun = !rows && !filtered && !refused && live && windowEntries === 0;
    this.firstRun.hidden = !firstRun;
    this.empty.hidden = rows > 0 || firstRun;
    if (rows > 0 || firstRun) return;
    let text = "Waiting for log entries…";
    if (refused) {
      text = "Search not applied: " + sentence(refused) + " No entries are shown until the search is changed.";
    } else if (filtered && windowEntries !== null) {
      text = "No entries match (" + formatCount(windowEntries) + " in the window).";
    }
    if (this.empty.textContent !== text) this.empty.textContent = text;
    this.empty.className = refused ? "empty refused" : filtered ? "empty no-match" : "empty";
  }

  // The two lines, for the receiver the viewer was told of (the page's own host when that
  // receiver listens on every address).
  fillFirstRun(doc) {
    const code = doc.getElementById("first-run-lines");
    const given = code.dataset.sendUrl || "";
    let url = given;
    try {
      const parsed = new URL(given);
      if (WILDCARD_HOSTS.has(parsed.hostname)) parsed.hostname = location.hostname;
      url = parsed.origin;
    } catch (_) {
      url = "http://" + location.hostname + ":4318";
    }
    code.textContent = "curl -sS " + url + "/v1/logs -H 'Content-Type: application/json' \\\n" +
      "  -d '" + JSON.stringify(FIRST_LOG) + "'";
  }
}

const FIRST_LOG = {
  resourceLogs: [{
    resource: { attributes: [{ key: "service.name", value: { stringValue: "hello" } }] },
    scopeLogs: [{
      logRecords: [{
        severityText: "INFO", severityNumber: 9, body: { stringValue: "my first log line" },
      }],
    }],
  }],
};

// What in the URL the page could not use, each in a sentence ([] when all was understood).
export function urlProblems(search) {
  const params = new URLSearchParams(search);
  const problems = [];
  for (const raw of params.getAll("severity").join(",").split(",")) {
    const name = raw.trim();
    if (name && !BANDS.includes(name.toUpperCase())) {
      const near = BANDS.find((band) => band.startsWith(name.toUpperCase().slice(0, 3)));
      problems.push("severity=" + quoteShort(name) + " is not a level" +
        (near ? " (did you mean " + near + "?)" : "") + "; the levels are " + BANDS.join(", ") + ".");
    }
  }
  for (const name of new Set(params.keys())) {
    if (!KNOWN_PARAMS.has(name)) problems.push(quoteShort(name) + " is not a filter of this page.");
  }
  const view = params.get("view");
  if (view && view !== "patterns") problems.push("view=" + quoteShort(view) + " is not a view (only patterns).");
  return problems;
}

// `text` ending as a sentence does.
function sentence(text) {
  return /[.!?]$/.test(text) ? text : text + ".";
}

function quoteShort(text) {
  const cut = text.length > 40 ? text.slice(0, 40) + "…" : text;
  return "“" + cut + "”";
}
