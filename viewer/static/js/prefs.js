// The page's display choices, remembered per browser: UTC or local times, one line or wrapped
// rows, the theme. Storage may be disabled: a choice then lasts for the page.
// static/theme-boot.js reads the theme and the row mode before the first paint (no flash).

const KEYS = {
  utc: "logsieve.viewer.utc",
  wrap: "logsieve.viewer.wrap",
  theme: "logsieve.viewer.theme",
};
export const THEMES = ["system", "light", "dark"];

function read(key) {
  try {
    return window.localStorage.getItem(key);
  } catch (_) {
    return null;
  }
}

function write(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch (_) {
    // storage disabled: the choice lasts for this page only
  }
}

export const prefs = {
  get utc() {
    return read(KEYS.utc) === "1";
  },
  set utc(on) {
    write(KEYS.utc, on ? "1" : "0");
  },
  get wrap() {
    return read(KEYS.wrap) === "1";
  },
  set wrap(on) {
    write(KEYS.wrap, on ? "1" : "0");
  },
  get theme() {
    const chosen = read(KEYS.theme);
    return THEMES.includes(chosen) ? chosen : "system";
  },
  set theme(name) {
    write(KEYS.theme, name);
  },
};

// The theme in force: the chosen one, or the system's when "system".
export function effectiveTheme(choice) {
  if (choice !== "system") return choice;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

// Applies a theme choice to the page: data-theme on <html> ("light" or "dark"; absent for the
// system's, which the stylesheet follows through color-scheme and light-dark()).
export function applyTheme(choice) {
  const root = document.documentElement;
  if (choice === "system") delete root.dataset.theme;
  else root.dataset.theme = choice;
}
