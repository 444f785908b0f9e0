// The stream's list and what holds it still: pausing (by the reader, by scrolling up, by
// selecting a row), the "N new" banner, the selected row and its details panel, and moving
// between rows with the keyboard. The entries themselves are entries.js's; their rows
// virtual-list.js's.
import { DetailsPanel } from "./details.js";
import { EntryList } from "./entries.js";
import { itemMillis, renderGap, renderRow } from "./rows.js";
import { notToday } from "./times.js";
import { VirtualList } from "./virtual-list.js";

const NEAR_BOTTOM_PX = 40;

export class StreamView {
  // `page`: {onFilter, onlyPattern, onChange, view() -> {useUtc, term, pattern}}.
  constructor(doc, page) {
    this.doc = doc;
    this.page = page;
    this.scroller = doc.getElementById("log");
    this.listElement = doc.getElementById("entries");
    this.banner = doc.getElementById("banner");
    this.pauseButton = doc.getElementById("pause");
    this.pausedReason = null; // null when following, else "by you", "scrolled up", "row selected"
    this.selected = null;
    this.itemOf = new WeakMap(); // row -> item
    this.list = new VirtualList(this.scroller, this.listElement, {
      renderItem: (item) => this.renderItem(item),
      onUserScroll: (movedUp) => this.onUserScroll(movedUp),
    });
    this.entries = new EntryList(this.list);
    this.details = new DetailsPanel(doc, {
      onFilter: page.onFilter,
      onlyPattern: page.onlyPattern,
      onClose: () => this.closeDetails(),
      view: page.view,
    });
    this.listElement.addEventListener("click", (event) => this.onClick(event));
    this.banner.addEventListener("click", () => {
      if (this.pausedReason) this.resume();
    });
    this.pauseButton.addEventListener("click", () => this.togglePause());
    this.renderBanner();
  }

  renderItem(item) {
    const row = item.kind === "entry" ? renderRow(item, this.page.view()) : renderGap(item);
    if (item === this.selected) markSelected(row, true);
    this.itemOf.set(row, item);
    return row;
  }

  // -- arrivals ------------------------------------------------------------------------------

  receive(entries, backfill) {
    if (backfill) this.entries.backfill(entries, Boolean(this.pausedReason));
    else this.entries.receive(entries, Boolean(this.pausedReason));
    this.noteDates(entries);
    this.renderBanner();
  }

  // Times carry a date when not today: the time column widens for them.
  noteDates(entries) {
    if (this.doc.documentElement.classList.contains("with-dates")) return;
    const useUtc = this.page.view().useUtc;
    const now = Date.now();
    if (entries.some((entry) => notToday(itemMillis(entry), useUtc, now))) {
      this.doc.documentElement.classList.add("with-dates");
      this.list.relayout();
    }
  }

  recheckDates() {
    const useUtc = this.page.view().useUtc;
    const now = Date.now();
    const dated = this.entries.items.some((item) => item.kind === "entry" && notToday(item.millis, useUtc, now));
    this.doc.documentElement.classList.toggle("with-dates", dated);
  }

  // -- pausing -------------------------------------------------------------------------------

  pause(reason) {
    this.pausedReason = reason;
    this.list.following = false;
    this.renderPause();
  }

  resume() {
    this.pausedReason = null;
    this.list.following = true;
    this.entries.resume(); // keeps the rows being read, then follows the newest
    this.list.scrollToBottom();
    this.renderPause();
  }

  togglePause() {
    if (this.pausedReason) this.resume();
    else this.pause("by you");
  }

  onUserScroll(movedUp) {
    const nearBottom = this.list.isNearBottom(NEAR_BOTTOM_PX);
    if (!this.pausedReason && movedUp && !nearBottom) this.pause("scrolled up");
    else if (this.pausedReason === "scrolled up" && nearBottom && !movedUp) this.resume();
  }

  renderPause() {
    const paused = Boolean(this.pausedReason);
    this.pauseButton.textContent = paused ? "Resume" : "Pause";
    this.pauseButton.setAttribute("aria-pressed", paused ? "true" : "false");
    this.renderBanner();
    this.page.onChange();
  }

  // "N new": while paused, but not over a row being read for nothing (0 new, row selected).
  renderBanner() {
    const idle = this.pausedReason === "row selected" && !this.entries.pendingCount;
    this.banner.hidden = !this.pausedReason || idle;
    const text = this.entries.pendingCount.toLocaleString("en-US") + " new, jump to latest";
    if (this.banner.textContent !== text) this.banner.textContent = text;
  }

  // -- selection and details -----------------------------------------------------------------

  onClick(event) {
    const row = event.target instanceof Element ? event.target.closest("li.entry") : null;
    if (!row) return;
    const selection = window.getSelection();
    if (selection && selection.toString()) return; // selecting text is not a click
    const item = this.itemOf.get(row);
    if (item === this.selected) this.closeDetails();
    else if (item) this.select(item, false);
  }

  select(item, focus) {
    const before = this.selected && this.list.nodeFor(this.selected);
    if (before) markSelected(before, false);
    this.selected = item;
    if (!this.pausedReason) this.pause("row selected");
    this.details.show(item);
    const row = this.list.reveal(item);
    if (row) {
      markSelected(row, true);
      if (focus) row.focus({ preventScroll: true });
    }
  }

  // The next (step 1) or previous (-1) entry after the selected one, or from the rows in view.
  move(step) {
    const items = this.entries.items;
    if (!items.length) return;
    let index = this.selected ? this.list.indexOf(this.selected) : -1;
    if (index < 0) {
      const top = this.scroller.scrollTop;
      index = step > 0 ? this.list.indexAtY(top) - 1
        : this.list.indexAtY(top + this.scroller.clientHeight - 1) + 1;
    }
    for (let at = index + step; at >= 0 && at < items.length; at += step) {
      if (items[at].kind === "entry") {
        this.select(items[at], true);
        return;
      }
    }
  }

  // Enter on a focused row: its details.
  openFocused() {
    const row = this.doc.activeElement && this.doc.activeElement.closest("li.entry");
    const item = row && this.itemOf.get(row);
    if (item) this.select(item, true);
  }

  closeDetails() {
    if (!this.details.isOpen) return false;
    const row = this.selected && this.list.nodeFor(this.selected);
    if (row) markSelected(row, false);
    this.selected = null;
    this.details.hide();
    if (this.pausedReason === "row selected") this.resume();
    this.scroller.focus({ preventScroll: true });
    return true;
  }

  // Times, highlights or the row mode changed: rows and details are drawn again (the
  // selected row keeps the focus if it had it).
  redraw(times = false) {
    const focused = this.listElement.contains(this.doc.activeElement);
    if (times) this.recheckDates();
    this.list.rerender();
    if (this.selected && this.details.isOpen) this.details.show(this.selected);
    const row = this.selected && this.list.nodeFor(this.selected);
    if (focused && row) row.focus({ preventScroll: true });
  }
}

function markSelected(row, on) {
  row.classList.toggle("selected", on);
  if (on) {
    row.setAttribute("aria-current", "true");
    row.tabIndex = 0;
  } else {
    row.removeAttribute("aria-current");
    row.tabIndex = -1;
  }
}
