// "Around this entry": the entries of the same services just before and after it (GET
// /logs/context?id=...), one click from the details, as lines of time, level, service and
// message with the entry itself marked. Log text: text nodes only.
import { richText } from "./ansi.js";
import { severityName } from "./rows.js";
import { formatTime } from "./times.js";
import { makeButton, nanosToMillis, span, visible } from "./text.js";

const AROUND = 20; // entries asked for on each side
const LINE_CHARACTERS = 300;

// The button that shows the context of `entry` in `into` (appended to it when loaded).
export function contextButton(entry, into, useUtc) {
  const button = makeButton("control context", "Same service around it");
  button.title = "The entries of this entry's services just before and after it";
  button.addEventListener("click", () => {
    button.disabled = true;
    button.textContent = "Loading the entries around it…";
    loadContext(entry.id).then((answer) => {
      button.remove();
      into.appendChild(contextSection(answer, useUtc));
    }, (error) => {
      button.disabled = false;
      button.textContent = "Same service around it (failed: " +
        visible(String(error && error.message || error)) + "; try again)";
    });
  });
  return button;
}

async function loadContext(id) {
  const query = "?id=" + encodeURIComponent(String(id || "0")) + "&before=" + AROUND + "&after=" + AROUND;
  const response = await fetch("/logs/context" + query, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (response.status === 404) throw new Error("the entry has expired");
  if (!response.ok) throw new Error("HTTP " + response.status);
  const answer = await response.json();
  if (!answer || !Array.isArray(answer.before) || !Array.isArray(answer.after)) {
    throw new Error("not an answer about the entry's context");
  }
  return answer;
}

function contextSection(answer, useUtc) {
  const section = document.createElement("section");
  section.className = "context-part";
  const heading = document.createElement("h3");
  const names = (answer.services || []).map((name) => visible(name)).join(", ");
  heading.textContent = "Around it in " + (names || "its service");
  const list = document.createElement("ol");
  list.className = "context-lines";
  if (answer.moreBefore) list.appendChild(note("earlier entries not shown"));
  for (const entry of answer.before) list.appendChild(line(entry, useUtc, false));
  if (answer.entry) list.appendChild(line(answer.entry, useUtc, true));
  for (const entry of answer.after) list.appendChild(line(entry, useUtc, false));
  if (answer.moreAfter) list.appendChild(note("later entries not shown"));
  if (!answer.before.length && !answer.after.length) list.appendChild(note("nothing else from these services in the window"));
  section.append(heading, list);
  return section;
}

function line(entry, useUtc, current) {
  const item = document.createElement("li");
  item.className = "context-line" + (current ? " current" : "");
  if (current) item.setAttribute("aria-current", "true");
  const severity = severityName(entry);
  const millis = nanosToMillis(entry.firstSeenUnixNano);
  item.append(
    span("time", millis ? formatTime(millis, useUtc) : "—"),
    span("severity sev-" + severity.toLowerCase(), severity),
    span("service", entry.service || "—"),
    richText("message", entry.body || "", "", LINE_CHARACTERS).node,
  );
  return item;
}

function note(text) {
  const item = document.createElement("li");
  item.className = "context-note";
  item.textContent = text;
  return item;
}
