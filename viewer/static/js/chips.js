// Click-to-filter chips: a value chosen in the details ("+" keeps only entries with it, "−"
// hides them) becomes a removable chip in the filter bar and a `f` parameter of the URL
// (?f=host.name:web-3&f=-service:api), so that a view can be shared. Each chip is a field
// term of the search query language (`field:value`, `-field:value`), sent with the search.
import { makeButton, span, visible } from "./text.js";

export const MAX_CHIPS = 20;
const MAX_VALUE = 200;
const PLAIN = /^[A-Za-z0-9_.@-]+$/; // a value meant as itself without quotes (no * glob)
const FIELD = /^[A-Za-z_][A-Za-z0-9_.\-/@]*$/; // a field name the query language takes

// The chips of a URL's query string: [{field, value, exclude}].
export function readChips(search) {
  const chips = [];
  for (const raw of new URLSearchParams(search).getAll("f")) {
    const exclude = raw.startsWith("-");
    const body = exclude ? raw.slice(1) : raw;
    const colon = body.indexOf(":");
    if (colon <= 0 || !chipField(body.slice(0, colon))) continue;
    const chip = { field: body.slice(0, colon), value: body.slice(colon + 1, colon + 1 + MAX_VALUE), exclude };
    if (chip.value && !chips.some((other) => sameChip(other, chip))) chips.push(chip);
  }
  return chips.slice(0, MAX_CHIPS);
}

// The chips' `f` values, for the URL.
export function chipParams(chips) {
  return chips.map((chip) => (chip.exclude ? "-" : "") + chip.field + ":" + chip.value);
}

// Whether a field can be filtered on (its name is one the query language spells).
export function chipField(name) {
  return FIELD.test(String(name || ""));
}

// A chip as a term of the query language: the value in quotes unless plainly a word.
export function chipTerm(chip) {
  const value = PLAIN.test(chip.value) ? chip.value
    : '"' + chip.value.replace(/["\\]/g, (c) => "\\" + c) + '"';
  return (chip.exclude ? "-" : "") + chip.field + ":" + value;
}

export function sameChip(a, b) {
  return a.field === b.field && a.value === b.value && a.exclude === b.exclude;
}

// `chips` with `chip` added; the same field and value chosen the other way round replaces it.
export function withChip(chips, chip) {
  const others = chips.filter((other) => !(other.field === chip.field && other.value === chip.value));
  return others.concat([chip]).slice(-MAX_CHIPS);
}

// The chips in the filter bar, each with its × to remove it.
export function renderChips(list, chips, onRemove) {
  list.hidden = chips.length === 0;
  list.replaceChildren(...chips.map((chip) => chipItem(chip, onRemove)));
}

function chipItem(chip, onRemove) {
  const item = document.createElement("li");
  item.className = "chip" + (chip.exclude ? " chip-exclude" : "");
  item.dataset.term = chipParams([chip])[0];
  const words = (chip.exclude ? "not " : "") + chip.field + ": " + chip.value;
  item.appendChild(span("chip-text", words));
  const remove = makeButton("dismiss chip-remove", "×");
  remove.setAttribute("aria-label", "Remove the filter " + visible(words));
  remove.addEventListener("click", () => onRemove(chip));
  item.appendChild(remove);
  return item;
}
