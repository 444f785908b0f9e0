// The filter bar's controls shown as the filters are: severity toggles, the service list (the
// services seen so far, and the one filtered on), the search box, and the active pattern.
import { renderPatternFilter } from "./patterns.js";

export class FilterBar {
  constructor(doc) {
    this.bands = Array.from(doc.querySelectorAll("[data-band]"));
    this.serviceSelect = doc.getElementById("service");
    this.searchInput = doc.getElementById("search");
    this.patternChip = doc.getElementById("pattern-filter");
    this.services = new Set(); // service.name values seen
    this.patternTemplate = ""; // the filtered pattern's template, once an entry shows it
  }

  render(filters) {
    for (const button of this.bands) {
      const on = filters.severities.includes(button.dataset.band);
      button.setAttribute("aria-pressed", on ? "true" : "false");
    }
    if (this.searchInput.value !== filters.text) this.searchInput.value = filters.text;
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
