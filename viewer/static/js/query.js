// The search language of the live page (README, "Searching the live page"), in the page: the
// twin of viewer/query.py, which the server runs on what a subscription receives. The page
// uses it to filter the rows it has loaded at once, and to refuse a bad query with the same
// message the server would give. Words are ANDed, OR, -negation, "phrases", ( ), field terms
// (service:api, level:>=warn, http.status_code:>=500, host.name:web-*) and /regexes/i.
import { QueryError, compileTerm, entryValues } from "./query-match.js";

export { QueryError } from "./query-match.js";

export const MAX_QUERY = 1000; // characters: a search, not a program
const MAX_DEPTH = 32; // nested ( ) and negations
const SPACE = new Set([" ", "\t", "\n", "\r", "\f", "\v"]);
const NAME_START = /^[A-Za-z_]$/;
const NAME_CHAR = /^[A-Za-z0-9_.\-/@]$/;
const OPERATORS = ["OR", "AND", "NOT"];

// A parsed query: `keeps(entry)` says whether an entry (its proto3 JSON) matches it.
export class Query {
  constructor(text, test) {
    this.text = text;
    this.test = test;
  }

  get empty() {
    return this.test === null;
  }

  keeps(entry) {
    if (this.test === null) return true;
    const seen = new Map();
    const values = (name) => {
      if (!seen.has(name)) seen.set(name, entryValues(entry, name));
      return seen.get(name);
    };
    return this.test(values);
  }
}

// The query `text` means; QueryError (with what to fix and where) when it means nothing.
export function parseQuery(text) {
  const chars = Array.from(String(text ?? ""));
  if (chars.length > MAX_QUERY) throw new QueryError("the query is longer than " + MAX_QUERY + " characters");
  const tokens = new Lexer(chars).run();
  return new Query(chars.join(""), tokens.length ? new Parser(tokens).parse() : null);
}

// Why `text` is not a query ("" when it is one): the message shown under the search box.
export function queryProblem(text) {
  try {
    parseQuery(text);
    return "";
  } catch (error) {
    if (error instanceof QueryError) return error.message;
    throw error;
  }
}

// The first word or phrase the query looks for in the message, to mark in the rows ("" if none).
export function markedTerm(text) {
  try {
    const tokens = new Lexer(Array.from(String(text ?? ""))).run();
    for (let k = 0; k < tokens.length; k++) {
      const token = tokens[k];
      const negated = k > 0 && tokens[k - 1].kind === "NOT";
      if (token.kind === "term" && !token.term.field && token.term.kind !== "regex" && !negated) {
        return token.term.value;
      }
    }
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
  }
  return "";
}

// `text` and the field terms `terms` (click-to-filter chips: "service:api", "-host.name:x")
// as one query that keeps what both keep: `text` is put in ( ) when it has an OR of its own.
export function withTerms(text, terms) {
  const own = String(text ?? "").trim();
  if (!terms.length) return own;
  if (!own) return terms.join(" ");
  let tokens;
  try {
    tokens = new Lexer(Array.from(own)).run();
  } catch (error) {
    if (error instanceof QueryError) return own; // refused as it is, terms or not
    throw error;
  }
  const grouped = tokens.some((token) => token.kind === "OR") ? "(" + own + ")" : own;
  return grouped + " " + terms.join(" ");
}

// Whether every entry `next` keeps, `prev` keeps too (so the rows loaded under `prev`,
// filtered by `next`, are all there are): `next` is `prev` with terms added (no OR, no ( ) in
// either), or with its last word longer when that word searches the message.
export function queryNarrows(prev, next) {
  let before;
  let after;
  try {
    before = new Lexer(Array.from(String(prev ?? ""))).run();
    after = new Lexer(Array.from(String(next ?? ""))).run();
  } catch (error) {
    if (error instanceof QueryError) return false;
    throw error;
  }
  if (!before.length) return true;
  const simple = (tokens) => tokens.every((token) => token.kind === "term" || token.kind === "NOT");
  if (!simple(before) || !simple(after) || after.length < before.length) return false;
  const last = before.length - 1;
  for (let k = 0; k < last; k++) {
    if (!sameToken(before[k], after[k])) return false;
  }
  return sameToken(before[last], after[last]) || longerWord(before, after, last);
}

