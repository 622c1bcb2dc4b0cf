"""Drop the columns no outer query reads from the subqueries of a lowered query.

Lowering lists every column at every layer (`SELECT <all 54 columns> FROM (SELECT <all> FROM ...)`),
which keeps each operator simple but makes the SQL long: slow to print and to plan. This pass walks
the tree from the outermost SELECT inwards and removes from each subquery the projections that its
reader never names. A projection is always kept when removing it could change the rows: under
DISTINCT, in a set operation whose branches disagree, or when it expands rows (unnest/arrayJoin).
"""

from __future__ import annotations

from sqlglot import exp

_ROW_EXPANDING = frozenset({"unnest", "arrayjoin"})
_EXTRACT = frozenset({"struct_extract", "tupleelement"})  # tuple_get(t, i)
_PICK = frozenset({"arg_max", "arg_min", "argmax", "argmin"})  # arg_pick(row(...), key)
_TUPLE = frozenset({"row", "tuple"})


def prune(query: exp.Query) -> exp.Query:
    """Prune query in place (its own output columns are all kept) and return it."""
    _prune_query(query, None)
    return query


def _names_read(nodes: list[exp.Expr]) -> tuple[set[tuple[str, str]], bool]:
    """(table qualifier or "", column name) of every column the nodes name, and whether one of them
    is a star projection (`*` or `t.*`; count(*) reads no column)."""
    names: set[tuple[str, str]] = set()
    star = False
    for node in nodes:
        if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
            star = True
            continue
        for column in node.find_all(exp.Column):
            if isinstance(column.this, exp.Star):
                star = True
            else:
                names.add((column.table, column.name))
    return names, star


def _expands_rows(projection: exp.Expr) -> bool:
    if isinstance(projection, exp.Column) or (
        isinstance(projection, exp.Alias) and isinstance(projection.this, exp.Column)
    ):
        return False
    for node in projection.find_all(exp.Anonymous, exp.Unnest, exp.Explode):
        if isinstance(node, exp.Unnest | exp.Explode):
            return True
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in _ROW_EXPANDING:
            return True
    return False


def _prune_query(query: exp.Expr, required: set[str] | None) -> None:
    if isinstance(query, exp.Subquery):
        _prune_query(query.this, required)
    elif isinstance(query, exp.Union):
        _prune_union(query, required)
    elif isinstance(query, exp.Select):
        _prune_select(query, required)


def _branches(union: exp.Expr) -> list[exp.Expr]:
    if isinstance(union, exp.Union) and not union.args.get("distinct"):
        return _branches(union.this) + _branches(union.expression)
    return [union]


def _prune_union(union: exp.Union, required: set[str] | None) -> None:
    branches = _branches(union)
    selects = [b for b in branches if isinstance(b, exp.Select)]
    widths = {len(s.expressions) for s in selects}
    if required is None or len(selects) != len(branches) or len(widths) != 1:
        for branch in branches:
            _prune_query(branch, None)
        return
    first = selects[0]
    keep = [i for i, p in enumerate(first.expressions) if p.alias_or_name in required or isinstance(p, exp.Star)]
    if not keep:
        keep = [0]
    for select in selects:
        if any(_expands_rows(p) or isinstance(p, exp.Star) for p in select.expressions) or select.args.get("distinct"):
            keep = list(range(len(first.expressions)))
    for select in selects:
        kept = [p for i, p in enumerate(select.expressions) if i in keep]
        select.set("expressions", kept)
        _prune_select(select, None)


def _prune_select(select: exp.Select, required: set[str] | None) -> None:
    projections = select.expressions
    if required is not None and not select.args.get("distinct"):
        clauses = [select.args[k] for k in ("where", "group", "having", "order", "qualify") if select.args.get(k)]
        own, _ = _names_read(clauses)
        # a clause of this select may name one of its computed projections by alias (not a plain column)
        computed = {p.alias_or_name for p in projections if not isinstance(p, exp.Column)}
        wanted = required | ({name for _, name in own} & computed)
        kept = [p for p in projections if p.alias_or_name in wanted or isinstance(p, exp.Star) or _expands_rows(p)]
        if not kept:
            kept = projections[:1]
        if len(kept) != len(projections):
            select.set("expressions", kept)
    # what this select reads from each of its sources
    sources: list[tuple[str, exp.Expr]] = []
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is not None and isinstance(from_.this, exp.Subquery):
        sources.append((from_.this.alias, from_.this))
    for join in select.args.get("joins") or []:
        if isinstance(join.this, exp.Subquery):
            sources.append((join.this.alias, join.this))
    readers: list[exp.Expr] = list(select.expressions)
    for key in ("where", "group", "having", "order", "qualify"):
        if select.args.get(key):
            readers.append(select.args[key])
    for join in select.args.get("joins") or []:
        if join.args.get("on"):
            readers.append(join.args["on"])
        if join.args.get("using"):
            readers.extend(join.args["using"])
    names, star = _names_read(readers)
    for alias, source in sources:
        if star:
            _prune_query(source, None)
            continue
        _narrow_picked_rows(source.this, alias, readers)
        needed = {name for table, name in names if table in ("", alias)}
        _prune_query(source, needed)
    # scalar subqueries inside expressions (toscalar, in (subquery)) keep their own columns
    for reader in readers:
        for sub in reader.find_all(exp.Subquery):
            if sub.parent_select is select:
                _prune_query(sub.this, None)


def _is_call(node: object, names: frozenset[str]) -> bool:
    return isinstance(node, exp.Anonymous) and str(node.this).lower() in names


def _narrow_picked_rows(inner: exp.Expr, alias: str, readers: list[exp.Expr]) -> None:
    """arg_max(row(a, b, c, ...), key) whose reader takes only tuple_get(x, 2): keep only b in the row
    (and renumber the reader's tuple_get). arg_max(Timestamp, *) packs every column of the table,
    but a later project usually reads a few."""
    if not isinstance(inner, exp.Select):
        return
    uses: dict[str, list[exp.Anonymous]] = {}
    bare: set[str] = set()
    for reader in readers:
        for column in reader.find_all(exp.Column):
            if column.table not in ("", alias):
                continue
            parent = column.parent
            if (
                isinstance(parent, exp.Anonymous)
                and _is_call(parent, _EXTRACT)
                and len(parent.expressions) == 2
                and parent.expressions[0] is column
                and isinstance(parent.expressions[1], exp.Literal)
                and not parent.expressions[1].is_string
            ):
                uses.setdefault(column.name, []).append(parent)
            else:
                bare.add(column.name)
    for projection in inner.expressions:
        name = projection.alias_or_name
        if name not in uses or name in bare:
            continue
        pick = projection.this if isinstance(projection, exp.Alias) else projection
        if not (isinstance(pick, exp.Anonymous) and _is_call(pick, _PICK)) or not pick.expressions:
            continue
        row = pick.expressions[0]
        if not isinstance(row, exp.Anonymous) or not _is_call(row, _TUPLE):
            continue
        wanted = sorted({int(use.expressions[1].this) for use in uses[name]})
        if len(wanted) == len(row.expressions) or any(not 1 <= i <= len(row.expressions) for i in wanted):
            continue
        row.set("expressions", [row.expressions[i - 1] for i in wanted])
        renumber = {old: new for new, old in enumerate(wanted, start=1)}
        for use in uses[name]:
            use.expressions[1].replace(exp.Literal.number(renumber[int(use.expressions[1].this)]))
