// The page's regex matcher: a Pike VM (a set of threads advanced one character at a time),
// never the browser's backtracking RegExp, so /(a+)+$/ takes time linear in the text here as
// it does in RE2 on the server. It runs what js/query-regex.js accepted, on code points.
import { PERL, check } from "./query-regex.js";

// Case-insensitive matching compares a character's case orbit, as RE2's simple case folding
// makes it: its lower and upper case, except for these characters, whose orbit is written out
// (taken from RE2 over every cased character up to U+1FFFF; the agreement test checks them).
const ORBITS = [
  "Kk\u212a", "Ss\u017f", "\u00c5\u00e5\u212b", "\u00df\u1e9e", "\u0131", "\u01c4\u01c5\u01c6",
  "\u01c7\u01c8\u01c9", "\u01ca\u01cb\u01cc", "\u01f1\u01f2\u01f3", "\u0345\u0399\u03b9\u1fbe",
  "\u0390\u1fd3", "\u0392\u03b2\u03d0", "\u0395\u03b5\u03f5", "\u0398\u03b8\u03d1\u03f4",
  "\u039a\u03ba\u03f0", "\u00b5\u039c\u03bc", "\u03a0\u03c0\u03d6", "\u03a1\u03c1\u03f1",
  "\u03a3\u03c2\u03c3", "\u03a6\u03c6\u03d5", "\u03a9\u03c9\u2126", "\u03b0\u1fe3",
  "\u0412\u0432\u1c80", "\u0414\u0434\u1c81", "\u041e\u043e\u1c82", "\u0421\u0441\u1c83",
  "\u0422\u0442\u1c84\u1c85", "\u042a\u044a\u1c86", "\u0462\u0463\u1c87", "\u1e60\u1e61\u1e9b",
  "\u1f80\u1f88", "\u1f81\u1f89", "\u1f82\u1f8a", "\u1f83\u1f8b", "\u1f84\u1f8c", "\u1f85\u1f8d",
  "\u1f86\u1f8e", "\u1f87\u1f8f", "\u1f90\u1f98", "\u1f91\u1f99", "\u1f92\u1f9a", "\u1f93\u1f9b",
  "\u1f94\u1f9c", "\u1f95\u1f9d", "\u1f96\u1f9e", "\u1f97\u1f9f", "\u1fa0\u1fa8", "\u1fa1\u1fa9",
  "\u1fa2\u1faa", "\u1fa3\u1fab", "\u1fa4\u1fac", "\u1fa5\u1fad", "\u1fa6\u1fae", "\u1fa7\u1faf",
  "\u1fb3\u1fbc", "\u1fc3\u1fcc", "\u1ff3\u1ffc", "\u1c88\ua64a\ua64b", "\ufb05\ufb06",
];
const EXCEPTIONS = new Map();
for (const group of ORBITS) {
  const points = Array.from(group, (c) => c.codePointAt(0));
  for (const point of points) EXCEPTIONS.set(point, points);
}

// The code points a character matches when case is ignored.
export function orbit(cp) {
  const written = EXCEPTIONS.get(cp);
  if (written) return written;
  const found = new Set([cp]);
  const add = (text) => {
    const points = Array.from(text);
    if (points.length === 1) found.add(points[0].codePointAt(0));
  };
  const c = String.fromCodePoint(cp);
  for (const other of [c.toLowerCase(), c.toUpperCase()]) {
    add(other);
    add(other.toLowerCase());
    add(other.toUpperCase());
  }
  return Array.from(found);
}

function itemHas(item, cp) {
  return item.perl ? PERL[item.perl](cp) : cp >= item.lo && cp <= item.hi;
}

// Whether `cp` is in the class, comparing every character of its orbit when case is ignored:
// \D, \W and \S keep out what their positive class takes in any case, as RE2's folding does.
function classTest(node, ignoreCase) {
  const has = (cp) => {
    const points = ignoreCase ? orbit(cp) : [cp];
    return node.items.some((item) => {
      const inside = points.some((point) => itemHas(item, point));
      return item.negated ? !inside : inside;
    });
  };
  return (cp) => has(cp) !== node.negated;
}

function charTest(cp, ignoreCase) {
  if (!ignoreCase) return (c) => c === cp;
  const points = new Set(orbit(cp));
  return (c) => points.has(c) || orbit(c).some((point) => points.has(point));
}

// A test whose answers beyond ASCII are remembered (a bounded number of them): text in other
// scripts asks about the same few characters again and again.
function remembering(test) {
  const known = new Map();
  return (cp) => {
    let answer = known.get(cp);
    if (answer === undefined) {
      answer = test(cp);
      if (known.size < 4096) known.set(cp, answer);
    }
    return answer;
  };
}

