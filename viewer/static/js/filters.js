// The page's filters: severity toggles, a service, a search query, one pattern. They live in
// the URL (?severity=WARN,ERROR&service=api&q=timeout&pattern=<16 hex digits>) so that a view
// can be shared, and travel to the server in the Subscribe frame, so a filtered page never
// receives what it would hide. The view shown (the stream, or ?view=patterns) is in the URL too.
// `text` is the search box's query (js/query.js: words, OR, -negation, field:value, /regex/),
// sent as Subscribe.query; the server refuses a bad one as js/query.js does, in the same words.
import { MAX_QUERY } from "./query.js";

export const BANDS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
export const MAX_TEXT = MAX_QUERY; // the server refuses a longer query
const PATTERN_ID = /^[0-9a-f]{16}$/; // Entry.pattern.id; the server refuses anything else

export function readFilters(search) {
  const params = new URLSearchParams(search);
  const severities = (params.get("severity") || "")
    .split(",")
    .map((name) => name.trim().toUpperCase())
    .filter((name) => BANDS.includes(name));
  return {
    severities: BANDS.filter((band) => severities.includes(band)),
    service: (params.get("service") || "").slice(0, MAX_TEXT),
    text: (params.get("q") || "").slice(0, MAX_TEXT),
    pattern: patternId(params.get("pattern")),
  };
}

// A pattern id as the stream spells it, or "" for none or for one that is not an id.
export function patternId(value) {
  const id = String(value || "").trim().toLowerCase();
  return PATTERN_ID.test(id) ? id : "";
}

// The URL's ?pattern= when it is there but is not a pattern id ("" otherwise): the page
// ignores it and says so, rather than showing everything as if it were applied.
export function rejectedPattern(search) {
  const given = new URLSearchParams(search).get("pattern");
  return given && !patternId(given) ? given : "";
}

// "patterns" for the Patterns view, else "stream" (the default, left out of the URL).
export function readView(search) {
  return new URLSearchParams(search).get("view") === "patterns" ? "patterns" : "stream";
}

export function filtersToQuery(filters, view = "stream") {
  const params = new URLSearchParams();
  if (filters.severities.length) params.set("severity", filters.severities.join(","));
  if (filters.service) params.set("service", filters.service);
  if (filters.text) params.set("q", filters.text);
  if (filters.pattern) params.set("pattern", filters.pattern);
  if (view === "patterns") params.set("view", view);
  const query = params.toString();
  return query ? "?" + query : "";
}

export function isActive(filters) {
  return Boolean(filters.severities.length || filters.service || filters.text || filters.pattern);
}

export function describe(filters) {
  const parts = [];
  if (filters.severities.length) parts.push("severity " + filters.severities.join(", "));
  if (filters.service) parts.push("service " + filters.service);
  if (filters.text) parts.push("search “" + filters.text + "”");
  if (filters.pattern) parts.push("pattern " + filters.pattern);
  return parts.join("; ");
}

export function subscribeFrame(after, filters) {
  return {
    after,
    severities: filters.severities,
    service: filters.service,
    query: filters.text,
    pattern: filters.pattern,
  };
}

export const NO_FILTERS = { severities: [], service: "", text: "", pattern: "" };
