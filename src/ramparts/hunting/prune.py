"""Drop the columns no outer query reads from the subqueries of a lowered query.

Lowering lists every column at every layer (`SELECT <all 54 columns> FROM (SELECT <all> FROM ...)`),
which keeps each operator simple but makes the SQL long: slow to print and to plan. This pass walks
the tree from the outermost SELECT inwards and removes from each subquery the projections that its
reader never names. A projection is always kept when removing it could change the rows: under
DISTINCT, in a set operation whose branches disagree, or when it expands rows (unnest/arrayJoin).
It then merges the layers left that only pass rows through (`_collapse`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

_ROW_EXPANDING = frozenset({"unnest", "arrayjoin"})
_EXTRACT = frozenset({"struct_extract", "tupleelement"})  # tuple_get(t, i)
_PICK = frozenset({"arg_max", "arg_min", "argmax", "argmin"})  # arg_pick(row(...), key)
_TUPLE = frozenset({"row", "tuple"})


def prune(query: exp.Query) -> exp.Query:
    """Prune query in place (its own output columns are all kept) and return it."""
    _prune_query(query, None)
    _collapse(query)
    return query


def _collapse(root: exp.Expr) -> None:
    """Merge layers that only pass rows through, which cost ClickHouse a step each (about 0.5 ms on a
    small result): a scan `(SELECT * FROM t WHERE w) AS a` read by a select without joins becomes
    `FROM t AS a WHERE w`, and a subquery that only picks and renames columns of the select below it
    becomes that select. The outermost select is kept as it is (it spells out the result)."""
    subqueries = [node for node in descendants(root) if isinstance(node, exp.Subquery)]
    for sub in reversed(subqueries):  # inner ones first
        select = sub.this
        if not isinstance(select, exp.Select):
            continue
        _inline_scan(select)
        _filter_to_having(select)
        merged = _merge_projection(select)
        if merged is not None:
            sub.set("this", merged)


def _source(select: exp.Select) -> exp.Subquery | None:
    from_ = select.args.get("from_")
    if from_ is None or not isinstance(from_.this, exp.Subquery) or select.args.get("joins"):
        return None
    return from_.this


def _only(select: exp.Select, allowed: tuple[str, ...]) -> bool:
    return all(not value for key, value in select.args.items() if key not in allowed)


def _inline_scan(select: exp.Select) -> None:
    source = _source(select)
    if source is None or not source.alias:
        return
    scan = source.this
    if not isinstance(scan, exp.Select) or not _only(scan, ("expressions", "from_", "where")):
        return
    if len(scan.expressions) != 1 or not isinstance(scan.expressions[0], exp.Star):
        return
    table = scan.args["from_"].this
    if not isinstance(table, exp.Table) or table.alias:
        return
    table.set("alias", exp.TableAlias(this=exp.to_identifier(source.alias)))
    select.set("from_", exp.From(this=table))
    scan_where = scan.args.get("where")
    if scan_where is not None:
        where = select.args.get("where")
        condition = scan_where.this if where is None else exp.And(this=scan_where.this, expression=where.this)
        select.set("where", exp.Where(this=condition))


def _filter_to_having(select: exp.Select) -> None:
    """`SELECT cols FROM (SELECT ... GROUP BY k) AS a WHERE w` -> the grouping's HAVING w, with the
    columns w names read as the expressions the grouping computes (an alias in HAVING could mean a
    source column of the same name on ClickHouse)."""
    source = _source(select)
    where = select.args.get("where")
    if source is None or where is None or not _only(select, ("expressions", "from_", "where")):
        return
    inner = source.this
    if not isinstance(inner, exp.Select) or not inner.args.get("group"):
        return
    if not _only(inner, ("expressions", "from_", "joins", "where", "group", "having")):
        return
    if any(isinstance(node, exp.Subquery | exp.Select) for node in descendants(where.this)):
        return
    by_name: dict[str, exp.Expr] = {}
    for projection in inner.expressions:
        if isinstance(projection, exp.Star) or _expands_rows(projection) or projection.find(exp.Window):
            return
        by_name[_name(projection)] = projection.this if isinstance(projection, exp.Alias) else projection
    condition = where.this
    columns = [node for node in descendants(condition) if isinstance(node, exp.Column)]
    if any(_qualifier(c) not in ("", source.alias) or c.name not in by_name for c in columns):
        return
    for column in columns:
        value = by_name[column.name].copy()
        if column is condition:
            condition = value
        else:
            column.replace(value)
    having = inner.args.get("having")
    if having is not None:
        condition = exp.And(this=having.this, expression=condition)
    inner.set("having", exp.Having(this=condition))
    select.set("where", None)


def _merge_projection(select: exp.Select) -> exp.Select | None:
    """The select below when select only names its columns, each at most once, else None."""
    source = _source(select)
    if source is None or not _only(select, ("expressions", "from_")):
        return None
    inner = source.this
    if not isinstance(inner, exp.Select):
        return None
    by_name: dict[str, exp.Expr] = {}
    for projection in inner.expressions:
        name = _name(projection)
        if isinstance(projection, exp.Star) or not name or name in by_name:
            return None
        by_name[name] = projection
    picked: list[exp.Expr] = []
    used: set[str] = set()
    renamed: set[str] = set()
    for projection in select.expressions:
        column = projection.this if isinstance(projection, exp.Alias) else projection
        if not isinstance(column, exp.Column) or _qualifier(column) not in ("", source.alias):
            return None
        name = column.name
        if name not in by_name or name in used:
            return None
        used.add(name)
        out = _name(projection)
        below = by_name[name]
        if out != name:
            renamed.add(name)
            below = exp.alias_(below.this if isinstance(below, exp.Alias) else below, out, quoted=True)
        picked.append(below)
    dropped = {n: p for n, p in by_name.items() if n not in used}
    if any(_expands_rows(p) for p in dropped.values()) or (dropped and inner.args.get("distinct")):
        return None
    # a clause of the select below may name a projection by its alias: keep those names as they are
    changed = renamed | set(dropped) | ({_name(p) for p in picked} - set(by_name))
    if changed:
        clause_columns: list[exp.Column] = []
        _scan([inner.args[k] for k in _CLAUSES if inner.args.get(k)], clause_columns, [])
        if any(c.name in changed for c in clause_columns):
            return None
    inner.set("expressions", picked)
    return inner


_CLAUSES = ("where", "group", "having", "order", "qualify", "limit")  # limit: ClickHouse LIMIT n BY keys


def descendants(root: exp.Expr) -> Iterator[exp.Expr]:
    """root and every node under it, each before its children; a node's children are read after the
    caller has seen the node, so the caller may replace them. One generator for the whole walk:
    about twice as fast as `Expr.walk`/`find_all`, which nest two per node."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        for value in node.args.values():
            if isinstance(value, exp.Expr):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, exp.Expr))


