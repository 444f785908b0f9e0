"""The regular expressions of the live page's search: a subset of RE2's syntax, run by RE2.

RE2 matches in time linear in the text, whatever the pattern, so a query such as /(a+)+$/
cannot stall the server (a backtracking engine takes exponential time on it). The subset is
checked here before RE2 sees it, with the same rules and messages as the page's own matcher
(viewer/static/js/query-regex.js), which must give the same answer on every text: what is
outside it (backreferences, lookaround, inline flags, Unicode classes...) is refused with a
message, never left to differ between the two engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import re2

MAX_GROUP_DEPTH = 20  # nested ( ): a person's regex, and a bound on the checker's recursion
MAX_REPEAT = 1000  # RE2's own ceiling for {n,m}
MAX_SIZE = 1000  # the expanded regex (see `size`): the page's matcher stays fast
ESCAPED_CLASSES = "dDwWsS"
ESCAPED_CONTROLS = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v"}


class RegexError(ValueError):
    """A regex outside the subset; the message is the one the page shows too."""


@dataclass(slots=True)
class Node:
    """One node of a parsed regex: its kind and what its size depends on."""

    kind: str  # char, any, class, assert, concat, alt, group, repeat
    items: list[Node] = field(default_factory=list)
    low: int = 0  # repeat: {low,high}; high -1 for no upper bound
    high: int = 0


def size(node: Node) -> int:
    """The regex's size once repetitions are spelt out, as the page's matcher compiles it:
    bounded, so that no accepted regex makes the page slow."""
    if node.kind in ("concat", "group"):
        return sum(size(item) for item in node.items)
    if node.kind == "alt":
        return sum(size(item) for item in node.items) + len(node.items) - 1
    if node.kind == "repeat":
        copies = node.high if node.high >= 0 else node.low + 1
        return size(node.items[0]) * max(copies, 1) + 1
    return 1


def check(body: str) -> Node:
    """The parsed regex; RegexError when it is outside the subset or too large."""
    parsed = _Parser(body).parse()
    if size(parsed) > MAX_SIZE:
        raise RegexError("this regex is too large once its repetitions are spelt out")
    return parsed


def compile_regex(body: str, ignore_case: bool) -> Any:
    """An RE2 regex of `body` (checked first): its `search` runs in linear time."""
    check(body)
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False
    try:
        return re2.compile(body, options)
    except re2.error as exc:  # the subset is RE2's: not expected, but said if it happens
        raise RegexError(f"RE2 refused it: {exc}") from None


def _is_punctuation(char: str) -> bool:
    """ASCII punctuation and space: `\\` before one of them means the character itself."""
    return char == " " or ("!" <= char <= "~" and not char.isalnum())


class _Parser:
    """Recursive descent over the pattern's characters; positions are 1-based in messages."""

    def __init__(self, body: str) -> None:
        self.s = body
        self.i = 0

    def fail(self, text: str, at: int) -> RegexError:
        return RegexError(f"{text} at character {at + 1} of the regex")

    def peek(self, ahead: int = 0) -> str:
        at = self.i + ahead
        return self.s[at] if at < len(self.s) else ""

    def parse(self) -> Node:
        node = self.alternation(0)
        if self.i < len(self.s):
            raise self.fail("unmatched )", self.i)
        return node

    def alternation(self, depth: int) -> Node:
        branches = [self.concatenation(depth)]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.concatenation(depth))
        return branches[0] if len(branches) == 1 else Node("alt", branches)

    def concatenation(self, depth: int) -> Node:
        items: list[Node] = []
        while self.i < len(self.s) and self.peek() not in "|)":
            items.append(self.quantified(self.atom(depth)))
        return Node("concat", items)

    def atom(self, depth: int) -> Node:
        char, at = self.peek(), self.i
        self.i += 1
        if char == "(":
            return self.group(depth, at)
        if char == "[":
            return self.char_class(at)
        if char == "\\":
            return self.escape(at)
        if char in "*+?":
            raise self.fail("nothing to repeat", at)
        if char == "{":
            raise self.fail("a { that repeats nothing (write \\{ for the character)", at)
        if char in "^$":
            return Node("assert")
        return Node("any" if char == "." else "char")

    def group(self, depth: int, at: int) -> Node:
        if depth >= MAX_GROUP_DEPTH:
            raise self.fail(f"more than {MAX_GROUP_DEPTH} nested groups", at)
        if self.peek() == "?":
            self.group_kind(at)
        inner = self.alternation(depth + 1)
        if self.peek() != ")":
            raise self.fail("missing ) for the (", at)
        self.i += 1
        return Node("group", [inner])

    def group_kind(self, at: int) -> None:
        after = self.peek(1)
        if after == ":":
            self.i += 2
            return
        if after in ("=", "!") or (after == "<" and self.peek(2) in ("=", "!")):
            raise self.fail("lookaround is not supported (it needs backtracking)", at)
        raise self.fail("only ( ) and (?: ) groups are supported (for case, write /…/i)", at)

    def quantified(self, atom: Node) -> Node:
        at = self.i
        bounds = self.quantifier()
        if bounds is None:
            return atom
        if atom.kind == "assert":
            raise self.fail("nothing to repeat", at)
        if self.peek() == "?":
            self.i += 1  # lazy: the same matches for a yes-or-no search
        if self.peek() in ("*", "+", "?") or (self.peek() == "{" and self.repeat_ahead()):
            raise self.fail("a quantifier after a quantifier", self.i)
        return Node("repeat", [atom], bounds[0], bounds[1])

    def quantifier(self) -> tuple[int, int] | None:
        char = self.peek()
        simple = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}
        if char in simple:
            self.i += 1
            return simple[char]
        if char == "{":
            found = self.repeat_ahead()
            if found is None:
                raise self.fail("a { that repeats nothing (write \\{ for the character)", self.i)
            low, high, length = found
            if max(low, high) > MAX_REPEAT:
                raise self.fail(f"a repetition over {MAX_REPEAT}", self.i)
            if 0 <= high < low:
                raise self.fail(
                    f"a repetition {{{low},{high}}} whose maximum is below its minimum", self.i
                )
            self.i += length
            return low, high
        return None

    def repeat_ahead(self) -> tuple[int, int, int] | None:
        """{n}, {n,} or {n,m} at the cursor: (n, m or -1, its length), else None."""
        end = self.s.find("}", self.i)
        if end < 0:
            return None
        inside = self.s[self.i + 1 : end]
        low, comma, high = inside.partition(",")
        if not _digits(low) or (high and not _digits(high)):
            return None
        top = int(high) if high else (-1 if comma else int(low))
        return int(low), top, end - self.i + 1

    def escape(self, at: int) -> Node:
        char = self.peek()
        self.i += 1
        if char == "b":
            return Node("assert")
        if char == "B":  # RE2 also finds it inside a character's UTF-8 bytes: the page cannot
            raise self.fail("\\B is not supported (write \\b or a class)", at)
        if char and char in ESCAPED_CLASSES:
            return Node("class")
        self.escaped_char(char, at)
        return Node("char")

    def escaped_char(self, char: str, at: int) -> str:
        """The character `\\char` stands for, or RegexError."""
        if char == "":
            raise self.fail("a \\ at the end", at)
        if char in ESCAPED_CONTROLS:
            return ESCAPED_CONTROLS[char]
        if "0" <= char <= "9":
            raise self.fail("backreferences are not supported (they need backtracking)", at)
        if _is_punctuation(char):
            return char
        raise self.fail(f"\\{char} is not supported", at)

    def char_class(self, at: int) -> Node:
        if self.peek() == "^":
            self.i += 1
        first = True
        while True:
            char = self.peek()
            if char == "":
                raise self.fail("missing ] for the [", at)
            if char == "]":
                if first:
                    raise self.fail("an empty [ ] (write \\] for the character)", self.i)
                self.i += 1
                return Node("class")
            if char == "[":
                raise self.fail("a [ inside [ ] (write \\[ for the character)", self.i)
            self.class_item()
            first = False

    def class_item(self) -> None:
        start = self.i
        low = self.class_atom()
        if self.peek() == "-" and self.peek(1) not in ("]", ""):
            self.i += 1
            high = self.class_atom()
            if low is None or high is None or ord(low) > ord(high):
                raise self.fail("a bad range in [ ]", start)

    def class_atom(self) -> str | None:
        """The character at the cursor inside [ ]; None for \\d, \\w, \\s and their negations."""
        char, at = self.peek(), self.i
        self.i += 1
        if char != "\\":
            return char
        escaped = self.peek()
        self.i += 1
        if escaped and escaped in ESCAPED_CLASSES:
            return None
        if escaped == "b":
            raise self.fail("\\b inside [ ] is not supported", at)
        return self.escaped_char(escaped, at)


def _digits(text: str) -> bool:
    return 0 < len(text) <= 4 and all("0" <= c <= "9" for c in text)
