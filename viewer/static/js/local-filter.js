// The page's own copy of the stream's filters, applied to what it has loaded: a keystroke or
// a chip repaints the list from it at once, while the server's new subscription catches up,
// and whatever the old subscription still sends is held to the new filters too. The search
// and the chips are one query of the search language (js/query.js, the server's twin).
import { chipTerm } from "./chips.js";
import { parseQuery, queryNarrows, withTerms } from "./query.js";
import { severityName } from "./rows.js";

// The query the server is sent: the search as typed, and each chip as a field term.
export function searchQuery(filters, chips) {
  return withTerms(filters.text || "", chips.map(chipTerm));
}

// A predicate over entries: true for the ones `filters` and `chips` keep. A query that does
// not parse is not applied (the search box says why).
export function localFilter(filters, chips) {
  const bands = new Set(filters.severities);
  const service = filters.service;
  const pattern = filters.pattern;
  let query = null;
  try {
    query = parseQuery(searchQuery(filters, chips));
  } catch (_) {
    query = null;
  }
  return (entry) => (!bands.size || bands.has(severityName(entry))) &&
    (!service || entry.service === service || hasService(entry, service)) &&
    (!pattern || Boolean(entry.pattern && entry.pattern.id === pattern)) &&
    (!query || query.keeps(entry));
}

function hasService(entry, name) {
  const services = Array.isArray(entry.services) ? entry.services : [];
  return services.some((item) => (item && typeof item === "object" ? item.name : item) === name);
}

// True when every entry `next` keeps, `prev` kept too: then what is loaded under `prev`,
// filtered, is all there is under `next` for that stretch of time.
export function narrows(prev, next) {
  const within = (before, after) => !before || before === after;
  const bandsWithin = !prev.filters.severities.length || (next.filters.severities.length > 0 &&
    next.filters.severities.every((band) => prev.filters.severities.includes(band)));
  return bandsWithin && within(prev.filters.service, next.filters.service) &&
    within(prev.filters.pattern, next.filters.pattern) &&
    queryNarrows(searchQuery(prev.filters, prev.chips), searchQuery(next.filters, next.chips));
}