def _name(node: exp.Expr) -> str:
    """node.alias_or_name, without its generic lookups for the two shapes projections have."""
    kind = type(node)
    if kind is exp.Alias:
        alias = node.args.get("alias")
        if type(alias) is exp.Identifier and alias.args.get("this"):
            return str(alias.args["this"])
    elif kind is exp.Column:
        this = node.args.get("this")
        if type(this) is exp.Identifier:
            return str(this.args["this"])
    return node.alias_or_name


def _qualifier(column: exp.Column) -> str:
    table = column.args.get("table")
    return str(table.this) if isinstance(table, exp.Identifier) else column.table


def _scan(nodes: Iterable[exp.Expr], columns: list[exp.Column], subqueries: list[exp.Subquery]) -> bool:
    """Add every column (but `t.*`) and subquery under the nodes to the lists, in one walk; return
    whether one of them is a star projection (`*` or `t.*`; count(*) reads no column)."""
    star = False
    stack: list[exp.Expr] = []
    for node in nodes:
        if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
            star = True
        else:
            stack.append(node)
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                star = True
            else:
                columns.append(node)
            continue  # a column holds only identifiers
        if isinstance(node, exp.Subquery):
            subqueries.append(node)
        for value in node.args.values():
            if isinstance(value, exp.Expr):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, exp.Expr))
    return star


