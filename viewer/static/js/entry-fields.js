// An entry's fields as the details show them and as click-to-filter names them: the same
// names the server's filters match (viewer/fields.py): `service` (and each of an entry's
// services), `severity`, `pattern`, `scope`, `trace_id`, `span_id`, resource attributes by
// their dotted key (`host.name`) and record attributes by their dotted key, kept flat
// (`http.status_code`, not a tree of `http` > `status_code`).

const VALUE_KEY = "_value"; // a key that is both a value and a prefix (gateway.otlp)

// The services an entry's records came from, most records first: [{name, count}]. An entry
// of one service has just that one (its count the entry's).
export function entryServices(entry) {
  const listed = Array.isArray(entry.services) ? entry.services : [];
  const services = listed
    .map((item) => (typeof item === "string" ? { name: item, count: "" }
      : { name: String(item && item.name || ""), count: String(item && item.count || "") }))
    .filter((item) => item.name);
  if (!services.length && entry.service) {
    services.push({ name: String(entry.service), count: "" }); // its records are the entry's
  }
  return services;
}

export function serviceNames(entry) {
  return entryServices(entry).map((item) => item.name);
}

// Nested attributes (as the stream carries them) as [dotted key, value] pairs, in key order.
export function flatAttributes(tree) {
  const pairs = [];
  flatten(tree || {}, "", pairs);
  return pairs;
}

function flatten(node, prefix, pairs) {
  for (const key of Object.keys(node).sort()) {
    const value = node[key];
    const name = key === VALUE_KEY && prefix ? prefix : prefix ? prefix + "." + key : key;
    if (value && typeof value === "object" && !Array.isArray(value)) flatten(value, name, pairs);
    else pairs.push([name, value]);
  }
}

// The resource attributes: already flat on the wire ({"host.name": "web-3"}), in key order.
export function resourcePairs(entry) {
  const resource = entry.resource && typeof entry.resource === "object" ? entry.resource : {};
  return Object.keys(resource).sort().map((key) => [key, resource[key]]);
}

// A value as a filter term says it: strings as they are, numbers as digits, true/false;
// lists and maps as JSON (not filterable as one value).
export function valueText(value) {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null || value === undefined) return "";
  return JSON.stringify(value);
}

export function isFilterable(value) {
  return ["string", "number", "boolean"].includes(typeof value) && String(value) !== "";
}

// The entry as Copy as JSON gives it: attributes flat, as the details show them.
export function entryForCopy(entry) {
  const copy = { ...entry };
  if (entry.attributes) copy.attributes = Object.fromEntries(flatAttributes(entry.attributes));
  return copy;
}

