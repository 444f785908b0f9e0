// The terms of the search, and where each finds its values in an entry (its proto3 JSON, as
// the stream sends it). A line-for-line twin of viewer/query_match.py: the page and the server
// must keep the same entries for every query, and refuse the same queries with the same words.
import { RegexError } from "./query-regex.js";
import { Regex } from "./query-vm.js";

// The fields an entry has of its own; any other name is an attribute.
const BUILTIN = new Map([
  ["body", "body"], ["message", "body"], ["msg", "body"], ["level", "level"],
  ["severity", "level"], ["service", "service"], ["service.name", "service"],
  ["pattern", "pattern"], ["trace_id", "trace_id"], ["span_id", "span_id"], ["scope", "scope"],
]);
const RANK = new Map(["UNSPECIFIED", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].map((b, i) => [b, i]));
const LEVEL_ALIASES = new Map([["WARNING", "WARN"], ["ERR", "ERROR"], ["CRITICAL", "FATAL"], ["CRIT", "FATAL"]]);
const NUMBER = /^-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const PATTERN_ID = /^[0-9a-fA-F]{16}$/;
const COMPARE = {
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
};
const JSON_NAMES = { trace_id: "traceId", span_id: "spanId", scope: "scope" };

export class QueryError extends Error {}

// A term as written: {field ("" for the message), op, kind (word, phrase, regex), value, flags, at}.
export function shown(term) {
  const prefix = term.field ? term.field + ":" + term.op : "";
  if (term.kind === "regex") return prefix + "/" + term.value + "/" + term.flags;
  return prefix + (term.kind === "phrase" ? "\"" + term.value + "\"" : term.value);
}

// The test of one term (values => boolean); QueryError when it cannot mean anything.
export function compileTerm(term) {
  const name = term.field ? (BUILTIN.get(term.field.toLowerCase()) ?? term.field) : "body";
  if (term.kind === "regex") return regexTest(term, name);
  if (name === "body") {
    if (term.op) throw termError(term, "the message takes words, \"phrases\" or /regexes/, not " + term.op);
    const needle = term.value.toLowerCase();
    return (values) => values("body").some((v) => v.toLowerCase().includes(needle));
  }
  if (name === "level") return levelTest(term);
  const plain = !term.op && !term.value.includes("*");
  if (name === "pattern" && plain && !PATTERN_ID.test(term.value)) {
    throw termError(term, "a pattern id is 16 hex digits");
  }
  return valueTest(term, name);
}

function termError(term, text) {
  return new QueryError(Array.from(shown(term)).slice(0, 60).join("") + " (character " + (term.at + 1) + "): " + text);
}

function regexTest(term, name) {
  if (term.op) throw termError(term, "a comparison needs a number");
  let regex;
  try {
    regex = new Regex(term.value, term.flags.includes("i"));
  } catch (error) {
    if (error instanceof RegexError) throw termError(term, error.message);
    throw error;
  }
  return (values) => values(name).some((v) => regex.search(v));
}

function levelTest(term) {
  if (term.kind === "word" && term.value.includes("*")) {
    if (term.op) throw termError(term, "a comparison needs a level, as in level:>=warn");
    return valueTest(term, "level");
  }
  const band = levelBand(term.value);
  if (band === null) throw termError(term, "not a level: trace, debug, info, warn, error or fatal");
  if (!term.op) return (values) => values("level").includes(band);
  const compare = COMPARE[term.op];
  const rank = RANK.get(band);
  return (values) => values("level").some((v) => compare(RANK.get(String(v)) ?? 0, rank));
}

export function levelBand(name) {
  const upper = name.toUpperCase();
  const band = LEVEL_ALIASES.get(upper) ?? upper;
  return RANK.has(band) ? band : null;
}

function valueTest(term, name) {
  const value = term.value;
  if (term.op) {
    const limit = parseNumber(value);
    if (limit === null) throw termError(term, "a comparison needs a number, as in http.status_code:>=500");
    const compare = COMPARE[term.op];
    return (values) => values(name).some((v) => {
      const number = parseNumber(v);
      return number !== null && compare(number, limit);
    });
  }
  if (term.kind === "phrase") {
    const wanted = value.toLowerCase();
    return (values) => values(name).some((v) => v.toLowerCase() === wanted);
  }
  if (value === "*") return (values) => values(name).length > 0;
  if (value.includes("*")) {
    const pattern = Array.from(value.toLowerCase());
    return (values) => values(name).some((v) => glob(pattern, Array.from(v.toLowerCase())));
  }
  const wanted = value.toLowerCase();
  const number = parseNumber(value);
  const equal = (v) => (number !== null && parseNumber(v) === number) || v.toLowerCase() === wanted;
  return (values) => values(name).some(equal);
}