function sameToken(a, b) {
  if (a.kind !== b.kind) return false;
  if (a.kind !== "term") return true;
  const [x, y] = [a.term, b.term];
  return x.field === y.field && x.op === y.op && x.kind === y.kind && x.value === y.value && x.flags === y.flags;
}

function longerWord(before, after, k) {
  const [x, y] = [before[k], after[k]];
  const negated = k > 0 && before[k - 1].kind === "NOT";
  const word = (token) => token.kind === "term" && !token.term.field && token.term.kind !== "regex";
  return !negated && word(x) && word(y) &&
    y.term.value.toLowerCase().includes(x.term.value.toLowerCase());
}

// Splits a query into tokens. A ( opens a group only where a term starts; a ) inside a word
// closes a group only when it is not the word's own (as in f(x)).
class Lexer {
  constructor(chars) {
    this.s = chars;
    this.i = 0;
    this.depth = 0;
    this.out = [];
  }

  run() {
    for (;;) {
      while (this.i < this.s.length && SPACE.has(this.s[this.i])) this.i += 1;
      if (this.i >= this.s.length) return this.out;
      this.token();
    }
  }

  // Whether a term ends before `at`: the end, a space, or a group's ).
  endsValue(at) {
    return at >= this.s.length || SPACE.has(this.s[at]) || (this.s[at] === ")" && this.depth > 0);
  }

  token() {
    const c = this.s[this.i];
    const at = this.i;
    if (c === "(") {
      this.depth += 1;
      this.emit({ kind: "(", at, text: "(" });
    } else if (c === ")" && this.depth) {
      this.depth -= 1;
      this.emit({ kind: ")", at, text: ")" });
    } else if (c === "-" && !this.endsValue(at + 1) && this.s[at + 1] !== ")") {
      this.emit({ kind: "NOT", at, text: "-" });
    } else {
      this.term(at);
    }
  }

  emit(token) {
    this.out.push(token);
    this.i += 1;
  }

  term(at) {
    const name = this.fieldName();
    if (name) {
      this.value(name, at);
      return;
    }
    if (this.s[at] === "\"") {
      this.add({ field: "", op: "", kind: "phrase", value: this.phrase(), flags: "", at });
      return;
    }
    const regex = this.s[at] === "/" ? this.regex() : null;
    if (regex !== null) {
      this.add({ field: "", op: "", kind: "regex", value: regex[0], flags: regex[1], at });
      return;
    }
    const word = this.word();
    if (OPERATORS.includes(word)) this.out.push({ kind: word, at, text: word });
    else this.add({ field: "", op: "", kind: "word", value: word, flags: "", at });
  }

  add(term) {
    this.out.push({ kind: "term", at: term.at, text: "", term });
  }

  // `name` of a `name:value` term at the cursor (moved past the colon), else "".
  fieldName() {
    const s = this.s;
    const start = this.i;
    if (!NAME_START.test(s[start])) return "";
    let end = start + 1;
    while (end < s.length && NAME_CHAR.test(s[end])) end += 1;
    const after = s.slice(end + 1, end + 3).join("");
    if (end >= s.length || s[end] !== ":" || after.startsWith(":") || after === "//") return "";
    this.i = end + 1;
    return s.slice(start, end).join("");
  }

  value(name, at) {
    const s = this.s;
    if (this.endsValue(this.i)) {
      throw new QueryError("nothing after \"" + name + ":\" (character " + (at + 1) + "): write " +
        name + ":value, or \"" + name + ":\" in quotes to search for the text");
    }
    if (s[this.i] === "\"") {
      this.add({ field: name, op: "", kind: "phrase", value: this.phrase(), flags: "", at });
      return;
    }
    const regex = s[this.i] === "/" ? this.regex() : null;
    if (regex !== null) {
      this.add({ field: name, op: "", kind: "regex", value: regex[0], flags: regex[1], at });
      return;
    }
    const ahead = s.slice(this.i, this.i + 2).join("");
    const op = [">=", "<=", ">", "<"].find((o) => ahead.startsWith(o)) ?? "";
    this.i += op.length;
    if (op && this.endsValue(this.i)) {
      throw new QueryError("nothing after \"" + name + ":" + op + "\" (character " + (at + 1) + ")");
    }
    this.add({ field: name, op, kind: "word", value: this.word(), flags: "", at });
  }

