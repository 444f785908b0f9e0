// The regular expressions of the search, in the page: the same subset of RE2's syntax as the
// server (viewer/query_regex.py), checked with the same rules and messages. js/query-vm.js
// matches what passes, in linear time. Patterns are read as code points, as RE2 reads UTF-8.

const MAX_GROUP_DEPTH = 20;
const MAX_REPEAT = 1000;
const MAX_SIZE = 1000;
const ESCAPED_CLASSES = "dDwWsS";
const ESCAPED_CONTROLS = { t: 9, n: 10, r: 13, f: 12, v: 11 };
export const PERL = {
  d: (cp) => cp >= 48 && cp <= 57,
  w: (cp) => (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) || cp === 95,
  s: (cp) => cp === 9 || cp === 10 || cp === 12 || cp === 13 || cp === 32, // RE2's \s: no \v
};
export class RegexError extends Error {}

// The regex's size once repetitions are spelt out (as viewer/query_regex.py counts it).
export function size(node) {
  if (node.kind === "concat" || node.kind === "group") {
    return node.items.reduce((sum, item) => sum + size(item), 0);
  }
  if (node.kind === "alt") {
    return node.items.reduce((sum, item) => sum + size(item), 0) + node.items.length - 1;
  }
  if (node.kind === "repeat") {
    const copies = node.high >= 0 ? node.high : node.low + 1;
    return size(node.items[0]) * Math.max(copies, 1) + 1;
  }
  return 1;
}

// The parsed regex, or RegexError when it is outside the subset or too large.
export function check(body) {
  const parsed = new Parser(body).parse();
  if (size(parsed) > MAX_SIZE) {
    throw new RegexError("this regex is too large once its repetitions are spelt out");
  }
  return parsed;
}

function isPunctuation(c) {
  return c === " " || (c >= "!" && c <= "~" && c.length === 1 && !/[A-Za-z0-9]/.test(c));
}

function digits(text) {
  return text.length > 0 && text.length <= 4 && /^[0-9]+$/.test(text);
}

class Parser {
  constructor(body) {
    this.s = Array.from(body);
    this.i = 0;
  }

  fail(text, at) {
    return new RegexError(text + " at character " + (at + 1) + " of the regex");
  }

  peek(ahead = 0) {
    const at = this.i + ahead;
    return at < this.s.length ? this.s[at] : "";
  }

  parse() {
    const node = this.alternation(0);
    if (this.i < this.s.length) throw this.fail("unmatched )", this.i);
    return node;
  }

  alternation(depth) {
    const branches = [this.concatenation(depth)];
    while (this.peek() === "|") {
      this.i += 1;
      branches.push(this.concatenation(depth));
    }
    return branches.length === 1 ? branches[0] : { kind: "alt", items: branches };
  }

  concatenation(depth) {
    const items = [];
    while (this.i < this.s.length && this.peek() !== "|" && this.peek() !== ")") {
      items.push(this.quantified(this.atom(depth)));
    }
    return { kind: "concat", items };
  }

  atom(depth) {
    const c = this.peek();
    const at = this.i;
    this.i += 1;
    if (c === "(") return this.group(depth, at);
    if (c === "[") return this.charClass(at);
    if (c === "\\") return this.escape(at);
    if (c === "*" || c === "+" || c === "?") throw this.fail("nothing to repeat", at);
    if (c === "{") throw this.fail("a { that repeats nothing (write \\{ for the character)", at);
    if (c === "^" || c === "$") return { kind: "assert", what: c };
    if (c === ".") return { kind: "any" };
    return { kind: "char", cp: c.codePointAt(0) };
  }

  group(depth, at) {
    if (depth >= MAX_GROUP_DEPTH) throw this.fail("more than " + MAX_GROUP_DEPTH + " nested groups", at);
    if (this.peek() === "?") this.groupKind(at);
    const inner = this.alternation(depth + 1);
    if (this.peek() !== ")") throw this.fail("missing ) for the (", at);
    this.i += 1;
    return { kind: "group", items: [inner] };
  }

  groupKind(at) {
    const after = this.peek(1);
    if (after === ":") {
      this.i += 2;
      return;
    }
    if (after === "=" || after === "!" || (after === "<" && (this.peek(2) === "=" || this.peek(2) === "!"))) {
      throw this.fail("lookaround is not supported (it needs backtracking)", at);
    }
    throw this.fail("only ( ) and (?: ) groups are supported (for case, write /…/i)", at);
  }

