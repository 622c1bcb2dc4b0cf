"""KQL statements and tabular operators -> `ast` nodes. Expressions live in `parse_expr.py`."""

from __future__ import annotations

from collections.abc import Callable

from ramparts.hunting import ast
from ramparts.hunting.lexer import tokenize
from ramparts.hunting.parse_ops import OperatorParser

# Operators that are parsed (so a query's syntax is checked) but not compiled.
UNSUPPORTED_OPERATORS = frozenset(
    {
        "mv-apply",
        "top-nested",
        "top-hitters",
        "sample",
        "sample-distinct",
        "getschema",
        "scan",
        "search",
        "find",
        "facet",
        "fork",
        "partition",
        "reduce",
        "parse-kv",
        "project-smart",
        "consume",
        "externaldata",
        "make_series",
    }
)
UNSUPPORTED_SOURCES = frozenset({"externaldata", "external_data", "find", "search", "evaluate", "cluster", "database"})
JOIN_KINDS = frozenset(
    {
        "innerunique",
        "inner",
        "leftouter",
        "rightouter",
        "fullouter",
        "leftanti",
        "anti",
        "leftantisemi",
        "rightanti",
        "rightantisemi",
        "leftsemi",
        "semi",
        "rightsemi",
    }
)


class Parser(OperatorParser):
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.operators: dict[str, Callable[[int, str], ast.Operator]] = {
            "where": self.op_where,
            "filter": self.op_where,
            "project": self.op_project,
            "extend": self.op_project,
            "project-away": self.op_names,
            "project-keep": self.op_names,
            "project-reorder": self.op_names,
            "project-rename": self.op_rename,
            "summarize": self.op_summarize,
            "sort": self.op_sort,
            "order": self.op_sort,
            "top": self.op_top,
            "take": self.op_take,
            "limit": self.op_take,
            "distinct": self.op_distinct,
            "count": lambda pos, name: ast.Count(pos, name),
            "join": self.op_join,
            "lookup": self.op_join,
            "union": self.op_union,
            "mv-expand": self.op_mv_expand,
            "mvexpand": self.op_mv_expand,
            "parse": self.op_parse,
            "parse-where": self.op_parse,
            "render": self.op_render,
            "invoke": self.op_invoke,
            "as": self.op_as,
            "serialize": self.op_serialize,
            "make-series": self.op_make_series,
            "evaluate": self.op_evaluate,
        }

    # ------------------------------------------------------------ statements

    def at_end(self) -> bool:
        return self.tok.kind == "eof"

    def parse_script(self) -> ast.Script:
        statements: list[ast.Statement] = []
        while self.tok.kind != "eof":
            if self.accept_op(";"):
                continue
            statement = self.parse_statement()
            if statement is not None:
                statements.append(statement)
            if not self.at_end() and not self.tok.is_op(";"):
                raise self.error(f"unexpected '{self.tok.value}': expected '|' or ';'")
        if not statements or not isinstance(statements[-1], ast.ExprStatement):
            raise self.error("the query has no tabular expression to run")
        return ast.Script(0, statements)

    def parse_statement(self) -> ast.Statement | None:
        tok = self.tok
        if tok.is_word("let"):
            self.next()
            name = self.expect_ident("a name after 'let'")
            self.expect_op("=")
            if self._at_function():
                return ast.Let(tok.offset, name.value, self.parse_function())
            return ast.Let(tok.offset, name.value, self.parse_expr_or_tabular())
        if tok.is_word("set", "declare", "alias", "pattern", "restrict"):
            while self.tok.kind != "eof" and not self.tok.is_op(";"):
                self.next()
            return None
        return ast.ExprStatement(tok.offset, self.parse_expr_or_tabular())

    def _at_function(self) -> bool:
        if not self.tok.is_op("("):
            return False
        nxt = self.peek()
        if nxt.is_op(")"):
            return self.peek(2).is_op("{")
        return nxt.kind == "ident" and self.peek(2).is_op(":")

    def parse_function(self) -> ast.LetFunction:
        start = self.expect_op("(")
        params: list[ast.Param] = []
        while not self.tok.is_op(")"):
            name = self.expect_ident("a parameter name").value
            self.expect_op(":")
            if self.tok.is_op("("):  # tabular parameter: (col:type, ...) or (*)
                depth = 0
                while True:
                    t = self.next()
                    depth += t.is_op("(") - t.is_op(")")
                    if depth == 0 or t.kind == "eof":
                        break
                kind = "table"
            else:
                kind = self.expect_ident("a parameter type").value
            default = self.parse_expr() if self.accept_op("=") else None
            params.append(ast.Param(name, kind, default))
            if not self.accept_op(","):
                break
        self.expect_op(")")
        self.expect_op("{")
        body: list[ast.Statement] = []
        while not self.tok.is_op("}"):
            if self.accept_op(";"):
                continue
            statement = self.parse_statement()
            if statement is not None:
                body.append(statement)
            if not self.tok.is_op("}"):
                self.expect_op(";")
        self.expect_op("}")
        return ast.LetFunction(start.offset, params, body)

    # ------------------------------------------------------------ tabular

    def parse_source_keyword(self) -> ast.Source | None:
        tok = self.tok
        if tok.kind != "ident":
            return None
        word = tok.value
        if word == "union":
            self.next()
            return self.op_union(tok.offset, word)
        if word == "datatable" and self.peek().is_op("("):
            return self.parse_datatable()
        if word == "print":
            self.next()
            return ast.Print(tok.offset, self.parse_assignments())
        if word == "range" and self.peek().kind == "ident" and self.peek(2).is_word("from"):
            self.next()
            column = self.next().value
            self.next()
            start = self.parse_expr()
            if not self.accept_word("to"):
                raise self.error("expected 'to' in range")
            stop = self.parse_expr()
            if not self.accept_word("step"):
                raise self.error("expected 'step' in range")
            return ast.Range(tok.offset, column, start, stop, self.parse_expr())
        if word in UNSUPPORTED_SOURCES and (self.peek().is_op("(") or word in ("find", "search", "evaluate")):
            self.next()
            self.skip_operator_body()
            return ast.UnsupportedSource(tok.offset, word)
        return None

    def parse_tabular_tail(self, source: ast.Source, pos: int) -> ast.Tabular:
        ops: list[ast.Operator] = []
        while self.accept_op("|"):
            tok = self.expect_ident("an operator after '|'")
            name = tok.value
            handler = self.operators.get(name)
            if handler is not None:
                ops.append(handler(tok.offset, name))
            elif name in UNSUPPORTED_OPERATORS:
                self.skip_operator_body()
                ops.append(ast.Unsupported(tok.offset, name))
            else:
                raise self.error(f"unknown tabular operator '{name}'", tok)
        return ast.Tabular(pos, source, ops)

    def skip_operator_body(self) -> None:
        """Consume tokens up to the next top-level `|`, `;` or closing bracket."""
        depth = 0
        while self.tok.kind != "eof":
            if depth == 0 and self.tok.is_op("|", ";", ")", "}"):
                return
            if self.tok.is_op("(", "[", "{"):
                depth += 1
            elif self.tok.is_op(")", "]", "}"):
                depth -= 1
            self.next()

    def parse_sort_keys(self) -> list[ast.SortKey]:
        keys: list[ast.SortKey] = []
        while True:
            expr = self.parse_expr()
            desc = True
            if self.accept_word("asc"):
                desc = False
            elif self.accept_word("desc"):
                desc = True
            nulls: bool | None = None
            if self.accept_word("nulls"):
                if self.accept_word("first"):
                    nulls = True
                elif self.accept_word("last"):
                    nulls = False
                else:
                    raise self.error("expected 'first' or 'last' after 'nulls'")
            keys.append(ast.SortKey(expr, desc, nulls))
            if not self.accept_op(","):
                return keys

    def parse_datatable(self) -> ast.Datatable:
        tok = self.next()
        self.expect_op("(")
        columns: list[tuple[str, str]] = []
        while not self.tok.is_op(")"):
            name = self.expect_ident("a column name").value
            self.expect_op(":")
            columns.append((name, self.expect_ident("a column type").value))
            if not self.accept_op(","):
                break
        self.expect_op(")")
        self.expect_op("[")
        values: list[ast.Expr] = []
        while not self.tok.is_op("]"):
            values.append(self.parse_expr())
            if not self.accept_op(","):
                break
        self.expect_op("]")
        return ast.Datatable(tok.offset, columns, values)

    # ------------------------------------------------------------ operators

    def op_where(self, pos: int, name: str) -> ast.Operator:
        return ast.Where(pos, "where", self.parse_expr())

    def op_project(self, pos: int, name: str) -> ast.Operator:
        return ast.Project(pos, name, self.parse_assignments())

    def op_names(self, pos: int, name: str) -> ast.Operator:
        names: list[tuple[str, int]] = []
        directions: list[str] = []
        while True:
            tok = self.tok
            text = ""
            while self.tok.kind == "ident" or self.tok.is_op("*"):
                text += self.next().value
                if self.tok.offset != tok.offset + len(text):
                    break
            if not text:
                raise self.error("expected a column name")
            names.append((text, tok.offset))
            if self.tok.is_word("asc", "desc", "granny-asc", "granny-desc"):
                directions.append(self.next().value)
            if not self.accept_op(","):
                return ast.NameList(pos, name, names, directions)

    def op_rename(self, pos: int, name: str) -> ast.Operator:
        pairs: list[tuple[str, str, int]] = []
        while True:
            new = self.expect_ident("a new column name")
            self.expect_op("=")
            old = self.expect_ident("a column name")
            pairs.append((new.value, old.value, old.offset))
            if not self.accept_op(","):
                return ast.Rename(pos, name, pairs)

    def op_summarize(self, pos: int, name: str) -> ast.Operator:
        self.parse_options()
        aggs = [] if self.tok.is_word("by") else self.parse_assignments()
        by = self.parse_assignments() if self.accept_word("by") else []
        return ast.Summarize(pos, name, aggs, by)

    def op_sort(self, pos: int, name: str) -> ast.Operator:
        if not self.accept_word("by"):
            raise self.error(f"expected 'by' after '{name}'")
        return ast.Sort(pos, "sort", self.parse_sort_keys())

    def op_top(self, pos: int, name: str) -> ast.Operator:
        count = self.parse_additive()
        if not self.accept_word("by"):
            raise self.error("expected 'by' after 'top N'")
        return ast.Top(pos, name, count, self.parse_sort_keys())

    def op_take(self, pos: int, name: str) -> ast.Operator:
        return ast.Take(pos, "take", self.parse_additive())

    def op_distinct(self, pos: int, name: str) -> ast.Operator:
        items = [self.parse_expr()]
        while self.accept_op(","):
            items.append(self.parse_expr())
        return ast.Distinct(pos, name, items)

    def op_serialize(self, pos: int, name: str) -> ast.Operator:
        if self.tok.kind == "ident" and self.tok.value not in ("|",):
            self.parse_assignments()
        return ast.AsOp(pos, "serialize", "")

    def op_join(self, pos: int, name: str) -> ast.Operator:
        options = self.parse_options("kind", "withsource")
        kind = options.get("kind", "leftouter" if name == "lookup" else "innerunique").lower()
        kind_tok = self.tok
        if kind not in JOIN_KINDS or (name == "lookup" and kind not in ("leftouter", "inner")):
            raise self.error(f"unknown {name} kind '{kind}'", kind_tok)
        right_start = self.tok
        right = self.parse_expr_or_tabular()
        if isinstance(right, ast.TabularExpr):
            right = right.query
        if not isinstance(right, ast.Tabular):
            right = ast.Tabular(right_start.offset, self.as_source(right), [])
        on: list[tuple[ast.Expr, ast.Expr]] = []
        if not self.accept_word("on"):
            raise self.error(f"expected 'on' in {name}")
        while True:
            expr = self.parse_compare()
            if isinstance(expr, ast.Binary) and expr.op == "==":
                on.append((expr.left, expr.right))
            else:
                on.append((expr, expr))
            if not (self.accept_op(",") or self.accept_word("and")):
                break
        return ast.Join(pos, name, kind, right, on)

    def op_union(self, pos: int, name: str) -> ast.Union:
        options = self.parse_options("kind", "withsource", "isfuzzy")
        sources: list[ast.Tabular] = []
        while True:
            start = self.tok
            if start.kind == "ident" and (self.peek().is_op("*") or start.value.endswith("*")):
                text = self.next().value + ("*" if self.accept_op("*") else "")
                sources.append(ast.Tabular(start.offset, ast.TableRef(start.offset, text), []))
            else:
                item = self.parse_postfix()
                if isinstance(item, ast.TabularExpr):
                    sources.append(item.query)
                else:
                    sources.append(ast.Tabular(start.offset, self.as_source(item), []))
            if not self.accept_op(","):
                break
        fuzzy = options.get("isfuzzy", "false").lower() == "true"
        kind = options.get("kind", "outer").lower()
        if kind not in ("outer", "inner"):
            raise self.error(f"unknown union kind '{kind}'")
        return ast.Union(pos, "union", sources, options.get("withsource"), fuzzy, kind)

    def op_render(self, pos: int, name: str) -> ast.Operator:
        chart = self.expect_ident("a chart kind").value
        self.skip_operator_body()
        return ast.Render(pos, "render", chart)

    def op_invoke(self, pos: int, name: str) -> ast.Operator:
        call = self.parse_postfix()
        if not isinstance(call, ast.Call):
            raise self.error("expected a function call after 'invoke'")
        return ast.Invoke(pos, "invoke", call)

    def op_as(self, pos: int, name: str) -> ast.Operator:
        self.parse_options()
        return ast.AsOp(pos, "as", self.expect_ident("a name after 'as'").value)


def parse(text: str) -> ast.Script:
    return Parser(text).parse_script()