// Whether `value` is `pattern` with each * standing for any run of characters (code points).
export function glob(pattern, value) {
  let p = 0;
  let v = 0;
  let star = -1;
  let mark = 0;
  while (v < value.length) {
    if (p < pattern.length && pattern[p] !== "*" && pattern[p] === value[v]) {
      p += 1;
      v += 1;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p;
      mark = v;
      p += 1;
    } else if (star >= 0) {
      mark += 1;
      p = star + 1;
      v = mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p += 1;
  return p === pattern.length;
}

export function parseNumber(value) {
  return NUMBER.test(value) ? Number(value) : null;
}

// -- an entry's values --------------------------------------------------------------------

// The values of field `name` in `entry` (proto3 JSON): the message, the band, or what
// viewer/fields.py's field_values gives on the server for the entry the JSON was made from.
export function entryValues(entry, name) {
  if (name === "body") return [entry.body ?? ""];
  if (name === "level") return [entry.severity || "UNSPECIFIED"];
  let known = remembered.get(entry);
  if (!known) {
    known = new Map();
    remembered.set(entry, known);
  }
  let values = known.get(name);
  if (!values) {
    values = fieldValues(entry, name);
    if (name === "service") values = values.filter((value) => value);
    known.set(name, values);
  }
  return values;
}

// An entry's values by field, read once: a page filters the same loaded entries again at
// every keystroke. Entries are not changed once received.
const remembered = new WeakMap();

const SERVICE_FIELDS = ["service", "service.name"];
const VALUE_KEY = "_value"; // a key that is both a value and a prefix keeps its value here
const OWN = { severity: "severity", scope: "scope", trace_id: "traceId", span_id: "spanId" };

// viewer/fields.py's field_values on the JSON: own values, the resource attribute of that
// dotted key, then the record attributes looked up flat; as text, without repeats.
export function fieldValues(entry, name) {
  const found = ownValues(entry, name);
  const resource = entry.resource;
  if (isObject(resource) && Object.hasOwn(resource, name)) found.push(...texts(resource[name]));
  found.push(...textsAt(entry.attributes, name.split(".")));
  return Array.from(new Set(found));
}

function ownValues(entry, name) {
  if (SERVICE_FIELDS.includes(name)) return [entry.service ?? "", ...serviceNames(entry.services)];
  if (name === "pattern") return entry.pattern ? [String(entry.pattern.id ?? "")] : [];
  if (Object.hasOwn(OWN, name)) {
    const value = entry[OWN[name]];
    return value ? [String(value)] : [];
  }
  return [];
}

// The names of an entry's services: a map of name to count, or a list of {name, count}.
function serviceNames(services) {
  if (Array.isArray(services)) {
    return services.map((item) => (isObject(item) ? item.name : item)).filter((n) => typeof n === "string");
  }
  return isObject(services) ? Object.keys(services) : [];
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// The values at a dotted path of nested attributes; a key may itself hold dots.
function textsAt(tree, path) {
  if (!path.length) {
    const value = isObject(tree) ? tree[VALUE_KEY] : tree;
    return value === undefined || value === null ? [] : texts(value);
  }
  if (!isObject(tree)) return [];
  const found = [];
  for (let cut = path.length; cut > 0; cut--) {
    const key = path.slice(0, cut).join(".");
    if (Object.hasOwn(tree, key)) found.push(...textsAt(tree[key], path.slice(cut)));
  }
  return found;
}

function texts(value) {
  if (Array.isArray(value)) return value.flatMap((item) => texts(item));
  if (typeof value === "string") return [value];
  if (typeof value === "boolean") return [value ? "true" : "false"];
  if (typeof value === "number") return [pythonNumber(value)];
  if (isObject(value)) return [pythonJson(value)];
  return [String(value)];
}

// A number as Python's str() writes the double (the server's side of field_values):
// integers in full, others in their shortest digits, with an exponent below 1e-4.
export function pythonNumber(value) {
  if (Number.isSafeInteger(value)) return String(value);
  if (Number.isInteger(value)) return BigInt(value).toString();
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  if (Math.abs(value) >= 1e-4) return String(value);
  const [mantissa, exponent] = value.toExponential().split("e");
  const power = Number(exponent);
  return mantissa + "e" + (power < 0 ? "-" : "+") + String(Math.abs(power)).padStart(2, "0");
}

// json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True).
function pythonJson(value) {
  if (Array.isArray(value)) return "[" + value.map(pythonJson).join(",") + "]";
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((key) => JSON.stringify(key) + ":" + pythonJson(value[key])).join(",") + "}";
  }
  if (typeof value === "number") return pythonNumber(value);
  return JSON.stringify(value);
}