  quantified(atom) {
    const at = this.i;
    const bounds = this.quantifier();
    if (bounds === null) return atom;
    if (atom.kind === "assert") throw this.fail("nothing to repeat", at);
    if (this.peek() === "?") this.i += 1; // lazy: the same matches for a yes-or-no search
    const next = this.peek();
    if (next === "*" || next === "+" || next === "?" || (next === "{" && this.repeatAhead())) {
      throw this.fail("a quantifier after a quantifier", this.i);
    }
    return { kind: "repeat", items: [atom], low: bounds[0], high: bounds[1] };
  }

  quantifier() {
    const c = this.peek();
    const simple = { "*": [0, -1], "+": [1, -1], "?": [0, 1] };
    if (Object.hasOwn(simple, c)) {
      this.i += 1;
      return simple[c];
    }
    if (c !== "{") return null;
    const found = this.repeatAhead();
    if (found === null) throw this.fail("a { that repeats nothing (write \\{ for the character)", this.i);
    const [low, high, length] = found;
    if (Math.max(low, high) > MAX_REPEAT) throw this.fail("a repetition over " + MAX_REPEAT, this.i);
    if (high >= 0 && high < low) {
      throw this.fail("a repetition {" + low + "," + high + "} whose maximum is below its minimum", this.i);
    }
    this.i += length;
    return [low, high];
  }

  // {n}, {n,} or {n,m} at the cursor: [n, m or -1, its length], else null.
  repeatAhead() {
    const end = this.s.indexOf("}", this.i);
    if (end < 0) return null;
    const inside = this.s.slice(this.i + 1, end).join("");
    const comma = inside.indexOf(",");
    const low = comma < 0 ? inside : inside.slice(0, comma);
    const high = comma < 0 ? "" : inside.slice(comma + 1);
    if (!digits(low) || (high && !digits(high))) return null;
    const top = high ? Number(high) : comma >= 0 ? -1 : Number(low);
    return [Number(low), top, end - this.i + 1];
  }

  escape(at) {
    const c = this.peek();
    this.i += 1;
    if (c === "b") return { kind: "assert", what: c };
    if (c === "B") throw this.fail("\\B is not supported (write \\b or a class)", at);
    if (c && ESCAPED_CLASSES.includes(c)) {
      const lower = c.toLowerCase();
      return { kind: "class", negated: c !== lower, items: [{ perl: lower, negated: false }] };
    }
    return { kind: "char", cp: this.escapedChar(c, at) };
  }

  // The code point `\c` stands for, or RegexError.
  escapedChar(c, at) {
    if (c === "") throw this.fail("a \\ at the end", at);
    if (Object.hasOwn(ESCAPED_CONTROLS, c)) return ESCAPED_CONTROLS[c];
    if (c >= "0" && c <= "9") throw this.fail("backreferences are not supported (they need backtracking)", at);
    if (isPunctuation(c)) return c.codePointAt(0);
    throw this.fail("\\" + c + " is not supported", at);
  }

  charClass(at) {
    const node = { kind: "class", negated: false, items: [] };
    if (this.peek() === "^") {
      node.negated = true;
      this.i += 1;
    }
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === "") throw this.fail("missing ] for the [", at);
      if (c === "]") {
        if (first) throw this.fail("an empty [ ] (write \\] for the character)", this.i);
        this.i += 1;
        return node;
      }
      if (c === "[") throw this.fail("a [ inside [ ] (write \\[ for the character)", this.i);
      node.items.push(this.classItem());
      first = false;
    }
  }

  classItem() {
    const start = this.i;
    const low = this.classAtom();
    if (this.peek() === "-" && this.peek(1) !== "]" && this.peek(1) !== "") {
      this.i += 1;
      const high = this.classAtom();
      if (typeof low !== "number" || typeof high !== "number" || low > high) {
        throw this.fail("a bad range in [ ]", start);
      }
      return { lo: low, hi: high };
    }
    return typeof low === "number" ? { lo: low, hi: low } : low;
  }

  // The code point at the cursor inside [ ], or a {perl, negated} item for \d \w \s \D \W \S.
  classAtom() {
    const c = this.peek();
    const at = this.i;
    this.i += 1;
    if (c !== "\\") return c.codePointAt(0);
    const escaped = this.peek();
    this.i += 1;
    if (escaped && ESCAPED_CLASSES.includes(escaped)) {
      const lower = escaped.toLowerCase();
      return { perl: lower, negated: escaped !== lower };
    }
    if (escaped === "b") throw this.fail("\\b inside [ ] is not supported", at);
    return this.escapedChar(escaped, at);
  }
}