class Program {
  constructor(ignoreCase) {
    this.ignoreCase = ignoreCase;
    this.code = []; // {op: "test"|"split"|"jmp"|"assert"|"match", ...}
  }

  emit(inst) {
    this.code.push(inst);
    return this.code.length - 1;
  }

  add(node) {
    switch (node.kind) {
      case "char": this.emit({ op: "test", test: charTest(node.cp, this.ignoreCase) }); break;
      case "any": this.emit({ op: "test", test: (cp) => cp !== 10 }); break;
      case "class": this.emit({ op: "test", test: classTest(node, this.ignoreCase) }); break;
      case "assert": this.emit({ op: "assert", what: node.what }); break;
      case "concat": case "group": for (const item of node.items) this.add(item); break;
      case "alt": this.alternatives(node.items); break;
      case "repeat": this.repeat(node.items[0], node.low, node.high); break;
      default: throw new Error("unknown regex node " + node.kind);
    }
  }

  alternatives(items) {
    const jumps = [];
    for (let k = 0; k < items.length - 1; k++) {
      const split = this.emit({ op: "split", x: 0, y: 0 });
      this.code[split].x = this.code.length;
      this.add(items[k]);
      jumps.push(this.emit({ op: "jmp", x: 0 }));
      this.code[split].y = this.code.length;
    }
    this.add(items[items.length - 1]);
    for (const jump of jumps) this.code[jump].x = this.code.length;
  }

  repeat(item, low, high) {
    for (let k = 0; k < low; k++) this.add(item);
    if (high < 0) {
      const split = this.emit({ op: "split", x: 0, y: 0 });
      this.code[split].x = this.code.length;
      this.add(item);
      this.emit({ op: "jmp", x: split });
      this.code[split].y = this.code.length;
      return;
    }
    const splits = [];
    for (let k = low; k < high; k++) {
      const split = this.emit({ op: "split", x: 0, y: 0 });
      this.code[split].x = this.code.length;
      splits.push(split);
      this.add(item);
    }
    for (const split of splits) this.code[split].y = this.code.length;
  }
}

const TEST = 0;
const SPLIT = 1;
const JMP = 2;
const ASSERT = 3;
const MATCH = 4;
const ASSERTS = { "^": 0, "$": 1, b: 2 };
const FOLD_SAFE = /^[\x00-\x7f]$/; // ASCII: lower and upper case are the whole orbit...
const FOLD_EXTRA = new Set(["k", "K", "s", "S"]); // ...but for these (Kelvin sign, long s)

function isWord(cp) {
  return cp >= 0 && PERL.w(cp);
}

// Literal runs every match holds (in the top-level sequence), for a quick look before the VM;
// under ignoreCase only ASCII whose orbit is its two cases, so lower-casing finds them.
function requiredRuns(node, ignoreCase) {
  const runs = [];
  let run = "";
  const flush = () => {
    if (run) runs.push(ignoreCase ? run.toLowerCase() : run);
    run = "";
  };
  const usable = (item) => item.kind === "char" &&
    (!ignoreCase || (FOLD_SAFE.test(String.fromCodePoint(item.cp)) && !FOLD_EXTRA.has(String.fromCodePoint(item.cp))));
  const walk = (items) => {
    for (const item of items) {
      if (usable(item)) {
        run += String.fromCodePoint(item.cp);
      } else if (item.kind === "group" && item.items[0].kind === "concat") {
        walk(item.items[0].items);
      } else if (item.kind === "repeat" && item.low >= 1 && usable(item.items[0])) {
        run += String.fromCodePoint(item.items[0].cp);
        flush();
      } else if (item.kind !== "assert") {
        flush();
      }
    }
  };
  if (node.kind === "concat") walk(node.items);
  else if (node.kind === "group" && node.items[0].kind === "concat") walk(node.items[0].items);
  flush();
  return runs;
}

// A compiled regex: `search(text)` says whether it matches anywhere in `text`, in time
// proportional to the text's length times the program's size (typed arrays, one pass; each
// test's answers for ASCII are tabled at compile time, the rest asked as they come).
// `steps` adds up the threads its searches have run (each one test of one character), so a
// test can check that bound without timing anything; it is added to once a search, which
// keeps it out of the loop over threads.
export class Regex {
  constructor(body, ignoreCase) {
    const parsed = check(body);
    const program = new Program(ignoreCase);
    program.add(parsed);
    program.emit({ op: "match" });
    const code = program.code;
    const size = code.length;
    this.op = new Int8Array(size);
    this.x = new Int32Array(size);
    this.y = new Int32Array(size);
    this.tests = code.map((inst) => (inst.test ? remembering(inst.test) : null));
    this.ascii = new Uint8Array(size * 128);
    code.forEach((inst, pc) => this.load(inst, pc));
    this.seen = new Int32Array(size).fill(-1);
    this.generation = 0;
    this.lists = [new Int32Array(size), new Int32Array(size)];
    this.stack = new Int32Array(2 * size + 2);
    this.ignoreCase = ignoreCase;
    this.steps = 0;
    this.runs = requiredRuns(parsed, ignoreCase);
    this.startSet();
  }

