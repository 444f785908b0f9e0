// The details' fields: one table per part (the entry, its resource, its record's attributes),
// a row per field with its dotted name kept flat, and beside each value two buttons that
// filter the stream on it: "+" keeps only entries with that value, "−" hides them (chips.js).
// Names and values are log text: text nodes only.
import { chipField } from "./chips.js";
import { isFilterable, valueText } from "./entry-fields.js";
import { makeButton, span, visible } from "./text.js";

// A table of `rows` ([{name, value, node?, filter?}]) under `title`; `onFilter(field, value,
// exclude)` is called by the buttons. `filter` is the field name to filter on (absent: none).
export function fieldsTable(title, rows, onFilter, className = "") {
  const table = document.createElement("table");
  table.className = "fields" + (className ? " " + className : "");
  const caption = document.createElement("caption");
  caption.textContent = title;
  table.appendChild(caption);
  const body = document.createElement("tbody");
  for (const row of rows) body.appendChild(fieldRow(row, onFilter));
  table.appendChild(body);
  return table;
}

function fieldRow(row, onFilter) {
  const tr = document.createElement("tr");
  tr.dataset.field = row.name;
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = visible(row.name);
  const td = document.createElement("td");
  td.className = "field-value" + (row.className ? " " + row.className : "");
  td.appendChild(row.node || valueNode(row.value));
  const actions = document.createElement("td");
  actions.className = "field-actions";
  if (row.filter && chipField(row.filter) && isFilterable(row.value)) {
    const value = valueText(row.value);
    actions.append(
      pickButton("+", "Only", row.filter, value, () => onFilter(row.filter, value, false)),
      pickButton("−", "Hide", row.filter, value, () => onFilter(row.filter, value, true)),
    );
  }
  tr.append(th, td, actions);
  return tr;
}

function valueNode(value) {
  return span(typeof value === "string" ? "text-value" : "typed-value", valueText(value));
}

function pickButton(sign, verb, field, value, onClick) {
  const button = makeButton("pick " + (verb === "Only" ? "include" : "exclude"), sign);
  const shown = visible(value.length > 60 ? value.slice(0, 60) + "…" : value);
  const words = verb === "Only"
    ? "Only entries with " + field + " " + shown
    : "Hide entries with " + field + " " + shown;
  button.setAttribute("aria-label", words);
  button.title = words + " (kept in the URL)";
  button.addEventListener("click", onClick);
  return button;
}
