// The display choices in the header: one line or wrapped rows, UTC or local times, the theme
// (the system's by default, or light or dark), and on a phone the button that shows the
// filters and notes the header otherwise folds away, so the entries keep the screen.
import { THEMES, applyTheme, effectiveTheme, prefs } from "./prefs.js";

export class Display {
  // `changed(times)`: rows must be drawn again (and measured again); `times`: the times
  // changed (a date may come or go).
  constructor(doc, { changed }) {
    this.root = doc.documentElement;
    this.top = doc.getElementById("top");
    this.wrapButton = doc.getElementById("wrap");
    this.utcButton = doc.getElementById("utc");
    this.themeButton = doc.getElementById("theme");
    this.menuButton = doc.getElementById("menu");
    this.changed = changed;
    this.useUtc = prefs.utc;
    this.wrap = prefs.wrap;
    this.theme = prefs.theme;
    this.wrapButton.addEventListener("click", () => this.toggleWrap());
    this.utcButton.addEventListener("click", () => this.toggleUtc());
    this.themeButton.addEventListener("click", () => this.nextTheme());
    this.menuButton.addEventListener("click", () => this.toggleMenu());
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.render());
    applyTheme(this.theme);
    this.render();
  }

  render() {
    if (this.wrap) this.root.dataset.wrap = "1";
    else delete this.root.dataset.wrap;
    this.wrapButton.setAttribute("aria-pressed", this.wrap ? "true" : "false");
    this.utcButton.setAttribute("aria-pressed", this.useUtc ? "true" : "false");
    const shown = effectiveTheme(this.theme);
    this.themeButton.textContent = "Theme: " + (this.theme === "system" ? "system (" + shown + ")" : shown);
  }

  toggleWrap() {
    this.wrap = !this.wrap;
    prefs.wrap = this.wrap;
    this.render();
    this.changed(false);
  }

  toggleUtc() {
    this.useUtc = !this.useUtc;
    prefs.utc = this.useUtc;
    this.render();
    this.changed(true); // a date may come or go with the time zone
  }

  nextTheme() {
    this.theme = THEMES[(THEMES.indexOf(this.theme) + 1) % THEMES.length];
    prefs.theme = this.theme;
    applyTheme(this.theme);
    this.render();
  }

  toggleMenu(open = !this.top.classList.contains("open")) {
    this.top.classList.toggle("open", open);
    this.menuButton.setAttribute("aria-expanded", open ? "true" : "false");
  }

  closeMenu() {
    if (!this.top.classList.contains("open")) return false;
    this.toggleMenu(false);
    return true;
  }
}