  load(inst, pc) {
    const ops = { test: TEST, split: SPLIT, jmp: JMP, assert: ASSERT, match: MATCH };
    this.op[pc] = ops[inst.op];
    if (inst.op === "split" || inst.op === "jmp") this.x[pc] = inst.x;
    if (inst.op === "split") this.y[pc] = inst.y;
    if (inst.op === "assert") this.x[pc] = ASSERTS[inst.what];
    if (inst.op === "test") {
      for (let cp = 0; cp < 128; cp++) this.ascii[pc * 128 + cp] = inst.test(cp) ? 1 : 0;
    }
  }

  // The ASCII characters a match may start with (every assertion taken as holding), and
  // whether a match may be empty: when it may not, the search skips to such a character.
  startSet() {
    this.first = new Uint8Array(128);
    const seen = new Uint8Array(this.op.length);
    const stack = [0];
    let empty = false;
    while (stack.length) {
      const pc = stack.pop();
      if (seen[pc]) continue;
      seen[pc] = 1;
      const op = this.op[pc];
      if (op === MATCH) empty = true;
      else if (op === TEST) for (let cp = 0; cp < 128; cp++) this.first[cp] |= this.ascii[pc * 128 + cp];
      else if (op === JMP) stack.push(this.x[pc]);
      else if (op === SPLIT) stack.push(this.y[pc], this.x[pc]);
      else stack.push(pc + 1);
    }
    this.skip = !empty;
  }

  search(text) {
    const s = String(text);
    if (this.runs.length) {
      const hay = this.ignoreCase ? s.toLowerCase() : s;
      if (!this.runs.every((run) => hay.includes(run))) return false;
    }
    if (this.generation > 1e9) {
      this.seen.fill(-1);
      this.generation = 0;
    }
    const n = s.length;
    const ascii = this.ascii;
    let current = this.lists[0];
    let next = this.lists[1];
    let count = 0;
    let run = 0; // threads run: added to this.steps on the way out
    let i = 0;
    let prev = -1;
    let cp = n ? s.codePointAt(0) : -1;
    for (;;) {
      if (count === 0) {
        if (this.skip) {
          while (i < n) {
            const c = s.charCodeAt(i);
            if (c >= 128 || this.first[c]) break;
            prev = c;
            i += 1;
          }
          cp = i < n ? s.codePointAt(i) : -1;
        }
        this.generation += 1;
        count = this.follow(current, 0, 0, prev, cp);
        if (count < 0) return this.ran(run, true);
      }
      if (i >= n) return this.ran(run, false);
      const after = i + (cp > 0xffff ? 2 : 1);
      const following = after < n ? s.codePointAt(after) : -1;
      this.generation += 1;
      run += count;
      let kept = 0;
      for (let k = 0; k < count; k++) {
        const pc = current[k];
        if (cp < 128 ? ascii[pc * 128 + cp] === 1 : this.tests[pc](cp)) {
          kept = this.follow(next, kept, pc + 1, cp, following);
          if (kept < 0) return this.ran(run, true);
        }
      }
      if (kept > 0 || !this.skip) {
        kept = this.follow(next, kept, 0, cp, following);
        if (kept < 0) return this.ran(run, true);
      }
      const swap = current;
      current = next;
      next = swap;
      count = kept;
      prev = cp;
      cp = following;
      i = after;
    }
  }

  ran(threads, found) {
    this.steps += threads;
    return found;
  }

  // Add to `list` (holding `count` threads) the threads `start` leads to between the code
  // points `prev` and `next` (-1 at either end); the new count, or -1 when one matches.
  follow(list, count, start, prev, next) {
    const stack = this.stack;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const pc = stack[--top];
      if (this.seen[pc] === this.generation) continue;
      this.seen[pc] = this.generation;
      const op = this.op[pc];
      if (op === MATCH) return -1;
      if (op === TEST) {
        list[count++] = pc;
      } else if (op === JMP) {
        stack[top++] = this.x[pc];
      } else if (op === SPLIT) {
        stack[top++] = this.y[pc];
        stack[top++] = this.x[pc];
      } else if (this.holds(this.x[pc], prev, next)) {
        stack[top++] = pc + 1;
      }
    }
    return count;
  }

  holds(what, prev, next) {
    if (what === 0) return prev === -1;
    if (what === 1) return next === -1;
    return isWord(prev) !== isWord(next);
  }
}
