"""The live page's search language, evaluated by the server on what a subscription receives.

    timeout                    the message holds "timeout", in any case
    "connection reset"         the message holds the phrase
    a b, a AND b               both; a OR b either; AND binds first; ( ) group
    -health, NOT health        not
    service:checkout           a field: service, level, pattern, body, trace_id, span_id,
    level:>=warn                 scope, or any attribute (record, then resource):
    http.status_code:>=500       equal (any case; numbers as numbers), > >= < <= on numbers
    host.name:web-*              and levels, * for any run of characters, field:* for "has it"
    /time(d|out)/i, path:/^\\/api/   regexes (RE2's syntax, run in linear time)

The page parses the same language (viewer/static/js/query.js) to filter what it has loaded
and to refuse a bad query as the server would, with the same message: the two are kept in
step by a test that runs both on generated queries and entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.model import Entry
from viewer.query_match import QueryError, Term, Test, compile_term, entry_values

__all__ = ["MAX_QUERY", "Query", "QueryError", "parse"]

MAX_QUERY = 1000  # characters: a search, not a program
MAX_DEPTH = 32  # nested ( ) and negations
SPACE = frozenset(" \t\n\r\f\v")
NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
NAME_CHARS = NAME_START | frozenset("0123456789.-/@")
OPERATORS = ("OR", "AND", "NOT")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "(", ")", "OR", "AND", "NOT" or "term"
    at: int
    text: str = ""
    term: Term | None = None


class Query:
    """A parsed query: `keeps(entry)` says whether the entry matches it."""

    def __init__(self, text: str, test: Test | None) -> None:
        self.text = text
        self._test = test

    @property
    def empty(self) -> bool:
        return self._test is None

    def keeps(self, entry: Entry) -> bool:
        if self._test is None:
            return True
        seen: dict[str, list[str]] = {}

        def values(name: str) -> list[str]:
            if name not in seen:
                seen[name] = entry_values(entry, name)
            return seen[name]

        return self._test(values)


def parse(text: str) -> Query:
    """The query `text` means; QueryError (with what to fix and where) when it means nothing."""
    if len(text) > MAX_QUERY:
        raise QueryError(f"the query is longer than {MAX_QUERY} characters")
    tokens = _Lexer(text).run()
    return Query(text, _Parser(tokens).parse() if tokens else None)


class _Lexer:
    """Splits a query into tokens. A ( opens a group only where a term starts; a ) inside a
    word closes a group only when it is not the word's own (as in f(x))."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.depth = 0
        self.out: list[Token] = []

    def run(self) -> list[Token]:
        while True:
            while self.i < len(self.s) and self.s[self.i] in SPACE:
                self.i += 1
            if self.i >= len(self.s):
                return self.out
            self.token()

    def ends_value(self, at: int) -> bool:
        """Whether a term ends before `at`: the end, a space, or a group's )."""
        return at >= len(self.s) or self.s[at] in SPACE or (self.s[at] == ")" and self.depth > 0)

    def token(self) -> None:
        char, at = self.s[self.i], self.i
        if char == "(":
            self.depth += 1
            self.emit(Token("(", at, "("))
        elif char == ")" and self.depth:
            self.depth -= 1
            self.emit(Token(")", at, ")"))
        elif char == "-" and not self.ends_value(at + 1) and self.s[at + 1] != ")":
            self.emit(Token("NOT", at, "-"))
        else:
            self.term(at)

    def emit(self, token: Token) -> None:
        self.out.append(token)
        self.i += 1

    def term(self, at: int) -> None:
        name = self.field_name()
        if name:
            self.value(name, at)
            return
        if self.s[at] == '"':
            self.add(Term("", "", "phrase", self.phrase(), "", at))
            return
        regex = self.regex() if self.s[at] == "/" else None
        if regex is not None:
            self.add(Term("", "", "regex", regex[0], regex[1], at))
            return
        word = self.word()
        if word in OPERATORS:
            self.out.append(Token(word, at, word))
        else:
            self.add(Term("", "", "word", word, "", at))

    def add(self, term: Term) -> None:
        self.out.append(Token("term", term.at, term=term))

    def field_name(self) -> str:
        """`name` of a `name:value` term at the cursor (moved past the colon), else ""."""
        s, start = self.s, self.i
        if s[start] not in NAME_START:
            return ""
        end = start + 1
        while end < len(s) and s[end] in NAME_CHARS:
            end += 1
        after = s[end + 1 : end + 3]
        if end >= len(s) or s[end] != ":" or after.startswith(":") or after == "//":
            return ""  # not a field: a word (a URL, an IPv6 address...)
        self.i = end + 1
        return s[start:end]

    def value(self, name: str, at: int) -> None:
        s = self.s
        if self.ends_value(self.i):
            raise QueryError(
                f'nothing after "{name}:" (character {at + 1}): write {name}:value, '
                f'or "{name}:" in quotes to search for the text'
            )
        if s[self.i] == '"':
            self.add(Term(name, "", "phrase", self.phrase(), "", at))
            return
        regex = self.regex() if s[self.i] == "/" else None
        if regex is not None:
            self.add(Term(name, "", "regex", regex[0], regex[1], at))
            return
        op = next((o for o in (">=", "<=", ">", "<") if s.startswith(o, self.i)), "")
        self.i += len(op)
        if op and self.ends_value(self.i):
            raise QueryError(f'nothing after "{name}:{op}" (character {at + 1})')
        self.add(Term(name, op, "word", self.word(), "", at))

    def phrase(self) -> str:
        """A "quoted phrase" at the cursor; \\" and \\\\ stand for " and \\."""
        s, start = self.s, self.i
        self.i += 1
        chars: list[str] = []
        while self.i < len(s):
            char = s[self.i]
            if char == "\\" and self.i + 1 < len(s) and s[self.i + 1] in '"\\':
                chars.append(s[self.i + 1])
                self.i += 2
                continue
            self.i += 1
            if char == '"':
                return "".join(chars)
            chars.append(char)
        raise QueryError(f'missing closing " for the one at character {start + 1}')

    def regex(self) -> tuple[str, str] | None:
        """A /regex/ or /regex/i at the cursor (moved past it), else None: a word such as
        /api/users starts with / too."""
        s, start = self.s, self.i
        end = start + 1
        while end < len(s) and s[end] != "/":
            end += 2 if s[end] == "\\" else 1
        if end >= len(s) or end == start + 1:
            return None
        after = end + 1
        flags = "i" if s[after : after + 1] == "i" else ""
        if not self.ends_value(after + len(flags)):
            return None
        self.i = after + len(flags)
        return s[start + 1 : end], flags

    def word(self) -> str:
        s, start, own = self.s, self.i, 0
        while self.i < len(s) and s[self.i] not in SPACE:
            char = s[self.i]
            if char == "(":
                own += 1
            elif char == ")" and own:
                own -= 1
            elif char == ")" and self.depth:
                break
            self.i += 1
        return s[start : self.i]