def _expands_rows(projection: exp.Expr) -> bool:
    if isinstance(projection, exp.Column) or (
        isinstance(projection, exp.Alias) and isinstance(projection.this, exp.Column)
    ):
        return False
    stack = [projection]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Unnest | exp.Explode):
            return True
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in _ROW_EXPANDING:
            return True
        if isinstance(node, exp.Column | exp.Literal):
            continue
        for value in node.args.values():
            if isinstance(value, exp.Expr):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, exp.Expr))
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
    keep = [i for i, p in enumerate(first.expressions) if _name(p) in required or isinstance(p, exp.Star)]
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
    args = select.args
    clauses = [args[k] for k in _CLAUSES if args.get(k)]
    clause_columns: list[exp.Column] = []
    clause_subqueries: list[exp.Subquery] = []
    clause_star = _scan(clauses, clause_columns, clause_subqueries)
    projections = select.expressions
    if required is not None and not args.get("distinct"):
        # a clause of this select may name one of its computed projections by alias (not a plain column)
        projected = [_name(p) for p in projections]
        computed = {n for n, p in zip(projected, projections, strict=True) if not isinstance(p, exp.Column)}
        wanted = required | ({c.name for c in clause_columns} & computed)
        kept = [
            p
            for n, p in zip(projected, projections, strict=True)
            if n in wanted or isinstance(p, exp.Star) or _expands_rows(p)
        ]
        if not kept:
            kept = projections[:1]
        if len(kept) != len(projections):
            select.set("expressions", kept)
    # what this select reads from each of its sources
    sources: list[tuple[str, exp.Expr]] = []
    from_ = args.get("from_") or args.get("from")
    if from_ is not None and isinstance(from_.this, exp.Subquery):
        sources.append((from_.this.alias, from_.this))
    joins = args.get("joins") or []
    for join in joins:
        if isinstance(join.this, exp.Subquery):
            sources.append((join.this.alias, join.this))
    readers: list[exp.Expr] = list(select.expressions)
    for join in joins:
        if join.args.get("on"):
            readers.append(join.args["on"])
        if join.args.get("using"):
            readers.extend(join.args["using"])
    columns: list[exp.Column] = []
    subqueries: list[exp.Subquery] = []
    star = _scan(readers, columns, subqueries) or clause_star
    columns += clause_columns
    subqueries += clause_subqueries
    names = {(_qualifier(c), c.name) for c in columns}
    for alias, source in sources:
        if star:
            _prune_query(source, None)
            continue
        added = _narrow_picked_rows(source.this, alias, columns)
        needed = {name for table, name in names if table in ("", alias)} | added
        _prune_query(source, needed)
    # scalar subqueries inside expressions (toscalar, in (subquery)) keep their own columns
    for sub in subqueries:
        if sub.parent_select is select:
            _prune_query(sub.this, None)


def _is_call(node: object, names: frozenset[str]) -> bool:
    return isinstance(node, exp.Anonymous) and str(node.this).lower() in names


