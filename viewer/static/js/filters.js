// The page's filters: severity toggles, a service, a search text. They live in the URL
// (?severity=WARN,ERROR&service=api&q=timeout) so that a view can be shared, and travel to
// the server in the Subscribe frame, so a filtered page never receives what it would hide.

export const BANDS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
export const MAX_TEXT = 200; // the server refuses a longer search

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
  };
}

export function filtersToQuery(filters) {
  const params = new URLSearchParams();
  if (filters.severities.length) params.set("severity", filters.severities.join(","));
  if (filters.service) params.set("service", filters.service);
  if (filters.text) params.set("q", filters.text);
  const query = params.toString();
  return query ? "?" + query : "";
}

export function isActive(filters) {
  return Boolean(filters.severities.length || filters.service || filters.text);
}

export function describe(filters) {
  const parts = [];
  if (filters.severities.length) parts.push("severity " + filters.severities.join(", "));
  if (filters.service) parts.push("service " + filters.service);
  if (filters.text) parts.push("text “" + filters.text + "”");
  return parts.join("; ");
}

export function subscribeFrame(after, filters) {
  return {
    after,
    severities: filters.severities,
    service: filters.service,
    text: filters.text,
  };
}