class _Parser:
    """query := or; or := and (OR and)*; and := unary ([AND] unary)*;
    unary := (- | NOT) unary | ( or ) | term"""

    def __init__(self, tokens: list[Token]) -> None:
        self.t = tokens
        self.k = 0

    def peek(self) -> Token | None:
        return self.t[self.k] if self.k < len(self.t) else None

    def parse(self) -> Test:
        test = self.either(0)
        left = self.peek()
        if left is not None:  # the lexer pairs every ) with a (: not expected
            raise QueryError(f"unexpected {left.kind} at character {left.at + 1}")
        return test

    def either(self, depth: int) -> Test:
        tests = [self.both(depth)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.k += 1
            self.operand(token)
            tests.append(self.both(depth))
        return tests[0] if len(tests) == 1 else _any_of(tests)

    def both(self, depth: int) -> Test:
        tests = [self.unary(depth)]
        while (token := self.peek()) is not None and token.kind not in (")", "OR"):
            if token.kind == "AND":
                self.k += 1
                self.operand(token)
            tests.append(self.unary(depth))
        return tests[0] if len(tests) == 1 else _all_of(tests)

    def operand(self, operator: Token) -> None:
        """Refuse an operator with nothing on its right."""
        after = self.peek()
        if after is None or after.kind in (")", "OR", "AND"):
            raise QueryError(
                f'"{operator.text}" needs a term on each side (character {operator.at + 1})'
            )

    def unary(self, depth: int) -> Test:
        token = self.peek()
        assert token is not None  # callers look first
        if depth >= MAX_DEPTH:
            raise QueryError(f"more than {MAX_DEPTH} nested groups or negations")
        self.k += 1
        if token.kind == "NOT":
            after = self.peek()
            if after is None or after.kind in (")", "OR", "AND"):
                raise QueryError(
                    f'nothing to negate after "{token.text}" (character {token.at + 1})'
                )
            inner = self.unary(depth + 1)
            return lambda values: not inner(values)
        if token.kind == "(":
            return self.group(token, depth)
        if token.kind == "term" and token.term is not None:
            return compile_term(token.term)
        raise QueryError(f'"{token.text}" needs a term on each side (character {token.at + 1})')

    def group(self, opening: Token, depth: int) -> Test:
        after = self.peek()
        if after is not None and after.kind == ")":
            raise QueryError(f"empty ( ) at character {opening.at + 1}")
        if after is None:
            raise QueryError(f"missing ) for the ( at character {opening.at + 1}")
        inner = self.either(depth + 1)
        closing = self.peek()
        if closing is None or closing.kind != ")":
            raise QueryError(f"missing ) for the ( at character {opening.at + 1}")
        self.k += 1
        return inner


def _all_of(tests: list[Test]) -> Test:
    return lambda values: all(test(values) for test in tests)


def _any_of(tests: list[Test]) -> Test:
    return lambda values: any(test(values) for test in tests)
