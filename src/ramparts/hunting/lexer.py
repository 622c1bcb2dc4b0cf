"""KQL text -> tokens, each with its line and column (1-based)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ramparts.errors import KqlError

TokenKind = Literal["ident", "string", "number", "timespan", "op", "raw", "eof"]

# Operators whose names contain a hyphen are read as one identifier token.
HYPHENATED = frozenset(
    {
        "project-away",
        "project-rename",
        "project-reorder",
        "project-keep",
        "mv-expand",
        "mv-apply",
        "make-series",
        "top-nested",
        "top-hitters",
        "parse-where",
        "parse-kv",
        "project-smart",
    }
)

# Identifiers after `!` that form one negated operator token (`!has`, `!in~`, ...).
NEGATABLE = frozenset(
    {
        "has",
        "has_cs",
        "hasprefix",
        "hasprefix_cs",
        "hassuffix",
        "hassuffix_cs",
        "contains",
        "contains_cs",
        "startswith",
        "startswith_cs",
        "endswith",
        "endswith_cs",
        "in",
        "between",
        "has_all",
        "has_any",
    }
)

# Functions whose argument is raw text, not an expression: datetime(2024-01-01 10:00).
RAW_ARG_FUNCS = frozenset({"datetime", "time", "timespan", "guid", "typeof"})

TIMESPAN_UNITS: dict[str, float] = {
    "d": 86_400,
    "day": 86_400,
    "days": 86_400,
    "h": 3_600,
    "hr": 3_600,
    "hrs": 3_600,
    "hour": 3_600,
    "hours": 3_600,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "ms": 0.001,
    "milli": 0.001,
    "millis": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "microsecond": 0.000_001,
    "microseconds": 0.000_001,
    "tick": 0.000_000_1,
    "ticks": 0.000_000_1,
}

_SYMBOLS = (
    "!between",
    "!~",
    "!=",
    "==",
    "=~",
    "<>",
    "<=",
    ">=",
    "..",
    "=>",
    "|",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    "=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    ".",
    "!",
    "~",
    "?",
)

_NUMBER = re.compile(r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
# the symbols that start with each character, in _SYMBOLS order (longest match first)
_SYMBOLS_BY_FIRST: dict[str, tuple[str, ...]] = {
    first: tuple(s for s in _SYMBOLS if s[0] == first) for first in {s[0] for s in _SYMBOLS}
}
_SPACE = re.compile(r"\s+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_UNIT = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    value: str
    line: int
    column: int
    offset: int
    number: float | None = None  # value of a number; seconds of a timespan

    def is_op(self, *values: str) -> bool:
        return self.kind == "op" and self.value in values

    def is_word(self, *values: str) -> bool:
        return self.kind == "ident" and self.value in values


class Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.tokens: list[Token] = []

    def error(self, message: str, offset: int | None = None) -> KqlError:
        return error_at(self.text, self.pos if offset is None else offset, message)

    def _advance(self, count: int) -> None:
        start, end = self.pos, self.pos + count
        newlines = self.text.count("\n", start, end)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", start, end) + 1
        self.pos = end

    def _emit(self, kind: TokenKind, value: str, start: int, number: float | None = None) -> None:
        if start == self.pos:
            line, column = self.line, start - self.line_start + 1
        else:
            line, column = position(self.text, start)
        self.tokens.append(Token(kind, value, line, column, start, number))

    def run(self) -> list[Token]:
        text = self.text
        while True:
            self._skip_space()
            if self.pos >= len(text):
                self._emit("eof", "", self.pos)
                return self.tokens
            start = self.pos
            ch = text[start]
            if ch in "'\"" or (ch in "@hH" and text[start + 1 : start + 2] in ("'", '"')):
                self._string()
            elif text.startswith("```", start):
                end = text.find("```", start + 3)
                if end < 0:
                    raise self.error("unterminated ``` string")
                self._emit("string", text[start + 3 : end], start)
                self._advance(end + 3 - start)
            elif ch.isdigit() or (ch == "." and text[start + 1 : start + 2].isdigit()):
                self._number()
            elif ch.isalpha() or ch in "_$":
                self._ident()
            else:
                for symbol in _SYMBOLS_BY_FIRST.get(ch, ()):
                    if text.startswith(symbol, start):
                        if symbol == "!" and self._negated_op():
                            break
                        self._emit("op", symbol, start)
                        self._advance(len(symbol))
                        break
                else:
                    raise self.error(f"unexpected character {ch!r}")

    def _skip_space(self) -> None:
        text = self.text
        while self.pos < len(text):
            if text[self.pos].isspace():
                space = _SPACE.match(text, self.pos)
                assert space is not None
                self._advance(space.end() - self.pos)
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self._advance((len(text) if end < 0 else end) - self.pos)
            else:
                return

    def _string(self) -> None:
        text, start = self.text, self.pos
        verbatim = text[start] in "@"
        i = start + (1 if text[start] in "@hH" else 0)
        quote = text[i]
        i += 1
        out: list[str] = []
        while True:
            if i >= len(text) or (text[i] == "\n" and not verbatim):
                raise self.error("unterminated string literal", start)
            ch = text[i]
            if ch == "\\" and not verbatim:
                nxt = text[i + 1 : i + 2]
                out.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(nxt, nxt))
                i += 2
                continue
            if ch == quote:
                if verbatim and text[i + 1 : i + 2] == quote:
                    out.append(quote)
                    i += 2
                    continue
                i += 1
                break
            out.append(ch)
            i += 1
        self._emit("string", "".join(out), start)
        self._advance(i - start)

    def _number(self) -> None:
        text, start = self.text, self.pos
        hexm = _HEX.match(text, start)
        if hexm:
            self._emit("number", hexm.group(), start, float(int(hexm.group(), 16)))
            self._advance(hexm.end() - start)
            return
        match = _NUMBER.match(text, start)
        assert match is not None
        end = match.end()
        unit = _UNIT.match(text, end)
        if unit and unit.group().lower() in TIMESPAN_UNITS:
            seconds = float(match.group()) * TIMESPAN_UNITS[unit.group().lower()]
            self._emit("timespan", text[start : unit.end()], start, seconds)
            self._advance(unit.end() - start)
            return
        if unit:
            raise self.error(f"unknown number suffix {unit.group()!r}", end)
        self._emit("number", match.group(), start, float(match.group()))
        self._advance(end - start)

    def _bracket_ident(self) -> bool:
        """`['Column name']` is an identifier."""
        text, start = self.text, self.pos
        quote = text[start + 1]
        end = text.find(quote + "]", start + 2)
        if end < 0:
            return False
        self._emit("ident", text[start + 2 : end], start)
        self._advance(end + 2 - start)
        return True

    def _ident(self) -> None:
        text, start = self.text, self.pos
        match = _IDENT.match(text, start)
        assert match is not None
        end = match.end()
        word = match.group()
        # hyphenated operator names: project-away, mv-expand, ...
        while text[end : end + 1] == "-":
            nxt = _IDENT.match(text, end + 1)
            if nxt is None or (
                f"{word}-{nxt.group()}".lower() not in HYPHENATED
                and not any(h.startswith(f"{word}-{nxt.group()}-".lower()) for h in HYPHENATED)
            ):
                break
            word = f"{word}-{nxt.group()}"
            end = nxt.end()
        self._emit("ident", word, start)
        self._advance(end - start)
        if word.lower() in RAW_ARG_FUNCS:
            self._raw_arg()

    def _raw_arg(self) -> None:
        """After datetime/time/timespan/guid/typeof: `( raw text )` becomes one raw token."""
        self._skip_space()
        if self.text[self.pos : self.pos + 1] != "(":
            return
        start = self.pos
        end = self.text.find(")", start)
        if end < 0:
            raise self.error("missing ')'")
        self._emit("op", "(", start)
        self._emit("raw", self.text[start + 1 : end].strip(), start + 1)
        self._emit("op", ")", end)
        self._advance(end + 1 - start)

    def _negated_op(self) -> bool:
        match = _IDENT.match(self.text, self.pos + 1)
        if match is None or match.group().lower() not in NEGATABLE:
            return False
        end = match.end()
        word = "!" + match.group()
        if word == "!in" and self.text[end : end + 1] == "~":
            word, end = "!in~", end + 1
        self._emit("op", word, self.pos)
        self._advance(end - self.pos)
        return True


def position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def snippet_at(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : len(text) if end < 0 else end]


def error_at(text: str, offset: int, message: str) -> KqlError:
    line, column = position(text, offset)
    return KqlError(message, line, column, snippet_at(text, offset))


def tokenize(text: str) -> list[Token]:
    return Lexer(text).run()
