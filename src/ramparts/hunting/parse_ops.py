"""Parsing of the tabular operators with the longest grammars: mv-expand, parse, make-series and
evaluate (the rest are in parser.py)."""

from __future__ import annotations

from ramparts.hunting import ast
from ramparts.hunting.parse_expr import ExprParser


class OperatorParser(ExprParser):
    def parse_options(self, *allowed: str) -> dict[str, str]:
        """kind=inner, hint.strategy=shuffle, withsource=T, isfuzzy=true, ..."""
        options: dict[str, str] = {}
        while self.tok.kind == "ident":
            save = self.i
            key = self.next().value
            while self.accept_op("."):
                key += "." + self.expect_ident().value
            if (
                not self.accept_op("=")
                or self.tok.is_op("=")
                or not (key.lower().startswith("hint.") or key.lower() in allowed)
            ):
                self.i = save
                break
            value = self.next()
            options[key.lower()] = value.value
        return options

    def parse_assignments(self) -> list[ast.Assign]:
        items = [self.parse_assignment()]
        while self.accept_op(","):
            items.append(self.parse_assignment())
        return items

    def parse_assignment(self) -> ast.Assign:
        tok = self.tok
        if tok.kind == "ident" and self.peek().is_op("=") and not tok.is_word("by"):
            self.next()
            self.next()
            return ast.Assign(tok.offset, [tok.value], self.parse_expr())
        if tok.is_op("("):
            j = self.i + 1
            names: list[str] = []
            while self.tokens[j].kind == "ident":
                names.append(self.tokens[j].value)
                if self.tokens[j + 1].is_op(","):
                    j += 2
                    continue
                break
            if names and self.tokens[j + 1].is_op(")") and self.tokens[j + 2].is_op("="):
                self.i = j + 3
                return ast.Assign(tok.offset, names, self.parse_expr())
        return ast.Assign(tok.offset, [], self.parse_expr())

    def op_mv_expand(self, pos: int, name: str) -> ast.Operator:
        options = self.parse_options("bagexpansion", "with_itemindex", "kind")
        kind = options.get("kind", options.get("bagexpansion", "bag")).lower()
        if kind not in ("bag", "array"):
            raise self.error(f"unknown mv-expand kind '{kind}'")
        items: list[tuple[str | None, ast.Expr, str | None]] = []
        while True:
            assign = self.parse_assignment()
            typ: str | None = None
            if self.accept_word("to"):
                if not self.accept_word("typeof"):
                    raise self.error("expected 'typeof' after 'to'")
                self.expect_op("(")
                typ = self.next().value
                self.expect_op(")")
            items.append((assign.names[0] if assign.names else None, assign.expr, typ))
            if not self.accept_op(","):
                break
        limit = self.parse_additive() if self.accept_word("limit") else None
        return ast.MvExpand(pos, "mv-expand", items, limit, options.get("with_itemindex"), kind)

    def op_parse(self, pos: int, name: str) -> ast.Operator:
        options = self.parse_options("kind", "flags")
        kind = options.get("kind", "simple").lower()
        source = self.parse_additive()
        if not self.accept_word("with"):
            raise self.error("expected 'with' in parse")
        pattern: list[tuple[str, str | None]] = []
        types: dict[str, str] = {}
        while True:
            tok = self.tok
            if tok.kind == "string":
                pattern.append(("lit", self.next().value))
            elif tok.is_op("*"):
                self.next()
                pattern.append(("col", None))
            elif tok.kind == "ident" and not (self.peek().is_op("|") and tok.value in ("on",)):
                column = self.next().value
                if self.accept_op(":"):
                    types[column] = self.expect_ident("a type").value
                pattern.append(("col", column))
            else:
                break
            if self.tok.is_op("|", ";", ")") or self.tok.kind == "eof":
                break
        flags = options.get("flags", "")
        return ast.Parse(pos, name, kind, source, pattern, types, flags, where=name == "parse-where")

    def op_make_series(self, pos: int, name: str) -> ast.Operator:
        options = self.parse_options("kind")
        aggs: list[ast.SeriesAgg] = []
        while True:
            assign = self.parse_assignment()
            default: ast.Expr | None = None
            if self.accept_word("default"):
                self.expect_op("=")
                default = self.parse_expr()
            aggs.append(ast.SeriesAgg(assign, default))
            if not self.accept_op(","):
                break
        if not self.accept_word("on"):
            raise self.error("expected 'on' in make-series")
        axis = self.parse_additive()
        start: ast.Expr | None = None
        end: ast.Expr | None = None
        if self.accept_word("in"):
            if not self.accept_word("range"):
                raise self.error("expected 'range(start, stop, step)' after 'in'")
            self.expect_op("(")
            start = self.parse_expr()
            self.expect_op(",")
            end = self.parse_expr()
            self.expect_op(",")
            step = self.parse_expr()
            self.expect_op(")")
        else:
            if self.accept_word("from"):
                start = self.parse_expr()
            if self.accept_word("to"):
                end = self.parse_expr()
            if not self.accept_word("step"):
                raise self.error("expected 'step' in make-series")
            step = self.parse_expr()
        by = self.parse_assignments() if self.accept_word("by") else []
        return ast.MakeSeries(pos, "make-series", aggs, axis, start, end, step, by, options.get("kind"))

    def op_evaluate(self, pos: int, name: str) -> ast.Operator:
        self.parse_options()
        call = self.parse_postfix()
        if not isinstance(call, ast.Call):
            raise self.error("expected a plugin call after 'evaluate'")
        if not self.accept_op(":"):
            return ast.Evaluate(pos, "evaluate", call)
        self.expect_op("(")
        schema: list[tuple[str, str]] = []
        star = False
        while not self.tok.is_op(")"):
            if self.accept_op("*"):
                star = True
            else:
                column = self.expect_ident("a column name").value
                self.expect_op(":")
                schema.append((column, self.expect_ident("a column type").value))
            if not self.accept_op(","):
                break
        self.expect_op(")")
        return ast.Evaluate(pos, "evaluate", call, schema, star)