  // A "quoted phrase" at the cursor; \" and \\ stand for " and \.
  phrase() {
    const s = this.s;
    const start = this.i;
    this.i += 1;
    const chars = [];
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === "\\" && this.i + 1 < s.length && (s[this.i + 1] === "\"" || s[this.i + 1] === "\\")) {
        chars.push(s[this.i + 1]);
        this.i += 2;
        continue;
      }
      this.i += 1;
      if (c === "\"") return chars.join("");
      chars.push(c);
    }
    throw new QueryError("missing closing \" for the one at character " + (start + 1));
  }

  // A /regex/ or /regex/i at the cursor (moved past it), else null: a word such as
  // /api/users starts with / too.
  regex() {
    const s = this.s;
    const start = this.i;
    let end = start + 1;
    while (end < s.length && s[end] !== "/") end += s[end] === "\\" ? 2 : 1;
    if (end >= s.length || end === start + 1) return null;
    const after = end + 1;
    const flags = s[after] === "i" ? "i" : "";
    if (!this.endsValue(after + flags.length)) return null;
    this.i = after + flags.length;
    return [s.slice(start + 1, end).join(""), flags];
  }

  word() {
    const s = this.s;
    const start = this.i;
    let own = 0;
    while (this.i < s.length && !SPACE.has(s[this.i])) {
      const c = s[this.i];
      if (c === "(") own += 1;
      else if (c === ")" && own) own -= 1;
      else if (c === ")" && this.depth) break;
      this.i += 1;
    }
    return s.slice(start, this.i).join("");
  }
}

// query := or; or := and (OR and)*; and := unary ([AND] unary)*;
// unary := (- | NOT) unary | ( or ) | term
class Parser {
  constructor(tokens) {
    this.t = tokens;
    this.k = 0;
  }

  peek() {
    return this.k < this.t.length ? this.t[this.k] : null;
  }

  parse() {
    const test = this.either(0);
    const left = this.peek();
    if (left !== null) throw new QueryError("unexpected " + left.kind + " at character " + (left.at + 1));
    return test;
  }

  either(depth) {
    const tests = [this.both(depth)];
    for (let token = this.peek(); token !== null && token.kind === "OR"; token = this.peek()) {
      this.k += 1;
      this.operand(token);
      tests.push(this.both(depth));
    }
    return tests.length === 1 ? tests[0] : (values) => tests.some((test) => test(values));
  }

  both(depth) {
    const tests = [this.unary(depth)];
    for (let token = this.peek(); token !== null && token.kind !== ")" && token.kind !== "OR"; token = this.peek()) {
      if (token.kind === "AND") {
        this.k += 1;
        this.operand(token);
      }
      tests.push(this.unary(depth));
    }
    return tests.length === 1 ? tests[0] : (values) => tests.every((test) => test(values));
  }

  // Refuse an operator with nothing on its right.
  operand(operator) {
    const after = this.peek();
    if (after === null || after.kind === ")" || after.kind === "OR" || after.kind === "AND") {
      throw new QueryError("\"" + operator.text + "\" needs a term on each side (character " + (operator.at + 1) + ")");
    }
  }

  unary(depth) {
    const token = this.peek();
    if (depth >= MAX_DEPTH) throw new QueryError("more than " + MAX_DEPTH + " nested groups or negations");
    this.k += 1;
    if (token.kind === "NOT") {
      const after = this.peek();
      if (after === null || after.kind === ")" || after.kind === "OR" || after.kind === "AND") {
        throw new QueryError("nothing to negate after \"" + token.text + "\" (character " + (token.at + 1) + ")");
      }
      const inner = this.unary(depth + 1);
      return (values) => !inner(values);
    }
    if (token.kind === "(") return this.group(token, depth);
    if (token.kind === "term") return compileTerm(token.term);
    throw new QueryError("\"" + token.text + "\" needs a term on each side (character " + (token.at + 1) + ")");
  }

  group(opening, depth) {
    const after = this.peek();
    if (after !== null && after.kind === ")") throw new QueryError("empty ( ) at character " + (opening.at + 1));
    if (after === null) throw new QueryError("missing ) for the ( at character " + (opening.at + 1));
    const inner = this.either(depth + 1);
    const closing = this.peek();
    if (closing === null || closing.kind !== ")") {
      throw new QueryError("missing ) for the ( at character " + (opening.at + 1));
    }
    this.k += 1;
    return inner;
  }
}
