// The filter bar's controls shown as the filters are: severity toggles, the service list (the
// services seen so far, and the one filtered on), the search box with what is wrong with its
// query right under it, and the active pattern.
import { renderPatternFilter } from "./patterns.js";
import { MAX_QUERY, queryProblem } from "./query.js";

export class FilterBar {
  constructor(doc) {
    this.bands = Array.from(doc.querySelectorAll("[data-band]"));
    this.serviceSelect = doc.getElementById("service");
    this.searchInput = doc.getElementById("search");
    this.patternChip = doc.getElementById("pattern-filter");
    this.services = new Set(); // service.name values seen
    this.patternTemplate = ""; // the filtered pattern's template, once an entry shows it
    this.searchInput.maxLength = MAX_QUERY;
    this.problem = queryProblemLine(doc, this.searchInput);
    // What is wrong with the query shows as it is typed, before any subscription is asked.
    this.searchInput.addEventListener("input", () => this.checkQuery(this.searchInput.value));
  }

  // Whether `text` is a query the server takes; if not, says why under the search box (the
  // server's own words, which js/query.js gives too). "" clears the message.
  checkQuery(text) {
    const problem = queryProblem(text);
    this.showQueryProblem(problem);
    return !problem;
  }

  // The message under the search box: a query refused here or by the server (BAD_QUERY).
  showQueryProblem(text) {
    this.problem.hidden = !text;
    this.problem.textContent = text ? "Search not applied: " + text : "";
    if (text) this.searchInput.setAttribute("aria-invalid", "true");
    else this.searchInput.removeAttribute("aria-invalid");
  }

  render(filters) {
    for (const button of this.bands) {
      const on = filters.severities.includes(button.dataset.band);
      button.setAttribute("aria-pressed", on ? "true" : "false");
    }
    if (this.searchInput.value !== filters.text) {
      this.searchInput.value = filters.text;
      this.checkQuery(filters.text);
    }
    this.renderServices(filters);
    if (!filters.pattern) this.patternTemplate = "";
    renderPatternFilter(this.patternChip, filters.pattern, this.patternTemplate);
  }

  // New service names among `entries` extend the list.
  noteServices(entries, filters) {
    const before = this.services.size;
    for (const entry of entries) {
      if (entry.service) this.services.add(entry.service);
    }
    if (this.services.size !== before) this.renderServices(filters);
  }

  // The filtered pattern's template, from the first entry of it that arrives.
  notePattern(entries, filters) {
    if (!filters.pattern || this.patternTemplate) return;
    const found = entries.find((entry) => entry.pattern && entry.pattern.id === filters.pattern);
    if (!found) return;
    this.patternTemplate = String(found.pattern.template || "");
    renderPatternFilter(this.patternChip, filters.pattern, this.patternTemplate);
  }

  renderServices(filters) {
    const names = new Set(this.services);
    if (filters.service) names.add(filters.service);
    const all = document.createElement("option");
    all.value = "";
    all.textContent = "All services";
    const options = [all];
    for (const name of Array.from(names).sort()) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      options.push(option);
    }
    this.serviceSelect.replaceChildren(...options);
    this.serviceSelect.value = filters.service;
  }
}

// The line that says what is wrong with the query: on a row of its own right under the
// search box, read out when it appears (role=alert), named by the box (aria-describedby).
// How it looks (its own row, the error colour) is the stylesheet's .query-problem rule.
function queryProblemLine(doc, input) {
  let line = doc.getElementById("query-problem");
  if (!line) {
    line = doc.createElement("p");
    line.id = "query-problem";
    line.className = "query-problem";
    line.setAttribute("role", "alert");
    line.hidden = true;
    input.insertAdjacentElement("afterend", line);
  }
  input.setAttribute("aria-describedby", line.id);
  return line;
}
