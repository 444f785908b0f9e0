// A JSON body pretty-printed in the details: indented, keys, strings and numbers told apart
// by colour. Built as text nodes in spans from JSON.stringify's own output (never parsed as
// markup); a body that is not a JSON object or array stays as it is. JSON escapes C0
// controls itself; bidi controls are escaped as everywhere else (text.js).
import { visible } from "./text.js";

const TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
const MAX_PRETTY = 200000; // characters: a larger body is shown as it came

// The body's value when it is a JSON object or array, else undefined.
export function jsonBody(text) {
  const body = String(text ?? "").trim();
  if (body.length > MAX_PRETTY || !/^[[{]/.test(body)) return undefined;
  try {
    const value = JSON.parse(body);
    return value && typeof value === "object" ? value : undefined;
  } catch (_) {
    return undefined;
  }
}

// A <pre> of `value` as indented JSON, its tokens in spans (json-key, json-string, ...).
export function prettyJson(value, className = "json") {
  const pre = document.createElement("pre");
  pre.className = className;
  const text = JSON.stringify(value, null, 2);
  let at = 0;
  for (const found of text.matchAll(TOKEN)) {
    if (found.index > at) pre.appendChild(document.createTextNode(visible(text.slice(at, found.index))));
    const kind = found[1] ? (found[2] ? "json-key" : "json-string")
      : found[3] ? "json-literal" : "json-number";
    const token = document.createElement("span");
    token.className = kind;
    token.textContent = visible(found[1] || found[0]);
    pre.appendChild(token);
    if (found[2]) pre.appendChild(document.createTextNode(found[2]));
    at = found.index + found[0].length;
  }
  if (at < text.length) pre.appendChild(document.createTextNode(visible(text.slice(at))));
  return pre;
}