def _narrow_picked_rows(inner: exp.Expr, alias: str, columns: list[exp.Column]) -> set[str]:
    """arg_max(row(a, b, c, ...), key) whose reader takes only tuple_get(x, 2): keep only b in the row
    (and renumber the reader's tuple_get). arg_max(Timestamp, *) packs every column of the table,
    but a later project usually reads a few. Returns the names of the projections it adds."""
    added: set[str] = set()
    if not isinstance(inner, exp.Select):
        return added
    uses: dict[str, list[exp.Anonymous]] = {}
    bare: set[str] = set()
    for column in columns:
        if _qualifier(column) not in ("", alias):
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
        name = _name(projection)
        if name not in uses or name in bare:
            continue
        pick = projection.this if isinstance(projection, exp.Alias) else projection
        if not (isinstance(pick, exp.Anonymous) and _is_call(pick, _PICK)) or not pick.expressions:
            continue
        row = pick.expressions[0]
        if not isinstance(row, exp.Anonymous) or not _is_call(row, _TUPLE):
            continue
        wanted = sorted({int(use.expressions[1].this) for use in uses[name]})
        if any(not 1 <= i <= len(row.expressions) for i in wanted):
            continue
        if len(wanted) < len(row.expressions):
            row.set("expressions", [row.expressions[i - 1] for i in wanted])
            renumber = {old: new for new, old in enumerate(wanted, start=1)}
            for use in uses[name]:
                use.expressions[1].replace(exp.Literal.number(renumber[int(use.expressions[1].this)]))
        key_name = _pick_key_apart(inner, name, pick, row, uses[name])
        if key_name:
            added.add(key_name)
        if isinstance(pick.parent, exp.Expr) and len(row.expressions) == 1:
            _pick_one(pick, uses[name])
        elif isinstance(pick.parent, exp.Alias) and len(row.expressions) > 1 and len(pick.expressions) == 2:
            added |= _pick_apart(inner, name, pick, uses[name], key_name)
    return added


def _pick_one(pick: exp.Anonymous, uses: list[exp.Anonymous]) -> None:
    """arg_max(row(x), key) as the plain aggregate of x. Those skip rows where x is null, so DuckDB
    takes arg_max_null, and ClickHouse asks argMax(isNull(x), key) whether x is null at the max key
    (a tie may answer for another row at the max, as arg_max itself may)."""
    (value,) = pick.expressions[0].expressions
    key = pick.expressions[1]
    name = str(pick.this)
    if name.lower() in ("arg_max", "arg_min"):
        plain = exp.Anonymous(this=f"{name}_null", expressions=[value.copy(), key.copy()])
    else:
        null_flag = exp.Anonymous(this="isNull", expressions=[value.copy()])
        is_null = exp.Anonymous(this=name, expressions=[null_flag, key.copy()])
        plain = exp.Anonymous(
            this="if",
            expressions=[
                exp.EQ(this=is_null, expression=exp.Literal.number(1)),
                exp.Null(),
                exp.Anonymous(this=name, expressions=[value.copy(), key.copy()]),
            ],
        )
    pick.replace(plain)
    for use in uses:
        use.replace(use.expressions[0].copy())


def _pick_apart(
    inner: exp.Select, name: str, pick: exp.Anonymous, uses: list[exp.Anonymous], key_name: str | None
) -> set[str]:
    """arg_max(row(a, b), key) read back field by field, without building a tuple per row (slow on
    both engines: a generic value per update). Returns the names of the projections it adds.

    DuckDB: one arg_max_null(a, key), arg_max_null(b, key) per field. They still pick one row: every
    aggregate of a grouping sees the same rows in the same order and keeps the first at the best key
    (strict comparison, also when partial states are combined), so ties resolve alike for all fields.
    ClickHouse: argMax skips rows whose value is null, so fields would come from different rows;
    instead, when the grouping computes nothing but this pick, the rows themselves are kept:
    `ORDER BY key DESC LIMIT 1 BY <group keys>`."""
    row, key = pick.expressions
    if not isinstance(row, exp.Anonymous) or _is_call(key, _TUPLE):
        return set()
    projection = pick.parent
    assert isinstance(projection, exp.Alias)
    function = str(pick.this)
    taken = {_name(p) for p in inner.expressions}
    names: list[str] = []
    for index in range(1, len(row.expressions) + 1):
        field = f"{name}_{index}"
        while field in taken:
            field += "_"
        taken.add(field)
        names.append(field)
    if function.lower() in ("arg_max", "arg_min"):
        fields = [exp.Anonymous(this=f"{function}_null", expressions=[e.copy(), key.copy()]) for e in row.expressions]
    elif not _keep_picked_rows(inner, projection, key, key_name, function.lower() == "argmax"):
        return set()
    else:  # a group whose key is null everywhere has no max: its fields are null too
        fields = [
            exp.Anonymous(this="if", expressions=[exp.Is(this=key.copy(), expression=exp.Null()), exp.Null(), e.copy()])
            for e in row.expressions
        ]
    projections: list[exp.Expr] = []
    for existing in inner.expressions:
        if existing is projection:
            projections.extend(exp.alias_(f, n, quoted=True) for f, n in zip(fields, names, strict=True))
        else:
            projections.append(existing)
    inner.set("expressions", projections)
    for use in uses:
        column = use.expressions[0]
        use.replace(exp.column(names[int(use.expressions[1].this) - 1], table=column.args.get("table"), quoted=True))
    return set(names)


