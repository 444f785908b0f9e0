// The entries the page holds (at most MAX_ROWS, rendered a window at a time by
// virtual-list.js), what is held back while paused, and the page's own filter on them.
//
// - A search or filter change repaints from what is loaded at once (`setFilter`), while the
//   server's fresh subscription catches up; its backfill is merged in by id (`backfill`),
//   not swapped in, so the loaded entries that still match stay. When the new filter is not
//   a narrowing of the old one, entries older than the backfill may miss matches: a marker
//   says so where that starts.
// - Paused, arrivals wait in `pending` (the newest MAX_ROWS of them); resuming merges them
//   and keeps the rows being read: only entries above them are dropped for the cap, and if
//   that is not enough, those after them (a marker says how many), so the newest come too.
import { compareItems } from "./row-offsets.js";
import { nanosToMillis } from "./text.js";

export const MAX_ROWS = 20000;
const KEEP_ABOVE = 100; // rows kept above the ones being read when resuming
const KEEP_BELOW = 500; // and below the first of them

let gapSerial = 0;

export function entryItem(entry) {
  let key;
  try {
    key = BigInt(entry.id || "0");
  } catch (_) {
    key = 0n;
  }
  return {
    kind: "entry",
    key,
    sub: 0,
    entry,
    millis: nanosToMillis(entry.firstSeenUnixNano),
    expires: nanosToMillis(entry.expiresAtUnixNano),
  };
}

export function gapItem(key, text) {
  gapSerial += 1;
  return { kind: "gap", key, sub: gapSerial, text };
}

// Two lists of items in key order as one, each entry once.
export function mergeItems(a, b) {
  const merged = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && compareItems(a[i], b[j]) <= 0)) {
      const item = a[i++];
      if (j < b.length && item.kind === "entry" && b[j].kind === "entry" && b[j].key === item.key) j += 1;
      merged.push(item);
    } else {
      merged.push(b[j++]);
    }
  }
  return merged;
}

function countEntries(items) {
  let n = 0;
  for (const item of items) if (item.kind === "entry") n += 1;
  return n;
}

export class EntryList {
  constructor(list, cap = MAX_ROWS) {
    this.list = list; // a VirtualList
    this.cap = cap;
    this.keeps = () => true; // the page's own filter (the search as typed)
    this.narrowing = true; // the filter narrows what the server last sent
    this.pending = [];
    this.pendingCount = 0; // arrivals while paused, for the banner
    this.rows = 0; // entries in the list (markers are not entries)
    this.gapText = ""; // a marker to put before the next backfill (the cursor was too old)
  }

  get items() {
    return this.list.items;
  }

  lastKey() {
    const held = this.pending.length ? this.pending[this.pending.length - 1].key : -1n;
    const items = this.items;
    const shown = items.length ? items[items.length - 1].key : -1n;
    return held > shown ? held : shown;
  }

  // Live entries; held back while `paused`.
  receive(entries, paused) {
    const items = entries.map(entryItem).filter((item) => this.keeps(item.entry));
    if (paused) {
      this.hold(items);
      return;
    }
    const last = this.items.length ? this.items[this.items.length - 1].key : -1n;
    const fresh = items.filter((item) => item.key > last);
    if (fresh.length === items.length) {
      this.list.append(fresh);
      this.rows += fresh.length;
    } else {
      this.replace(mergeItems(this.items, items)); // an overlap: merged, each entry once
    }
    this.trim();
  }

  // A backfill (a fresh subscription): merged with what the list holds that still matches.
  backfill(entries, paused) {
    let items = entries.map(entryItem).filter((item) => this.keeps(item.entry));
    const gap = this.gapBefore(items);
    if (gap) items = [gap, ...items];
    if (paused) this.hold(items);
    else {
      this.replace(mergeItems(this.items, items));
      this.trim();
    }
    this.narrowing = true;
  }

