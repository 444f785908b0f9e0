// Pattern entries: a template whose placeholders ("<*>", "<NUM>", "<IP>", ...) are shown as
// variables, the count as a badge, and in an expanded row what each variable held. Templates
// and values are log text like the rest: only ever text nodes (see text.js).
import { highlighted, makeButton, span, visible } from "./text.js";

// "<*>" where the miner learned a word varies; "<NAME>" in capitals where a mask typed it.
const PLACEHOLDER = /<\*>|<[A-Z][A-Z0-9_]*>/g;
const CHIP_CHARACTERS = 120; // of a template in the filter bar: the expanded row has it all

// uint64 strings to BigInt; anything else counts as 0.
export function bigCount(value) {
  try {
    return BigInt(value || "0");
  } catch (_) {
    return 0n;
  }
}

// 2000 -> "2,000", exact however large.
export function formatBig(value) {
  return bigCount(value).toLocaleString("en-US");
}

// The "×2,000" pill of an entry standing for more than one record.
export function countBadge(count, className = "count badge") {
  const badge = span(className, "×" + formatBig(count));
  badge.title = formatBig(count) + " records";
  return badge;
}

// The template cut into its literal text and its placeholders, in order.
function templateParts(template) {
  const parts = [];
  let at = 0;
  for (const found of template.matchAll(PLACEHOLDER)) {
    if (found.index > at) parts.push({ text: template.slice(at, found.index) });
    parts.push({ text: found[0], variable: true });
    at = found.index + found[0].length;
  }
  if (at < template.length) parts.push({ text: template.slice(at) });
  return parts;
}

// A variable's top values in a line, for the placeholder's tooltip.
function valuesSummary(variable) {
  if (!variable) return "";
  const top = (variable.top || []).map((v) => visible(v.value) + " ×" + formatBig(v.count));
  if (bigCount(variable.other) > 0n) top.push("+" + formatBig(variable.other) + " other");
  return top.join(" · ");
}

// `template` with each placeholder in a span.var, the search `term` marked in the literal
// text, and at most `limit` characters; returns the element and how many were left out.
export function templateNode(className, pattern, term, limit = Infinity) {
  const el = document.createElement("span");
  el.className = className;
  const template = String(pattern.template || "");
  const variables = pattern.variables || [];
  let room = limit;
  let index = 0;
  for (const part of templateParts(template)) {
    if (room <= 0) break;
    const text = part.text.slice(0, room);
    room -= text.length;
    if (!part.variable) {
      el.appendChild(highlighted("literal", visible(text), term));
      continue;
    }
    const placeholder = span("var", text);
    placeholder.title = valuesSummary(variables[index]);
    index += 1;
    el.appendChild(placeholder);
  }
  return { node: el, left: Math.max(0, template.length - limit) };
}

function valueItem(value) {
  const item = document.createElement("li");
  item.appendChild(span("value", value.value || ""));
  item.appendChild(countBadge(value.count, "value-count"));
  return item;
}

// One variable: its placeholder, its top values with counts, "+N other", "N distinct".
function variableBlock(variable, placeholder, ordinal) {
  const block = document.createElement("div");
  block.className = "variable";
  const title = document.createElement("p");
  title.className = "variable-title";
  title.appendChild(span("var", placeholder || "<*>"));
  title.appendChild(span("ordinal", " variable " + ordinal));
  title.appendChild(span("distinct", formatBig(variable.distinct) + " distinct"));
  const values = document.createElement("ul");
  values.className = "values";
  for (const value of variable.top || []) values.appendChild(valueItem(value));
  if (bigCount(variable.other) > 0n) {
    const other = span("other", "+" + formatBig(variable.other) + " other");
    other.title = "records whose value is not among the top ones";
    const item = document.createElement("li");
    item.appendChild(other);
    values.appendChild(item);
  }
  block.append(title, values);
  return block;
}

// The expanded row's pattern part: the whole template, its id, each variable's values and
// the "Only this pattern" control (`only` filters the stream to it; off when it already is).
export function patternDetails(pattern, view) {
  const section = document.createElement("section");
  section.className = "pattern-details";
  const head = document.createElement("p");
  head.className = "pattern-head";
  head.appendChild(span("label", "Pattern"));
  head.appendChild(templateNode("template", pattern, "").node);
  head.appendChild(span("pattern-id", String(pattern.id || "")));
  head.appendChild(onlyButton(pattern, view));
  section.appendChild(head);
  const placeholders = templateParts(String(pattern.template || "")).filter((p) => p.variable);
  (pattern.variables || []).forEach((variable, i) => {
    const placeholder = placeholders[i] ? placeholders[i].text : "";
    section.appendChild(variableBlock(variable, placeholder, i + 1));
  });
  return section;
}

function onlyButton(pattern, view) {
  const button = makeButton("control only-pattern");
  const active = view.pattern && view.pattern === pattern.id;
  button.textContent = active ? "Showing only this pattern" : "Only this pattern";
  button.disabled = Boolean(active) || !view.onlyPattern;
  button.title = "Show only the entries of this pattern (kept in the URL)";
  button.addEventListener("click", () => view.onlyPattern(pattern));
  return button;
}

// The active pattern filter in the filter bar: its template once known, else its id.
export function renderPatternFilter(chip, id, template) {
  chip.hidden = !id;
  const label = chip.querySelector(".pattern-filter-text");
  label.replaceChildren(span("pattern-id", id));
  if (template) {
    const { node, left } = templateNode("template", { template }, "", CHIP_CHARACTERS);
    if (left) node.appendChild(span("more", "…"));
    label.replaceChildren(node);
  }
  chip.title = id ? "Only entries of pattern " + id : "";
}
