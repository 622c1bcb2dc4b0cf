"""Scalar KQL expressions -> sqlglot trees with their KQL types.

Operators are lowered here; named functions are looked up in `functions.FUNCTIONS` (a table of
handlers), user `let` functions are expanded in place, and names are resolved through the binder.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlglot import exp

from ramparts.errors import KqlError
from ramparts.hunting import ast
from ramparts.hunting.binder import (
    BoundScalar,
    BoundTabular,
    Context,
    Env,
    FunctionLet,
    Relation,
    RowScope,
    ScalarLet,
    TabularLet,
)
from ramparts.hunting.dialects import cast, fn, lit
from ramparts.hunting.types import NULL, NUMERIC, US_PER_SECOND, Typed, comparable

if TYPE_CHECKING:
    from ramparts.hunting.lower_tabular import TabularLowerer

TERM_BOUND_L = "(^|[^[:alnum:]])"
TERM_BOUND_R = "($|[^[:alnum:]])"
_RE2_SPECIAL = set(".^$*+?()[]{}|\\-/")


def re_escape(text: str) -> str:
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in text)


def json_const(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class ScalarLowerer:
    def __init__(self, ctx: Context, env: Env, scope: RowScope, tabular: TabularLowerer) -> None:
        self.ctx = ctx
        self.env = env
        self.scope = scope
        self.tabular = tabular
        self.flavor = ctx.flavor
        self.aggregate_hook: Callable[[ast.Call], Typed] | None = None

    def error(self, node: ast.Node, message: str) -> KqlError:
        return self.ctx.error(node.pos, message)

    def with_env(self, env: Env, scope: RowScope | None = None) -> ScalarLowerer:
        other = ScalarLowerer(self.ctx, env, scope or self.scope, self.tabular)
        other.aggregate_hook = self.aggregate_hook
        return other

    # ------------------------------------------------------------ entry points

    def lower(self, node: ast.Expr) -> Typed:
        if isinstance(node, ast.Literal):
            return self.literal(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.DynamicLit):
            return self.dynamic_const(node.value)
        if isinstance(node, ast.Unary):
            operand = self.lower(node.operand)
            if operand.type not in NUMERIC and operand.type not in ("timespan", NULL):
                raise self.error(node, f"unary '-' needs a number or timespan, not {operand.type}")
            return Typed(exp.Neg(this=exp.Paren(this=operand.sql)), operand.type)
        if isinstance(node, ast.Binary):
            return self.binary(node)
        if isinstance(node, ast.InList):
            return self.in_list(node)
        if isinstance(node, ast.Between):
            return self.between(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Member | ast.Index):
            return self.access(node)
        if isinstance(node, ast.Star):
            raise self.error(node, "'*' is only allowed as a function argument of some aggregations")
        raise self.error(node, "a tabular expression cannot be used as a scalar here (use toscalar())")

    def predicate(self, node: ast.Expr) -> exp.Expr:
        value = self.lower(node)
        if value.type == "dynamic":
            return self.convert(value, "bool").sql
        if value.type not in ("bool", NULL):
            raise self.error(node, f"a predicate must be bool, but this expression is {value.type}")
        return value.sql

    # ------------------------------------------------------------ leaves

    def literal(self, node: ast.Literal) -> Typed:
        value = node.value
        if node.kind == "null":
            return Typed(exp.Null(), NULL, None)
        if node.kind == "datetime":
            if value is None:
                return Typed(self.flavor.typed_null("datetime"), "datetime", None)
            assert isinstance(value, dt.datetime)
            return Typed(self.flavor.datetime_literal(value), "datetime", value)
        if node.kind == "timespan":
            if value is None:
                return Typed(cast(exp.Null(), "BIGINT"), "timespan", None)
            assert isinstance(value, int | float)
            micros = round(value * US_PER_SECOND)
            return Typed(lit(micros), "timespan", micros)
        if node.kind in ("guid", "type"):
            return Typed(lit(value), "string" if node.kind == "type" else "guid", value)
        return Typed(lit(value), node.kind, value)

    def dynamic_const(self, value: object) -> Typed:
        if value is None:
            return Typed(cast(exp.Null(), "VARCHAR"), "dynamic", None)
        return Typed(lit(json_const(value)), "dynamic", value)

    def name(self, node: ast.Name) -> Typed:
        found = self.scope.find(node.name)
        if found is not None:
            return Typed(self.scope.ref(found[0]), found[1])
        entry = self.env.lookup(node.name)
        if isinstance(entry, BoundScalar):  # a scalar argument may be read several times: copy it
            return Typed(entry.value.sql.copy(), entry.value.type, entry.value.const)
        if isinstance(entry, ScalarLet):
            lowerer = self.with_env(entry.env, RowScope([]))
            return lowerer.lower(entry.expr)
        if isinstance(entry, FunctionLet):
            return self.call(ast.Call(node.pos, node.name, []))
        if isinstance(entry, TabularLet | BoundTabular):
            raise self.error(node, f"'{node.name}' is a tabular expression; use toscalar() to read one value")
        if node.name in self.ctx.schema:
            raise self.error(node, f"'{node.name}' is a table, not a column")
        raise self.error(node, f"unknown column or variable '{node.name}'")

    # ------------------------------------------------------------ conversions

    def as_string(self, value: Typed) -> exp.Expr:
        """The value as KQL would show it in a string context; NULL strings read as ""."""
        if value.is_const and isinstance(value.const, str) and value.type in ("string", "guid"):
            return value.sql
        if value.type in ("string", "guid", NULL):
            return exp.Coalesce(this=value.sql, expressions=[lit("")])
        return exp.Coalesce(this=self.convert(value, "string").sql, expressions=[lit("")])

    def convert(self, value: Typed, target: str) -> Typed:
        """tostring/tolong/todouble/tobool/todatetime semantics (null on failure)."""
        flavor = self.flavor
        if value.type == target or value.type == NULL:
            return Typed(value.sql if value.type == target else flavor.typed_null(target), target, value.const)
        if target == "string":
            if value.type == "dynamic":
                return Typed(flavor.json_to_string(value.sql), "string")
            if value.type == "datetime":
                return Typed(flavor.format_datetime(value.sql, "yyyy-MM-ddTHH:mm:ss.fffffffZ"), "string")
            if value.type == "timespan":
                return Typed(flavor.to_string(value.sql), "string")
            return Typed(flavor.to_string(value.sql), "string")
        if target == "dynamic":
            if value.type in ("string", "guid"):
                return Typed(flavor.to_json(value.sql), "dynamic")
            return Typed(flavor.to_json(value.sql), "dynamic")
        source = value.sql
        source_type = value.type
        if value.type == "dynamic":
            source, source_type = flavor.json_to_string(value.sql), "string"
        if target == "timespan":
            if source_type in NUMERIC:
                return Typed(cast(source, "BIGINT"), "timespan")
            raise KqlError(f"cannot convert {value.type} to timespan at run time")
        if target == "datetime" and source_type in NUMERIC:
            raise KqlError("todatetime() of a number is not supported; use unixtime_seconds_todatetime()")
        if target == "bool" and source_type in NUMERIC:  # tobool(123) is true: any non-zero number
            return Typed(exp.NEQ(this=source, expression=lit(0)), "bool")
        if target in ("long", "int") and source_type == "timespan":
            return Typed(cast(source, "BIGINT"), target)
        if target in ("long", "int", "real") and source_type == "datetime":
            return Typed(flavor.epoch_us(source), target)
        return Typed(flavor.try_cast(source, target, source_type), target)

    # ------------------------------------------------------------ operators

    def binary(self, node: ast.Binary) -> Typed:
        op = node.op
        if op in ("and", "or"):
            a, b = self.predicate(node.left), self.predicate(node.right)
            cls = exp.And if op == "and" else exp.Or
            return Typed(exp.Paren(this=cls(this=a, expression=b)), "bool")
        left, right = self.lower(node.left), self.lower(node.right)
        if op in ("+", "-", "*", "/", "%"):
            return self.arithmetic(node, left, right)
        if op in ("==", "!=", "<", ">", "<=", ">="):
            return self.compare(node, op, left, right)
        if op in ("=~", "!~"):
            sql = exp.EQ(this=exp.Lower(this=self.as_string(left)), expression=exp.Lower(this=self.as_string(right)))
            return Typed(exp.Not(this=sql) if op == "!~" else sql, "bool")
        from ramparts.hunting.string_ops import string_operator

        return string_operator(self, node, op, left, right)

    def compare(self, node: ast.Node, op: str, left: Typed, right: Typed) -> Typed:
        if not comparable(left.type, right.type):
            raise self.error(node, f"cannot compare {left.type} with {right.type} using '{op}'")
        if op in ("==", "!=") and right.type == "dynamic" and _plain_text(left):
            left, right = right, left
        if op in ("==", "!=") and left.type == "dynamic" and _plain_text(right):
            text = self.flavor.json_string_or_empty(left.sql)
            if text is not None:
                cls = exp.EQ if op == "==" else exp.NEQ
                return Typed(cls(this=text, expression=right.sql), "bool")
        if left.type == "dynamic" and right.type not in ("dynamic", NULL):
            left = self.convert(left, right.type if right.type != "guid" else "string")
        elif right.type == "dynamic" and left.type not in ("dynamic", NULL):
            right = self.convert(right, left.type if left.type != "guid" else "string")
        if "bool" in (left.type, right.type) and left.type != right.type and NULL not in (left.type, right.type):
            if {left.type, right.type} & {"int", "long"}:
                left = Typed(cast(left.sql, "INT"), "int") if left.type == "bool" else left
                right = Typed(cast(right.sql, "INT"), "int") if right.type == "bool" else right
            else:
                left = self.convert(left, "string") if left.type == "bool" else left
                right = self.convert(right, "string") if right.type == "bool" else right
        a, b = left.sql, right.sql
        if left.type in ("string", "guid") or right.type in ("string", "guid"):
            a, b = self.as_string(left), self.as_string(right)
        classes: dict[str, type[exp.Binary]] = {
            "==": exp.EQ,
            "!=": exp.NEQ,
            "<": exp.LT,
            ">": exp.GT,
            "<=": exp.LTE,
            ">=": exp.GTE,
        }
        return Typed(classes[op](this=a, expression=b), "bool")

    def arithmetic(self, node: ast.Binary, left: Typed, right: Typed) -> Typed:
        op = node.op
        lt, rt = left.type, right.type
        flavor = self.flavor
        if left.type == "dynamic":
            left, lt = self.convert(left, "real"), "real"
        if right.type == "dynamic":
            right, rt = self.convert(right, "real"), "real"
        if lt == "datetime" and rt in ("timespan", NULL) and op in ("+", "-"):
            if (
                left.is_const
                and right.is_const
                and isinstance(left.const, dt.datetime)
                and isinstance(right.const, int)
            ):
                delta = dt.timedelta(microseconds=right.const)
                value = left.const + delta if op == "+" else left.const - delta
                return Typed(flavor.datetime_literal(value), "datetime", value)
            us = flavor.epoch_us(left.sql)
            cls = exp.Add if op == "+" else exp.Sub
            return Typed(flavor.from_epoch_us(cls(this=us, expression=right.sql)), "datetime")
        if lt == "timespan" and rt == "datetime" and op == "+":
            return self.arithmetic(ast.Binary(node.pos, "+", node.right, node.left), right, left)
        if lt == "datetime" and rt == "datetime" and op == "-":
            return Typed(exp.Sub(this=flavor.epoch_us(left.sql), expression=flavor.epoch_us(right.sql)), "timespan")
        if lt == "timespan" and rt == "timespan":
            if op in ("+", "-", "%"):
                cls2: type[exp.Binary] = {"+": exp.Add, "-": exp.Sub, "%": exp.Mod}[op]
                return Typed(cls2(this=left.sql, expression=right.sql), "timespan", self._fold(op, left, right))
            if op == "/":
                return Typed(exp.Div(this=cast(left.sql, "DOUBLE"), expression=right.sql), "real")
        if lt == "timespan" and rt in NUMERIC and op in ("*", "/"):
            cls3 = exp.Mul if op == "*" else exp.Div
            scaled = cls3(this=cast(left.sql, "DOUBLE"), expression=right.sql)
            return Typed(cast(fn("round", scaled), "BIGINT"), "timespan", self._fold(op, left, right, True))
        if rt == "timespan" and lt in NUMERIC and op == "*":
            return Typed(cast(exp.Mul(this=left.sql, expression=right.sql), "BIGINT"), "timespan")
        if (lt in NUMERIC or lt == NULL) and (rt in NUMERIC or rt == NULL):
            kind = "real" if "real" in (lt, rt) else ("int" if lt == rt == "int" else "long")
            a, b = exp.Paren(this=left.sql), exp.Paren(this=right.sql)
            if op == "/" and kind != "real":
                return Typed(flavor.int_div(a, b), kind, self._fold(op, left, right))
            if op == "/":
                return Typed(exp.Div(this=cast(a, "DOUBLE"), expression=b), kind, self._fold(op, left, right))
            classes: dict[str, type[exp.Binary]] = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "%": exp.Mod}
            return Typed(classes[op](this=a, expression=b), kind, self._fold(op, left, right))
        raise self.error(node, f"operator '{op}' cannot be applied to {left.type} and {right.type}")

    @staticmethod
    def _fold(op: str, left: Typed, right: Typed, round_int: bool = False) -> object:
        from ramparts.hunting.types import NOCONST

        a, b = left.const, right.const
        if not (isinstance(a, int | float) and isinstance(b, int | float)) or isinstance(a, bool):
            return NOCONST
        try:
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return round(a * b) if round_int else a * b
            if op == "/":
                if isinstance(a, int) and isinstance(b, int) and not round_int:
                    return int(a / b)
                return round(a / b) if round_int else a / b
            if op == "%":
                return a % b
        except ZeroDivisionError:
            return NOCONST
        return NOCONST

    def between(self, node: ast.Between) -> Typed:
        value, low, high = self.lower(node.operand), self.lower(node.low), self.lower(node.high)
        if value.type == "datetime" and high.type == "timespan":
            high = self.arithmetic(ast.Binary(node.pos, "+", node.low, node.high), low, high)
        if value.type == "dynamic":
            value = self.convert(value, low.type)
        for bound in (low, high):
            if not comparable(value.type, bound.type):
                raise self.error(node, f"between cannot compare {value.type} with {bound.type}")
        sql: exp.Expr = exp.Between(this=value.sql, low=low.sql, high=high.sql)
        if node.negated:
            sql = exp.Not(this=exp.Paren(this=sql))
        return Typed(sql, "bool")

    def in_list(self, node: ast.InList) -> Typed:
        from ramparts.hunting.string_ops import in_operator

        return in_operator(self, node)

    # ------------------------------------------------------------ dynamic access

    def access(self, node: ast.Member | ast.Index) -> Typed:
        target = self.lower(node.target)
        if target.type in ("string", NULL):
            target = Typed(target.sql, "dynamic")  # JSON held in a string column, as in Defender's tables
        if target.type != "dynamic":
            raise self.error(node, f"'.'/'[]' access needs a dynamic value, not {target.type}")
        if isinstance(node, ast.Member):
            if isinstance(target.const, dict):
                return self.dynamic_const(target.const.get(node.name))
            return Typed(self.flavor.json_get(target.sql, lit(node.name)), "dynamic")
        index = self.lower(node.index)
        if index.is_const and isinstance(index.const, int | str):
            if isinstance(target.const, list) and isinstance(index.const, int):
                items = target.const
                inside = -len(items) <= index.const < len(items)
                return self.dynamic_const(items[index.const] if inside else None)
            return Typed(self.flavor.json_get(target.sql, lit(index.const)), "dynamic")
        if index.type in NUMERIC:
            return Typed(self.flavor.json_get(target.sql, cast(index.sql, "BIGINT")), "dynamic")
        if index.type in ("string", "dynamic"):
            return Typed(self.flavor.json_get(target.sql, self.as_string(index), key_is_string=True), "dynamic")
        raise self.error(node, f"a dynamic index must be a number or a string, not {index.type}")

    # ------------------------------------------------------------ calls

    def call(self, node: ast.Call) -> Typed:
        from ramparts.hunting.aggregates import AGGREGATES
        from ramparts.hunting.functions import FUNCTIONS, REFUSED_FUNCTIONS

        entry = self.env.lookup(node.name)
        if isinstance(entry, FunctionLet):
            return self.user_call(node, entry)
        name = node.name.lower() if node.name.lower() in FUNCTIONS else node.name
        handler = FUNCTIONS.get(name)
        if handler is not None:
            return handler(self, node)
        if node.name in AGGREGATES or node.name.lower() in AGGREGATES:
            if self.aggregate_hook is not None:
                return self.aggregate_hook(node)
            raise self.error(node, f"'{node.name}' is an aggregation function; use it in summarize")
        refused = REFUSED_FUNCTIONS.get(node.name.lower())
        if refused is not None:
            raise self.error(node, f"{node.name}() is not supported: {refused}")
        raise self.error(node, f"unknown function '{node.name}'")

    def user_call(self, node: ast.Call, entry: FunctionLet) -> Typed:
        body_env = self.bind_arguments(node, entry)
        result = self.tabular.run_body(entry.func, body_env, scalar=self)
        if isinstance(result, Relation):
            raise self.error(node, f"'{node.name}' returns a table; it cannot be used as a scalar")
        return result

    def bind_arguments(self, node: ast.Call, entry: FunctionLet) -> Env:
        func = entry.func
        if len(node.args) > len(func.params):
            raise self.error(node, f"'{entry.name}' takes {len(func.params)} arguments, not {len(node.args)}")
        self.ctx.call_depth += 1
        if self.ctx.call_depth > 50:
            raise self.error(node, f"'{entry.name}' calls itself too deeply")
        env = entry.env.child()
        for i, param in enumerate(func.params):
            arg: ast.Expr | None = node.args[i] if i < len(node.args) else param.default
            if arg is None:
                raise self.error(node, f"missing argument '{param.name}' of '{entry.name}'")
            if param.type == "table":
                env.names[param.name] = BoundTabular(self.tabular.relation_of(arg, self.env))
            else:
                env.names[param.name] = BoundScalar(self.lower(arg))
        return env

    def args(self, node: ast.Call, low: int, high: int | None = None) -> list[Typed]:
        count = len(node.args)
        top = low if high is None else high
        if not low <= count <= top:
            expected = str(low) if low == top else f"{low} to {top}"
            raise self.error(node, f"'{node.name}' takes {expected} arguments, not {count}")
        return [self.lower(arg) for arg in node.args]

    def subquery_column(self, node: ast.Node, relation: Relation) -> Typed:
        """(SELECT first column FROM relation): for toscalar() and in (subquery)."""
        if not relation.columns:
            raise self.error(node, "the subquery has no columns")
        name, kind = relation.columns[0]
        alias = self.ctx.alias("s")
        select = exp.select(exp.column(name, quoted=True)).from_(relation.query.subquery(alias, copy=False), copy=False)
        return Typed(select, kind)


def _plain_text(value: Typed) -> bool:
    """A non-empty string constant that no JSON value but a string prints as (not 1, true, null, {...}):
    dynamic == it holds only for a JSON string with that text."""
    if value.type != "string" or not isinstance(value.const, str) or not value.const:
        return False
    try:
        return isinstance(json.loads(value.const), str)
    except ValueError:
        return True
