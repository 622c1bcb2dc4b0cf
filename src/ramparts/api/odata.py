"""OData $filter for Graph-compatible collections: parsed by odata-query, lowered to a sqlglot condition
over one telemetry table through an explicit property map (nothing outside the map can be filtered)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from odata_query import ast
from odata_query.exceptions import ODataException
from odata_query.grammar import ODataLexer, ODataParser
from sqlglot import exp

from ramparts.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Property:
    column: str
    to_column_value: Callable[[str], str] = str
    """Turns a Graph enum value into the stored value (e.g. inbound -> Inbound)."""
    collection: bool = False
    """A comma-separated list column, filtered with any(t: t eq 'x')."""
    stored_values: Callable[[str], Sequence[str]] | None = None
    """For an enum that several stored values map to: the stored values of a Graph value (eq, ne and
    in become IN / NOT IN lists; ordering comparisons are refused)."""


_COMPARATORS: dict[type[ast._Node], type[exp.Expr]] = {
    ast.Eq: exp.EQ,
    ast.NotEq: exp.NEQ,
    ast.Gt: exp.GT,
    ast.GtE: exp.GTE,
    ast.Lt: exp.LT,
    ast.LtE: exp.LTE,
}


def _path(node: ast._Node) -> str:
    if isinstance(node, ast.Identifier):
        return node.name
    if isinstance(node, ast.Attribute):
        return f"{_path(node.owner)}/{node.attr}"
    raise InvalidInput("expected a property name", field="$filter")


class FilterCompiler:
    def __init__(self, properties: Mapping[str, Property]) -> None:
        self.properties = properties

    def compile(self, text: str) -> exp.Expr:
        try:
            tree = ODataParser().parse(ODataLexer().tokenize(text))
        except ODataException as exc:
            raise InvalidInput(f"invalid $filter: {exc}", field="$filter") from None
        if tree is None:
            raise InvalidInput("empty $filter", field="$filter")
        return self._node(tree)

    def _property(self, node: ast._Node) -> Property:
        name = _path(node)
        found = self.properties.get(name)
        if found is None:
            known = ", ".join(sorted(self.properties))
            raise InvalidInput(f"cannot filter on {name!r}; filterable properties: {known}", field="$filter")
        return found

    def _literal(self, node: ast._Node, prop: Property) -> exp.Expr:
        if isinstance(node, ast.String):
            return exp.Literal.string(prop.to_column_value(node.val))
        if isinstance(node, ast.Integer | ast.Float):
            return exp.Literal.number(node.val)
        if isinstance(node, ast.Boolean):
            return exp.Boolean(this=node.val.lower() == "true")
        if isinstance(node, ast.DateTime | ast.Date):
            return exp.cast(exp.Literal.string(node.val), exp.DataType.build("TIMESTAMPTZ"))
        if isinstance(node, ast.Null):
            return exp.Null()
        raise InvalidInput(f"unsupported value {node!r} in $filter", field="$filter")

    def _node(self, node: ast._Node) -> exp.Expr:
        if isinstance(node, ast.BoolOp):
            left, right = self._node(node.left), self._node(node.right)
            return exp.and_(left, right) if isinstance(node.op, ast.And) else exp.or_(left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return exp.not_(self._node(node.operand))
        if isinstance(node, ast.Compare):
            if isinstance(node.comparator, ast.In):
                prop = self._property(node.left)
                values = node.right.val if isinstance(node.right, ast.List) else [node.right]
                if prop.stored_values is not None:
                    return self._one_of(prop, values)
                return exp.column(prop.column).isin(*(self._literal(v, prop) for v in values))
            prop = self._property(node.left)
            if prop.stored_values is not None:
                return self._enum_compare(node, prop)
            operator = _COMPARATORS.get(type(node.comparator))
            if operator is None:
                raise InvalidInput("unsupported comparison in $filter", field="$filter")
            literal = self._literal(node.right, prop)
            if isinstance(literal, exp.Null):
                is_null = exp.column(prop.column).is_(exp.Null())
                return is_null if operator is exp.EQ else exp.not_(is_null)
            return operator(this=exp.column(prop.column), expression=literal)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.CollectionLambda):
            return self._any(node)
        raise InvalidInput(f"unsupported expression in $filter: {type(node).__name__}", field="$filter")

    def _one_of(self, prop: Property, values: Sequence[ast._Node]) -> exp.Expr:
        assert prop.stored_values is not None
        stored: list[str] = []
        for value in values:
            if not isinstance(value, ast.String):
                raise InvalidInput(f"{prop.column} takes string values", field="$filter")
            stored += prop.stored_values(value.val)
        if not stored:
            return exp.false()
        return exp.column(prop.column).isin(*(exp.Literal.string(v) for v in dict.fromkeys(stored)))

    def _enum_compare(self, node: ast.Compare, prop: Property) -> exp.Expr:
        if isinstance(node.comparator, ast.Eq):
            return self._one_of(prop, [node.right])
        if isinstance(node.comparator, ast.NotEq):
            return exp.not_(self._one_of(prop, [node.right]))
        raise InvalidInput("this property supports only eq, ne and in", field="$filter")

    def _call(self, node: ast.Call) -> exp.Expr:
        name = node.func.name.lower()
        if name not in ("contains", "startswith", "endswith") or len(node.args) != 2:
            raise InvalidInput(f"unsupported function {node.func.name!r} in $filter", field="$filter")
        prop = self._property(node.args[0])
        needle = node.args[1]
        if not isinstance(needle, ast.String):
            raise InvalidInput(f"{name}() takes a string", field="$filter")
        escaped = needle.val.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"contains": f"%{escaped}%", "startswith": f"{escaped}%", "endswith": f"%{escaped}"}[name]
        return exp.Escape(
            this=exp.ILike(this=exp.column(prop.column), expression=exp.Literal.string(pattern)),
            expression=exp.Literal.string("\\"),
        )

    def _any(self, node: ast.CollectionLambda) -> exp.Expr:
        prop = self._property(node.owner)
        if not prop.collection or not isinstance(node.operator, ast.Any) or node.lambda_ is None:
            raise InvalidInput(f"{_path(node.owner)} is not a collection filterable with any()", field="$filter")
        body = node.lambda_.expression
        if not (
            isinstance(body, ast.Compare) and isinstance(body.comparator, ast.Eq) and isinstance(body.right, ast.String)
        ):
            raise InvalidInput("any() supports only `x eq 'value'`", field="$filter")
        token = prop.to_column_value(body.right.val)
        padded = exp.func(
            "concat",
            exp.Literal.string(", "),
            exp.func("coalesce", exp.column(prop.column), exp.Literal.string("")),
            exp.Literal.string(","),
        )
        return exp.Like(this=padded, expression=exp.Literal.string(f"%, {token},%"))
