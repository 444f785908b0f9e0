// Windowed rendering of the list: the page may hold 20,000 entries, but only the rows in
// view and OVERSCAN_PX around them are in the DOM; padding above and below the rendered rows
// stands for the others, at the heights they were measured at (or the usual row height until
// they are). Appending to a long list then costs what appending to a short one does.
//
// Items are plain objects ordered by `key` (entries.js); each rendered row is measured once
// per layout generation (a new width or row mode starts a new one). Every change to the items
// keeps the rows being read where they are on screen (an anchor: the first row in view and
// how far it is scrolled), or the bottom in view while following; the browser's own scroll
// anchoring is off (logs.css), this does it.

import { ItemOffsets } from "./row-offsets.js";

const OVERSCAN_PX = 800;
const MAX_PASSES = 3; // measuring can change heights, which can change the window: re-run

export class VirtualList extends ItemOffsets {
  // `renderItem(item)` makes a row; `onUserScroll(movedUp)` hears scrolls the reader made.
  constructor(scroller, list, { renderItem, onUserScroll }) {
    super();
    this.scroller = scroller;
    this.list = list;
    this.renderItem = renderItem;
    this.onUserScroll = onUserScroll;
    this.nodes = new Map(); // item -> its row, for the rows in the DOM
    this.first = 0; // the rendered window: items[first..last]
    this.last = -1;
    this.following = true; // the bottom stays in view as items come
    this.expectedTop = null; // a scroll position this set: its scroll event is not the reader's
    this.lastTop = 0;
    this.width = 0;
    scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    new ResizeObserver(() => this.onResize()).observe(scroller);
  }

  get length() {
    return this.items.length;
  }

  // -- changing the items (each keeps the reader's place) ----------------------------------

  append(items) {
    if (!items.length) return;
    const anchor = this.anchor();
    const from = this.items.length;
    for (const item of items) this.items.push(item);
    this.invalidate(from);
    this.update(anchor);
  }

  // Replaces every item; the rows being read stay where they are if they are still there.
  // `fresh`: rows show differently now (a search's highlights): make them anew.
  replace(items, fresh = false) {
    const anchor = this.anchor();
    this.items = items;
    this.invalidate(0);
    if (fresh) this.dropRows();
    this.update(anchor);
  }

  // Removes the first `count` items (the oldest).
  trimFront(count) {
    if (count <= 0) return;
    const anchor = this.anchor();
    this.items.splice(0, count);
    this.invalidate(0);
    this.update(anchor);
  }

  removeWhere(predicate) {
    const kept = this.items.filter((item) => !predicate(item));
    if (kept.length !== this.items.length) this.replace(kept);
  }

  // Rows may have changed height (a width, a row mode): measure them again.
  relayout() {
    const anchor = this.anchor();
    this.generation += 1;
    this.estimate = 0;
    this.invalidate(0);
    this.update(anchor);
  }

  // Rows may show differently (times, highlights): make them again, and measure them again.
  rerender() {
    const anchor = this.anchor();
    this.dropRows();
    this.invalidate(0);
    this.update(anchor);
  }

  // Every row out of the DOM, to be made again and measured again.
  dropRows() {
    for (const node of this.nodes.values()) node.remove();
    this.nodes.clear();
    this.generation += 1;
    this.estimate = 0;
  }

  nodeFor(item) {
    return this.nodes.get(item) || null;
  }

  indexOf(item) {
    const at = this.lowerBound(item);
    return this.items[at] === item ? at : -1;
  }

  // Brings `item` into view, scrolling as little as needed; returns its row.
  reveal(item) {
    const index = this.indexOf(item);
    if (index < 0) return null;
    this.ensureOffsets();
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight;
    let target = top;
    if (this.offsets[index] < top) target = this.offsets[index];
    else if (this.offsets[index + 1] > top + height) target = this.offsets[index + 1] - height;
    this.update({ top: target });
    return this.nodeFor(item);
  }

  scrollToBottom() {
    this.update({ follow: true });
  }

  // The first item in view (null for none).
  firstInView() {
    if (!this.items.length) return null;
    this.ensureOffsets();
    return this.items[this.indexAt(this.scroller.scrollTop)];
  }

  // The index of the item at `y` px from the top of the list.
  indexAtY(y) {
    this.ensureOffsets();
    return this.items.length ? this.indexAt(y) : 0;
  }

  isNearBottom(slack) {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < slack;
  }

  // -- the reader's place ----------------------------------------------------------------

