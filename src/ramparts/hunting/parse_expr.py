"""Scalar expressions of KQL: a precedence-climbing parser over the lexer's tokens.

`parser.py` extends this class with statements and tabular operators; expressions can hold tabular
subqueries (`in (T | project x)`, `toscalar(...)`), so the two call each other.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from ramparts.errors import KqlError
from ramparts.hunting import ast
from ramparts.hunting.lexer import TIMESPAN_UNITS, Token, error_at

STRING_OPS = frozenset(
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
        "like",
        "notcontains",
        "notcontains_cs",
        "notlike",
    }
)
LIST_OPS = frozenset({"in", "!in", "in~", "!in~", "has_any", "has_all", "!has_any", "!has_all"})
COMPARE_OPS = frozenset({"==", "!=", "<>", "<", ">", "<=", ">=", "=~", "!~"})


def parse_datetime(text: str) -> dt.datetime | None:
    raw = text.strip().strip("'\"").strip()
    if raw.lower() == "null":
        return None
    raw = raw.replace(" ", "T", 1) if re.match(r"\d{4}-\d\d-\d\d \d", raw) else raw
    raw = raw.rstrip("Zz")
    m = re.match(r"^(\d{4}-\d\d-\d\d(?:T\d\d?:\d\d(?::\d\d)?)?)(\.\d+)?", raw)
    if m is None:
        if re.fullmatch(r"\d{4}-\d\d?-\d\d?", raw):
            y, mo, d = (int(p) for p in raw.split("-"))
            return dt.datetime(y, mo, d, tzinfo=dt.UTC)
        raise ValueError(text)
    base = dt.datetime.fromisoformat(m.group(1))
    if m.group(2):
        base += dt.timedelta(microseconds=round(float(m.group(2)) * 1_000_000))
    return base.replace(tzinfo=dt.UTC)


def parse_timespan_text(text: str) -> float | None:
    """time(1.00:00:00), time(2h), time(null): seconds."""
    raw = text.strip()
    if raw.lower() == "null":
        return None
    m = re.fullmatch(r"(-)?(?:(\d+)\.)?(\d+):(\d\d)(?::(\d\d(?:\.\d+)?))?", raw)
    if m:
        sign = -1 if m.group(1) else 1
        days, hours, minutes = int(m.group(2) or 0), int(m.group(3)), int(m.group(4))
        seconds = float(m.group(5) or 0)
        return sign * (days * 86_400 + hours * 3_600 + minutes * 60 + seconds)
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*([A-Za-z]*)", raw)
    if m:
        unit = m.group(2).lower() or "d"
        if unit in TIMESPAN_UNITS:
            return float(m.group(1)) * TIMESPAN_UNITS[unit]
    raise ValueError(text)


class ExprParser:
    text: str
    tokens: list[Token]
    i: int

    # ------------------------------------------------------------ token helpers

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != "eof":
            self.i += 1
        return token

    def error(self, message: str, token: Token | None = None) -> KqlError:
        token = token or self.tok
        return error_at(self.text, token.offset, message)

    def expect_op(self, value: str) -> Token:
        if not self.tok.is_op(value):
            found = self.tok.value or "end of query"
            raise self.error(f"expected '{value}' but found '{found}'")
        return self.next()

    def accept_op(self, value: str) -> bool:
        if self.tok.is_op(value):
            self.next()
            return True
        return False

    def accept_word(self, *values: str) -> bool:
        if self.tok.is_word(*values):
            self.next()
            return True
        return False

    def expect_ident(self, what: str = "a name") -> Token:
        if self.tok.kind != "ident":
            raise self.error(f"expected {what} but found '{self.tok.value or 'end of query'}'")
        return self.next()

    def parse_tabular_tail(self, source: ast.Source, pos: int) -> ast.Tabular:
        raise NotImplementedError

    def parse_source_keyword(self) -> ast.Source | None:
        raise NotImplementedError

    # ------------------------------------------------------------ expressions

    def parse_expr_or_tabular(self) -> ast.Expr | ast.Tabular:
        """An expression; a following `|` makes it the source of a tabular expression."""
        start = self.tok
        source = self.parse_source_keyword()
        if source is not None:
            return self.parse_tabular_tail(source, start.offset)
        expr = self.parse_expr()
        if self.tok.is_op("|"):
            return self.parse_tabular_tail(self.as_source(expr), start.offset)
        return expr

    def as_source(self, expr: ast.Expr) -> ast.Source:
        if isinstance(expr, ast.Name):
            return ast.TableRef(expr.pos, expr.name)
        if isinstance(expr, ast.Call):
            return ast.FuncSource(expr.pos, expr)
        if isinstance(expr, ast.TabularExpr):
            return ast.Nested(expr.pos, expr.query)
        raise error_at(self.text, expr.pos, "expected a table, a tabular expression or a function call")

    def parse_expr(self) -> ast.Expr:
        return self.parse_or()

    def parse_or(self) -> ast.Expr:
        left = self.parse_and()
        while self.tok.is_word("or"):
            tok = self.next()
            left = ast.Binary(tok.offset, "or", left, self.parse_and())
        return left

    def parse_and(self) -> ast.Expr:
        left = self.parse_compare()
        while self.tok.is_word("and"):
            tok = self.next()
            left = ast.Binary(tok.offset, "and", left, self.parse_compare())
        return left

    def _compare_op(self) -> str | None:
        tok = self.tok
        if tok.kind == "op" and (tok.value in COMPARE_OPS or (tok.value.startswith("!") and len(tok.value) > 2)):
            return tok.value
        if tok.kind == "ident":
            word = tok.value
            if word in STRING_OPS or word in ("in", "has_any", "has_all", "between", "matches"):
                if word == "in" and self.peek().is_op("~"):
                    return "in~"
                return word
        return None

    def parse_compare(self) -> ast.Expr:
        left = self.parse_additive()
        while True:
            op = self._compare_op()
            if op is None:
                return left
            tok = self.next()
            if op == "in~":
                self.next()
            if op == "matches":
                if not self.accept_word("regex"):
                    raise self.error("expected 'regex' after 'matches'")
                left = ast.Binary(tok.offset, "matches regex", left, self.parse_additive())
            elif op in LIST_OPS:
                left = ast.InList(tok.offset, op, left, self.parse_list())
            elif op in ("between", "!between"):
                self.expect_op("(")
                low = self.parse_additive()
                self.expect_op("..")
                high = self.parse_additive()
                self.expect_op(")")
                left = ast.Between(tok.offset, op == "!between", left, low, high)
            else:
                left = ast.Binary(tok.offset, "!=" if op == "<>" else op, left, self.parse_additive())

    def parse_list(self) -> list[ast.Expr]:
        self.expect_op("(")
        items: list[ast.Expr] = []
        if not self.tok.is_op(")"):
            while True:
                item = self.parse_expr_or_tabular()
                items.append(ast.TabularExpr(item.pos, item) if isinstance(item, ast.Tabular) else item)
                if not self.accept_op(","):
                    break
        self.expect_op(")")
        return items

    def parse_additive(self) -> ast.Expr:
        left = self.parse_multiplicative()
        while self.tok.is_op("+", "-"):
            tok = self.next()
            left = ast.Binary(tok.offset, tok.value, left, self.parse_multiplicative())
        return left

    def parse_multiplicative(self) -> ast.Expr:
        left = self.parse_unary()
        while self.tok.is_op("*", "/", "%"):
            tok = self.next()
            left = ast.Binary(tok.offset, tok.value, left, self.parse_unary())
        return left

    def parse_unary(self) -> ast.Expr:
        if self.tok.is_op("-", "+"):
            tok = self.next()
            operand = self.parse_unary()
            if tok.value == "+":
                return operand
            if isinstance(operand, ast.Literal) and operand.kind in ("long", "real", "timespan"):
                assert isinstance(operand.value, int | float)
                return ast.Literal(tok.offset, operand.kind, -operand.value)
            return ast.Unary(tok.offset, "-", operand)
        return self.parse_postfix()

    def parse_postfix(self) -> ast.Expr:
        expr = self.parse_primary()
        while True:
            if self.tok.is_op("."):
                self.next()
                name = self.tok
                if name.kind not in ("ident", "string"):
                    raise self.error("expected a property name after '.'")
                self.next()
                expr = ast.Member(name.offset, expr, name.value)
            elif self.tok.is_op("["):
                tok = self.next()
                index = self.parse_expr()
                self.expect_op("]")
                expr = ast.Index(tok.offset, expr, index)
            else:
                return expr

    def parse_primary(self) -> ast.Expr:
        tok = self.tok
        if tok.kind == "string":
            self.next()
            value = tok.value
            while self.tok.kind == "string":  # adjacent literals concatenate
                value += self.next().value
            return ast.Literal(tok.offset, "string", value)
        if tok.kind == "number":
            self.next()
            is_real = any(c in tok.value for c in ".eE") and not tok.value.lower().startswith("0x")
            assert tok.number is not None
            return ast.Literal(tok.offset, "real" if is_real else "long", tok.number if is_real else int(tok.number))
        if tok.kind == "timespan":
            self.next()
            return ast.Literal(tok.offset, "timespan", tok.number)
        if tok.is_op("("):
            self.next()
            inner = self.parse_expr_or_tabular()
            self.expect_op(")")
            if isinstance(inner, ast.Tabular):
                return ast.TabularExpr(tok.offset, inner)
            return inner
        if tok.is_op("*"):
            self.next()
            return ast.Star(tok.offset)
        if tok.is_op("[") and self.peek().kind == "string" and self.peek(2).is_op("]"):
            self.next()
            name = self.next()
            self.next()
            return ast.Name(tok.offset, name.value)
        if tok.kind == "ident":
            return self.parse_ident_expr()
        raise self.error(f"expected an expression but found '{tok.value or 'end of query'}'")

    def parse_ident_expr(self) -> ast.Expr:
        tok = self.next()
        word = tok.value
        lower = word.lower()
        if lower in ("true", "false") and not self.tok.is_op("("):
            return ast.Literal(tok.offset, "bool", lower == "true")
        if lower == "null" and not self.tok.is_op("("):
            return ast.Literal(tok.offset, "null", None)
        if not self.tok.is_op("("):
            return ast.Name(tok.offset, word)
        if lower in ("datetime", "time", "timespan", "guid", "typeof") and self.peek().kind == "raw":
            self.next()
            raw = self.next()
            self.expect_op(")")
            try:
                if lower == "datetime":
                    return ast.Literal(tok.offset, "datetime", parse_datetime(raw.value))
                if lower in ("time", "timespan"):
                    return ast.Literal(tok.offset, "timespan", parse_timespan_text(raw.value))
            except ValueError:
                raise self.error(f"invalid {lower} literal '{raw.value}'", raw) from None
            return ast.Literal(tok.offset, "guid" if lower == "guid" else "type", raw.value)
        if lower == "dynamic":
            self.next()
            value = self.parse_json_value()
            self.expect_op(")")
            return ast.DynamicLit(tok.offset, value)
        self.next()
        args: list[ast.Expr] = []
        named: dict[str, ast.Expr] = {}
        if not self.tok.is_op(")"):
            while True:
                if self.tok.kind == "ident" and self.peek().is_op("=") and not self.peek(2).is_op("="):
                    name = self.next().value
                    self.next()
                    named[name] = self.parse_expr()
                else:
                    item = self.parse_expr_or_tabular()
                    args.append(ast.TabularExpr(item.pos, item) if isinstance(item, ast.Tabular) else item)
                if not self.accept_op(","):
                    break
        self.expect_op(")")
        return ast.Call(tok.offset, word, args, named)

    def parse_json_value(self) -> object:
        tok = self.tok
        if tok.is_op("["):
            self.next()
            items: list[object] = []
            while not self.tok.is_op("]"):
                items.append(self.parse_json_value())
                if not self.accept_op(","):
                    break
            self.expect_op("]")
            return items
        if tok.is_op("{"):
            self.next()
            obj: dict[str, object] = {}
            while not self.tok.is_op("}"):
                key = self.next()
                if key.kind not in ("string", "ident"):
                    raise self.error("expected a property name", key)
                self.expect_op(":")
                obj[key.value] = self.parse_json_value()
                if not self.accept_op(","):
                    break
            self.expect_op("}")
            return obj
        if tok.is_op("-") and self.peek().kind == "number":
            self.next()
            value = self.parse_json_value()
            assert isinstance(value, int | float)
            return -value
        if tok.kind == "string":
            self.next()
            return tok.value
        if tok.kind == "number":
            self.next()
            assert tok.number is not None
            return tok.number if any(c in tok.value for c in ".eE") else int(tok.number)
        if tok.kind == "ident" and tok.value in ("true", "false", "null"):
            self.next()
            return json.loads(tok.value)
        if tok.kind == "ident" and tok.value == "datetime":
            expr = self.parse_ident_expr()
            assert isinstance(expr, ast.Literal)
            return expr.value.isoformat().replace("+00:00", "Z") if isinstance(expr.value, dt.datetime) else None
        raise self.error("expected a JSON value in dynamic(...)")