def _keep_picked_rows(
    inner: exp.Select, projection: exp.Alias, key: exp.Expr, key_name: str | None, largest: bool
) -> bool:
    """Turn `SELECT keys, argMax(...), max(key) FROM s GROUP BY keys` into `SELECT keys, ..., key FROM s
    ORDER BY key DESC LIMIT 1 BY keys` (the caller rewrites the pick itself); False when the select
    does anything else (another aggregate, HAVING, no grouping...)."""
    group = inner.args.get("group")
    if not group or not group.expressions or group.args.get("rollup") or group.args.get("cube"):
        return False
    if any(inner.args.get(k) for k in ("having", "order", "limit", "offset", "qualify", "distinct", "windows")):
        return False
    keys = group.expressions
    key_projection: exp.Alias | None = None
    for existing in inner.expressions:
        if existing is projection:
            continue
        if key_name and isinstance(existing, exp.Alias) and _name(existing) == key_name:
            key_projection = existing
            continue
        value = existing.this if isinstance(existing, exp.Alias) else existing
        if not any(value == k for k in keys):
            return False
    if key_projection is not None:
        key_projection.set("this", key.copy())
    inner.set("group", None)
    inner.set("order", exp.Order(expressions=[exp.Ordered(this=key.copy(), desc=largest, nulls_first=False)]))
    inner.set("limit", exp.Limit(expression=exp.Literal.number(1), expressions=[k.copy() for k in keys]))
    return True


def _pick_key_apart(
    inner: exp.Select, name: str, pick: exp.Anonymous, row: exp.Anonymous, uses: list[exp.Anonymous]
) -> str | None:
    """The key of arg_max(row(key, b), key) is max(key): read it from max() (and pick only b), which
    spares the engine a wider tuple per row. The rest stays in one row: picked field by field, ties on
    the key could mix rows."""
    if len(pick.expressions) != 2:
        return None
    key = pick.expressions[1]
    keyed = {i for i, e in enumerate(row.expressions, start=1) if e == key}
    if not keyed:
        return None
    best = exp.Max(this=key.copy()) if str(pick.this).lower() in ("arg_max", "argmax") else exp.Min(this=key.copy())
    rest = [i for i in range(1, len(row.expressions) + 1) if i not in keyed]
    if not rest:  # only the key is read: max(key) replaces the pick
        pick.replace(best)
        for use in uses:
            use.replace(use.expressions[0].copy())
        return None
    taken = {_name(projection) for projection in inner.expressions}
    key_name = f"{name}_key"
    while key_name in taken:
        key_name += "_"
    inner.append("expressions", exp.alias_(best, key_name, quoted=True))
    renumber = {old: new for new, old in enumerate(rest, start=1)}
    for use in uses:
        index = int(use.expressions[1].this)
        column = use.expressions[0]
        if index in keyed:
            use.replace(exp.column(key_name, table=column.args.get("table"), quoted=True))
        else:
            use.expressions[1].replace(exp.Literal.number(renumber[index]))
    row.set("expressions", [row.expressions[i - 1] for i in rest])
    return key_name