  // Where the reader is: following the bottom, or a row and how far into it they scrolled.
  anchor() {
    if (this.following) return { follow: true };
    if (!this.items.length) return { top: 0 };
    this.ensureOffsets();
    const top = this.scroller.scrollTop;
    const index = this.indexAt(top);
    return { item: this.items[index], delta: top - this.offsets[index] };
  }

  targetTop(anchor) {
    const room = this.scroller.clientHeight;
    if (anchor.follow) return Math.max(0, this.total() - room);
    if (anchor.item === undefined) return Math.max(0, Math.min(anchor.top, this.total() - room));
    const index = Math.min(this.lowerBound(anchor.item), this.items.length - 1);
    if (index < 0) return 0;
    const delta = this.items[index] === anchor.item ? anchor.delta : 0;
    return this.offsets[index] + delta;
  }

  // -- rendering -----------------------------------------------------------------------------

  update(anchor) {
    if (!this.scroller.clientWidth) return; // hidden: nothing to measure; laid out when shown
    for (let pass = 0; pass < MAX_PASSES; pass += 1) {
      this.ensureOffsets();
      const top = this.targetTop(anchor);
      this.sync(top);
      this.setScrollTop(anchor.follow ? this.scroller.scrollHeight : top);
      if (!this.measure()) break;
    }
  }

  // The DOM holds the rows of the window around `top`, in order, and nothing else.
  sync(top) {
    const n = this.items.length;
    const first = n ? this.indexAt(Math.max(0, top - OVERSCAN_PX)) : 0;
    const last = n ? this.indexAt(top + this.scroller.clientHeight + OVERSCAN_PX) : -1;
    const wanted = this.items.slice(first, last + 1);
    const keep = new Set(wanted);
    for (const [item, node] of this.nodes) {
      if (!keep.has(item)) {
        node.remove();
        this.nodes.delete(item);
      }
    }
    let cursor = this.list.firstChild;
    wanted.forEach((item, k) => {
      let node = this.nodes.get(item);
      if (!node) {
        node = this.renderItem(item);
        this.nodes.set(item, node);
      }
      if (node === cursor) cursor = cursor.nextSibling;
      else this.list.insertBefore(node, cursor);
      const position = String(first + k + 1);
      if (node.getAttribute("aria-posinset") !== position) {
        node.setAttribute("aria-posinset", position);
      }
      node.setAttribute("aria-setsize", String(n));
    });
    this.first = first;
    this.last = last;
    this.setPadding(first, last);
  }

  setPadding(first, last) {
    const above = this.items.length ? this.offsets[first] : 0;
    const below = this.items.length ? this.total() - this.offsets[last + 1] : 0;
    this.list.style.paddingTop = above + "px";
    this.list.style.paddingBottom = below + "px";
  }

  // Reads the heights of rows not measured in this generation; true when any changed.
  measure() {
    let changed = false;
    for (let i = this.first; i <= this.last; i += 1) {
      const item = this.items[i];
      if (item.generation === this.generation) continue;
      const before = this.height(item);
      const height = this.nodes.get(item).offsetHeight;
      if (item.kind === "entry" && (!this.estimate || height < this.estimate)) {
        this.estimate = height;
        this.invalidate(0); // every row not measured yet is now thought this high
        changed = true;
      }
      if (height !== before) changed = true;
      item.height = height;
      item.generation = this.generation;
      this.invalidate(i);
    }
    return changed;
  }

  setScrollTop(top) {
    const scroller = this.scroller;
    if (Math.abs(scroller.scrollTop - top) >= 1) {
      scroller.scrollTop = top;
      this.expectedTop = scroller.scrollTop;
    }
    this.lastTop = scroller.scrollTop;
  }

  onScroll() {
    const top = this.scroller.scrollTop;
    const ours = this.expectedTop !== null && Math.abs(top - this.expectedTop) < 2;
    this.expectedTop = null;
    const movedUp = top < this.lastTop - 1;
    this.lastTop = top;
    if (!ours) this.onUserScroll(movedUp);
    this.ensureOffsets();
    const index = this.items.length ? this.indexAt(top) : 0;
    const place = this.items.length
      ? { item: this.items[index], delta: top - this.offsets[index] } : { top: 0 };
    this.update(this.following && !movedUp ? { follow: true } : place);
  }

  onResize() {
    const width = this.scroller.clientWidth;
    if (width !== this.width) {
      this.width = width;
      this.relayout();
    } else {
      this.update(this.anchor());
    }
  }
}