  gapBefore(items) {
    const oldest = items.find((item) => item.kind === "entry");
    const text = this.gapText || (this.narrowing ? "" : "Entries above were loaded for the " +
      "previous filter: some that match this one may be missing.");
    this.gapText = "";
    if (!text || !oldest || !this.items.some((item) => item.key < oldest.key)) return null;
    return { ...gapItem(oldest.key, text), sub: -1 };
  }

  // A marker at the end of what arrived (entries the server could not send this page).
  addGap(text, paused) {
    const gap = gapItem(this.lastKey(), text);
    if (paused) this.pending.push(gap);
    else this.list.append([gap]);
  }

  hold(items) {
    const last = this.lastKey();
    this.pendingCount += items.filter((item) => item.key > last).length;
    this.pending = mergeItems(this.pending, items);
    let excess = countEntries(this.pending) - this.cap;
    let drop = 0;
    while (excess > 0 && drop < this.pending.length) {
      if (this.pending[drop].kind === "entry") excess -= 1;
      drop += 1;
    }
    if (drop) this.pending.splice(0, drop);
  }

  // Merges what was held back; the rows being read stay (see the top of this file).
  resume() {
    const reading = this.list.firstInView();
    let merged = mergeItems(this.items, this.pending);
    this.pending = [];
    this.pendingCount = 0;
    let excess = countEntries(merged) - this.cap;
    if (excess > 0) {
      const at = reading ? lowerBound(merged, reading) : merged.length;
      const front = dropEntries(merged, 0, Math.min(excess, countEntries(merged.slice(0, Math.max(0, at - KEEP_ABOVE)))));
      merged = front.items;
      excess -= front.dropped;
      if (excess > 0) merged = this.dropAfterReading(merged, at - front.dropped, excess);
    }
    this.replace(merged);
  }

  // Drops `excess` entries after the ones being read (from `at`), a marker in their place:
  // what is read stays, and so do the newest.
  dropAfterReading(merged, at, excess) {
    const from = Math.min(Math.max(0, at) + KEEP_BELOW, merged.length);
    const cut = dropEntries(merged, from, excess);
    const text = cut.dropped.toLocaleString("en-US") + " entries after these are not kept " +
      "(the page keeps " + this.cap.toLocaleString("en-US") + "): the newest follow.";
    const key = from > 0 ? merged[from - 1].key : 0n;
    cut.items.splice(from, 0, gapItem(key, text));
    return cut.items;
  }

  // The page's own filter changed: the list shows at once what it holds that matches.
  setFilter(keeps, narrowing) {
    this.keeps = keeps;
    this.narrowing = this.narrowing && narrowing;
    const matches = (item) => item.kind !== "entry" || keeps(item.entry);
    this.pending = this.pending.filter(matches);
    const kept = this.items.filter(matches);
    this.list.replace(kept, true); // rows made anew: the search's highlights change
    this.rows = countEntries(kept);
  }

  // Drops the entries whose time in the window is over.
  sweep(now) {
    const expired = (item) => item.kind === "entry" && item.expires && item.expires <= now;
    this.pending = this.pending.filter((item) => !expired(item));
    this.list.removeWhere(expired);
    this.rows = countEntries(this.items);
  }

  clear() {
    this.pending = [];
    this.pendingCount = 0;
    this.replace([]);
  }

  replace(items) {
    this.list.replace(items);
    this.rows = countEntries(items);
  }

  trim() {
    const excess = this.rows - this.cap;
    if (excess <= 0) return;
    const items = this.items;
    let end = 0;
    let dropped = 0;
    while (dropped < excess && end < items.length) {
      if (items[end].kind === "entry") dropped += 1;
      end += 1;
    }
    this.list.trimFront(end);
    this.rows -= dropped;
  }
}

// `items` without `count` entries from index `at` on (and the markers among them).
function dropEntries(items, at, count) {
  let end = at;
  let dropped = 0;
  while (dropped < count && end < items.length) {
    if (items[end].kind === "entry") dropped += 1;
    end += 1;
  }
  return { items: items.slice(0, at).concat(items.slice(end)), dropped };
}

function lowerBound(items, item) {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (compareItems(items[mid], item) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}
