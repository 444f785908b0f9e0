// Text helpers of the live page. Log text is attacker text: it only ever becomes text nodes
// (textContent, createTextNode), and control characters are shown escaped, so that ANSI
// sequences, backspaces or bidi tricks cannot disguise what a line says.

// Every C0 and C1 control but tab and newline, and the Unicode bidi controls.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function visible(text) {
  return String(text ?? "").replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? "\\u" + code.toString(16).padStart(4, "0")
      : "\\x" + code.toString(16).padStart(2, "0");
  });
}

// A <button type="button"> (the page submits no form) with its class and fixed text.
export function makeButton(className, text = "") {
  const el = document.createElement("button");
  el.type = "button";
  el.className = className;
  el.textContent = text;
  return el;
}

export function span(className, text) {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = visible(text);
  return el;
}

// `text` (already visible) with each case-insensitive match of `term` in a <mark>.
export function highlighted(className, text, term) {
  const el = document.createElement("span");
  el.className = className;
  appendHighlighted(el, text, term);
  return el;
}

// `text` (already visible) appended to `parent`, each case-insensitive match of `term` in a
// <mark>; as one text node when there is nothing to mark.
export function appendHighlighted(parent, text, term) {
  const lower = text.toLowerCase();
  const needle = String(term || "").toLowerCase();
  // Some characters change length in lower case: then offsets would not line up; no marks.
  if (!needle || lower.length !== text.length) {
    parent.appendChild(document.createTextNode(text));
    return;
  }
  let at = 0;
  for (let hit = lower.indexOf(needle); hit !== -1; hit = lower.indexOf(needle, at)) {
    if (hit > at) parent.appendChild(document.createTextNode(text.slice(at, hit)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(hit, hit + needle.length);
    parent.appendChild(mark);
    at = hit + needle.length;
  }
  if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
}

// Nanosecond strings to milliseconds, through BigInt so no precision is lost on the way.
export function nanosToMillis(value) {
  try {
    return Number(BigInt(value || "0") / 1000000n);
  } catch (_) {
    return 0;
  }
}

export function isoTime(nanos) {
  const millis = nanosToMillis(nanos);
  return millis ? new Date(millis).toISOString() : "—";
}

export function humanDuration(seconds) {
  const plural = (n, unit) => n + " " + unit + (n === 1 ? "" : "s");
  if (seconds % 3600 === 0 && seconds > 3600) return plural(seconds / 3600, "hour");
  if (seconds % 60 === 0 && seconds > 0) return plural(seconds / 60, "minute");
  return plural(seconds, "second");
}

// "12 s ago", "3 min ago", "2 h ago"; a date beyond a day.
export function ago(millis, now) {
  const seconds = Math.max(0, Math.round((now - millis) / 1000));
  if (seconds < 60) return seconds + " s ago";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
  if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
  return "on " + new Date(millis).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

export function formatCount(n) {
  return Number(n || 0).toLocaleString("en-US");
}
