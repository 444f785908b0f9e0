// The items of the windowed list (virtual-list.js) and where each one's row starts: rows not
// in the DOM count at the height they were measured at, or at the usual row height (the
// smallest measured) until they are. Offsets are summed lazily from the first change on, so
// appending to 20,000 items adds up only the new ones.

export class ItemOffsets {
  constructor() {
    this.items = [];
    this.offsets = new Float64Array(1024); // offsets[i]: top of items[i]; offsets[n]: total
    this.validUpTo = 0; // offsets[0..validUpTo] are right
    this.estimate = 0; // px of a row not measured yet (the smallest row measured)
    this.generation = 1; // a row's height counts only if measured in this generation
  }

  invalidate(from) {
    this.validUpTo = Math.min(this.validUpTo, from);
  }

  height(item) {
    return item.generation === this.generation ? item.height : this.estimate;
  }

  ensureOffsets() {
    const n = this.items.length;
    if (this.offsets.length < n + 1) {
      const grown = new Float64Array(Math.max(n + 1, Math.ceil(this.offsets.length * 1.5)));
      grown.set(this.offsets.subarray(0, this.validUpTo + 1));
      this.offsets = grown;
    }
    for (let i = this.validUpTo; i < n; i += 1) {
      this.offsets[i + 1] = this.offsets[i] + this.height(this.items[i]);
    }
    this.validUpTo = n;
  }

  total() {
    return this.offsets[this.items.length];
  }

  // The index of the item at `y` (the last one whose top is at or above it).
  indexAt(y) {
    let low = 0;
    let high = this.items.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.offsets[mid] <= y) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  // The index of the first item not ordered before `item` (items are ordered by key).
  lowerBound(item) {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareItems(this.items[mid], item) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

// Items in key order; a gap marker (sub 1) after the entry whose key it carries.
export function compareItems(a, b) {
  if (a.key < b.key) return -1;
  if (a.key > b.key) return 1;
  return (a.sub || 0) - (b.sub || 0);
}
